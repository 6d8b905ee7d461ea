using System.Text.Json;
using MetaMae.Modalities;

namespace MetaMae.Data.Dabs;

/// <summary>The five TAPE tasks DABS uses, with their label field.</summary>
public enum TapeTask { Pfam, RemoteHomology, SecondaryStructure, Stability, Fluorescence }

/// <summary>A dataset whose labels are per token (secondary structure): -1 marks padding and cropped positions.</summary>
public sealed record TokenLabelledDataset(Dataset Data, long[][] TrainTokenLabels, long[][] TestTokenLabels, int Classes);

/// <summary>
/// TAPE json files (the json variant of the TAPE downloads): a JSON array of objects with the
/// protein sequence in "primary" and the label in "family" (Pfam), "fold_label" (remote homology),
/// "ss3" (secondary structure, one class 0..2 per residue), "stability_score" or "log_fluorescence"
/// (regression; a number or a one-element array). Residues map to the 26-symbol vocabulary
/// XARNDCQEGHILKMFPSTWYVUOBZJ (X = 0 = padding); sequences are cropped or right-padded with X to 128.
/// </summary>
public static class Tape
{
    public const string Vocabulary = "XARNDCQEGHILKMFPSTWYVUOBZJ";
    public const int Length = 128;
    public static readonly TokenSpec Spec = new(Vocabulary.Length, Length, 0);

    /// <summary>Folder name, json file prefix, label field, train split, test split.</summary>
    public static (string Folder, string Field, string Train, string Test) Layout(TapeTask t) => t switch
    {
        TapeTask.Pfam => ("pfam", "family", "pfam_train.json", "pfam_holdout.json"),
        TapeTask.RemoteHomology =>
            ("remote_homology", "fold_label", "remote_homology_train.json", "remote_homology_test_fold_holdout.json"),
        TapeTask.SecondaryStructure => ("secondary_structure", "ss3", "secondary_structure_train.json", "secondary_structure_cb513.json"),
        TapeTask.Stability => ("stability", "stability_score", "stability_train.json", "stability_test.json"),
        TapeTask.Fluorescence => ("fluorescence", "log_fluorescence", "fluorescence_train.json", "fluorescence_test.json"),
        _ => throw new ArgumentException($"unknown TAPE task {t}"),
    };

    /// <summary>One parsed record: token ids, and the label (class string, regression value, or per-token classes).</summary>
    public sealed record Record(long[] Tokens, string? Class, float Value, long[]? TokenClasses);

    /// <summary>Pfam / remote homology (classification) and stability / fluorescence (regression). dir holds the task's
    /// json files.</summary>
    public static Dataset Load(TapeTask task, string dir, DabsOptions? o = null)
    {
        o ??= new();
        if (task == TapeTask.SecondaryStructure) return LoadSecondaryStructure(dir, o).Data;
        var (_, field, trF, teF) = Layout(task);
        var tr = Read(Path.Combine(dir, trF), task, o.MaxPerSplit);
        var te = Read(Path.Combine(dir, teF), task, o.MaxPerSplit);
        var name = DabsIo.Limited("tape-" + Layout(task).Folder.Replace('_', '-'), o);
        if (task is TapeTask.Stability or TapeTask.Fluorescence)
            return new Dataset(name, Spec,
                DabsIo.TokenSplit(tr.Select(r => r.Tokens).ToList(), Length, null, tr.Select(r => r.Value).ToArray()),
                DabsIo.TokenSplit(te.Select(r => r.Tokens).ToList(), Length, null, te.Select(r => r.Value).ToArray()),
                [], TaskKind.Regression);
        return DabsIo.Classification(name, dir, Spec, null, tr.Select(r => r.Tokens).ToList(), tr.Select(r => r.Class!).ToList(),
            null, te.Select(r => r.Tokens).ToList(), te.Select(r => r.Class!).ToList());
    }

    /// <summary>Secondary structure (3 classes per residue): the sequences, and the per-token labels (-1 = padding).</summary>
    public static TokenLabelledDataset LoadSecondaryStructure(string dir, DabsOptions? o = null)
    {
        o ??= new();
        var (_, _, trF, teF) = Layout(TapeTask.SecondaryStructure);
        var tr = Read(Path.Combine(dir, trF), TapeTask.SecondaryStructure, o.MaxPerSplit);
        var te = Read(Path.Combine(dir, teF), TapeTask.SecondaryStructure, o.MaxPerSplit);
        var ds = new Dataset(DabsIo.Limited("tape-secondary-structure", o), Spec,
            DabsIo.TokenSplit(tr.Select(r => r.Tokens).ToList(), Length, null),
            DabsIo.TokenSplit(te.Select(r => r.Tokens).ToList(), Length, null), ["helix", "strand", "other"]);
        return new TokenLabelledDataset(ds, tr.Select(r => r.TokenClasses!).ToArray(), te.Select(r => r.TokenClasses!).ToArray(), 3);
    }

