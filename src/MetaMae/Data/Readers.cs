using MetaMae.Modalities;
using static TorchSharp.torch;

namespace MetaMae.Data;

/// <summary>Readers of the generic file formats that shipped datasets and users' own data use.</summary>
public static class Readers
{
    /// <summary>
    /// A CSV of symbol strings (DNA, protein, ...) with a sequence column, an optional label column
    /// and an optional split column (train/test). Every symbol must be in the alphabet (its index
    /// is the token id). Sequences longer than length are cropped, shorter ones right-padded with
    /// padSymbol; without padSymbol every sequence must have exactly that length.
    /// </summary>
    public static Dataset SequenceCsv(string name, string path, string alphabet, int? length = null, char? padSymbol = null,
        string sequenceColumn = "sequence", string? labelColumn = "label", string splitColumn = "split")
    {
        var t = CsvTable.Read(path);
        int si = t.Column(sequenceColumn);
        int li = labelColumn is not null && t.Header.Contains(labelColumn) ? t.Column(labelColumn) : -1;
        int pi = t.Header.Contains(splitColumn) ? t.Column(splitColumn) : -1;
        if (labelColumn is not null && li < 0 && t.Header.Contains("label")) li = t.Column("label");
        var index = new Dictionary<char, int>();
        for (int i = 0; i < alphabet.Length; i++) index[alphabet[i]] = i;
        int? pad = padSymbol is char ps
            ? (index.TryGetValue(ps, out var pv) ? pv
                : throw new ArgumentException($"padding symbol '{ps}' is not in the alphabet '{alphabet}'"))
            : null;
        int len = length ?? t.Rows.Max(r => r.Fields[si].Length);

        var ids = new List<long[]>();
        var labels = new List<string>();
        var isTrain = new List<bool>();
        foreach (var (line, f) in t.Rows)
        {
            var s = f[si];
            if (s.Length == 0) throw new DataFormatException($"{path}:{line}: field '{sequenceColumn}' is empty");
            if (pad is null && s.Length != len)
                throw new DataFormatException($"{path}:{line}: field '{sequenceColumn}' has {s.Length} symbols, " +
                    $"expected {len} (all sequences must have one length)");
            var row = new long[len];
            for (int i = 0; i < len; i++)
            {
                if (i >= s.Length) { row[i] = pad!.Value; continue; }
                if (!index.TryGetValue(s[i], out var id))
                    throw new DataFormatException($"{path}:{line}: field '{sequenceColumn}' position {i + 1}: " +
                        $"symbol '{s[i]}' is not in the alphabet '{alphabet}'");
                row[i] = id;
            }
            ids.Add(row);
            if (li >= 0)
            {
                if (f[li].Length == 0) throw new DataFormatException($"{path}:{line}: field '{t.Header[li]}' is empty");
                labels.Add(f[li]);
            }
            isTrain.Add(pi < 0 || Formats.ParseSplit(path, line, "split", f[pi]));
        }
        var spec = new TokenSpec(alphabet.Length, len, pad);
        var flat = ids.SelectMany(r => r).ToArray();
        var x = tensor(flat, [ids.Count, len]);
        return Build(name, path, spec, x, li >= 0 ? labels : null, isTrain, pi >= 0);
    }

    /// <summary>Splits X by the train/test flags and maps label strings to sorted class ids.</summary>
    internal static Dataset Build(string name, string path, InputSpec spec, Tensor x, List<string>? labels,
        List<bool> isTrain,
        bool hasSplit,
        IReadOnlyList<string>? ids = null)
    {
        string[] classes = labels is null ? [] : labels.Distinct().Order(StringComparer.Ordinal).ToArray();
        var classId = classes.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => (long)p.i);
        var trainIdx = Enumerable.Range(0, isTrain.Count).Where(i => isTrain[i]).ToArray();
        var testIdx = Enumerable.Range(0, isTrain.Count).Where(i => !isTrain[i]).ToArray();
        if (trainIdx.Length == 0) throw new DataFormatException($"{path}: no rows with split 'train'");
        if (hasSplit && testIdx.Length == 0) throw new DataFormatException($"{path}: no rows with split 'test'");
        Split Make(int[] idx)
        {
            using var ix = tensor(idx.Select(i => (long)i).ToArray());
            return new Split(x.index_select(0, ix), labels is null ? null : idx.Select(i => classId[labels[i]]).ToArray())
            { Ids = ids is null ? null : idx.Select(i => ids[i]).ToArray() };
        }
        var train = Make(trainIdx);
        var test = testIdx.Length > 0 ? Make(testIdx) : null;
        if (labels is not null)
        {
            foreach (var c in classes)
                if (!trainIdx.Any(i => labels[i] == c))
                    throw new DataFormatException($"{path}: class '{c}' has no training rows (a probe cannot learn it)");
        }
        return new Dataset(name, spec, train, test, classes);
    }
}