    public static List<Record> Read(string path, TapeTask task, int max = 0)
    {
        DabsIo.RequireFile(path, $"TAPE {task} json");
        var field = Layout(task).Field;
        JsonDocument doc;
        try
        {
            using var fs = File.OpenRead(path);
            doc = JsonDocument.Parse(fs, new JsonDocumentOptions { AllowTrailingCommas = false, MaxDepth = 16 });
        }
        catch (JsonException e)
        {
            throw new DataFormatException(
                $"{path}: not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine}): {e.Message}");
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Array)
                throw new DataFormatException($"{path}: expected a JSON array of records, found {doc.RootElement.ValueKind}");
            var list = new List<Record>();
            int i = 0;
            foreach (var e in doc.RootElement.EnumerateArray())
            {
                if (max > 0 && list.Count >= max) break;
                var where = $"{path}: record {i}";
                i++;
                if (e.ValueKind != JsonValueKind.Object) throw new DataFormatException($"{where}: expected an object, found {e.ValueKind}");
                if (!e.TryGetProperty("primary", out var prim) || prim.ValueKind != JsonValueKind.String)
                    throw new DataFormatException($"{where}: missing string field 'primary' (the protein sequence)");
                string seq;
                try { seq = prim.GetString()!; }
                catch (InvalidOperationException) { throw new DataFormatException($"{where}: field 'primary' is not valid UTF-8 text"); }
                if (seq.Length == 0) throw new DataFormatException($"{where}: field 'primary' is empty");
                var toks = new long[Length];
                for (int k = 0; k < Math.Min(seq.Length, Length); k++)
                {
                    int id = Vocabulary.IndexOf(seq[k]);
                    if (id < 0)
                        throw new DataFormatException($"{where}: field 'primary' position {k + 1}: " +
                            $"residue '{seq[k]}' is not in the vocabulary {Vocabulary}");
                    toks[k] = id;
                }
                for (int k = Length; k < seq.Length; k++)
                    if (Vocabulary.IndexOf(seq[k]) < 0)
                        throw new DataFormatException($"{where}: field 'primary' position {k + 1}: " +
                            $"residue '{seq[k]}' is not in the vocabulary {Vocabulary}");
                if (!e.TryGetProperty(field, out var lab)) throw new DataFormatException($"{where}: missing field '{field}'");
                list.Add(task switch
                {
                    TapeTask.Pfam or TapeTask.RemoteHomology => new Record(toks, Int(lab, where, field).ToString(), 0, null),
                    TapeTask.Stability or TapeTask.Fluorescence => new Record(toks, null, Number(lab, where, field), null),
                    _ => new Record(toks, null, 0, PerToken(lab, where, field, seq.Length)),
                });
            }
            if (list.Count == 0) throw new DataFormatException($"{path}: no records");
            return list;
        }
    }

    static long Int(JsonElement e, string where, string field)
    {
        if (e.ValueKind == JsonValueKind.Array && e.GetArrayLength() == 1) e = e[0];
        if (e.ValueKind != JsonValueKind.Number || !e.TryGetInt64(out var v) || v < 0)
            throw new DataFormatException($"{where}: field '{field}' is {e.ValueKind}, expected a non-negative integer class id");
        return v;
    }

    static float Number(JsonElement e, string where, string field)
    {
        if (e.ValueKind == JsonValueKind.Array && e.GetArrayLength() == 1) e = e[0];
        if (e.ValueKind != JsonValueKind.Number || !e.TryGetDouble(out var v) || !double.IsFinite(v) || !float.IsFinite((float)v))
            throw new DataFormatException($"{where}: field '{field}' is {e.ValueKind}, expected a finite number (or a one-element array)");
        return (float)v;
    }

    static long[] PerToken(JsonElement e, string where, string field, int seqLen)
    {
        if (e.ValueKind != JsonValueKind.Array)
            throw new DataFormatException($"{where}: field '{field}' is {e.ValueKind}, expected an array of classes " +
                "0..2, one per residue");
        if (e.GetArrayLength() != seqLen)
            throw new DataFormatException($"{where}: field '{field}' has {e.GetArrayLength()} labels but 'primary' " +
                $"has {seqLen} residues");
        var r = Enumerable.Repeat(-1L, Length).ToArray();
        int k = 0;
        foreach (var v in e.EnumerateArray())
        {
            if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out var c) || c < 0 || c > 2)
                throw new DataFormatException($"{where}: field '{field}' position {k + 1} is not a class 0..2");
            if (k < Length) r[k] = c;
            k++;
        }
        return r;
    }
}
