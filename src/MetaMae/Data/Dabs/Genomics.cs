using MetaMae.Modalities;

namespace MetaMae.Data.Dabs;

/// <summary>
/// Genomics OOD (Ren et al. 2019; TFDS genomics_ood) exported as CSV files with a header and the
/// columns seq (or sequence) and label (the bacteria class id): train.csv and test.csv hold the 10
/// in-distribution classes; test_ood.csv the 60 out-of-distribution classes. Bases A,C,G,T are
/// tokens 0..3; every sequence must have 250 bases (no padding, an unknown base is an error).
/// </summary>
public static class Genomics
{
    public const string Alphabet = "ACGT";
    public const int Length = 250;
    public static readonly TokenSpec Spec = new(4, Length);

    /// <summary>In-distribution: train.csv / test.csv. OOD (ood = true): test_ood.csv, split 80/20 with seed 42.</summary>
    public static Dataset Load(string dir, bool ood = false, DabsOptions? o = null)
    {
        o ??= new();
        DabsIo.RequireDir(dir, "the genomics_ood CSV export");
        if (!ood)
        {
            var (trT, trY) = Read(Path.Combine(dir, "train.csv"), o.MaxPerSplit);
            var (teT, teY) = Read(Path.Combine(dir, "test.csv"), o.MaxPerSplit);
            return DabsIo.Classification(DabsIo.Limited("genomics", o), dir, Spec, null, trT, trY, null, teT, teY);
        }
        var (t, y) = Read(Path.Combine(dir, "test_ood.csv"), o.MaxPerSplit > 0 ? o.MaxPerSplit * 5 / 4 : 0);
        var perm = DabsIo.Permutation(t.Count, 42);
        int ntr = Math.Clamp((int)Math.Round(t.Count * 0.8), 1, Math.Max(1, t.Count - 1));
        var tr = perm[..ntr]; var te = perm[ntr..];
        return DabsIo.Classification(DabsIo.Limited("genomics-ood", o), dir, Spec,
            null, tr.Select(i => t[i]).ToList(), tr.Select(i => y[i]).ToList(),
            null, te.Select(i => t[i]).ToList(), te.Select(i => y[i]).ToList());
    }

    public static (List<long[]> Tokens, List<string> Labels) Read(string path, int max = 0)
    {
        var t = CsvTable.Read(path);
        int si = t.Header.Contains("seq") ? t.Column("seq") : t.Column("sequence");
        int li = t.Column("label");
        var toks = new List<long[]>(); var ys = new List<string>();
        foreach (var (line, f) in t.Rows)
        {
            if (max > 0 && toks.Count >= max) break;
            var s = f[si];
            if (s.Length != Length)
                throw new DataFormatException($"{path}:{line}: field '{t.Header[si]}' has {s.Length} bases, expected {Length}");
            var row = new long[Length];
            for (int i = 0; i < Length; i++)
            {
                int id = Alphabet.IndexOf(s[i]);
                if (id < 0)
                    throw new DataFormatException($"{path}:{line}: field '{t.Header[si]}' position {i + 1}: " +
                        $"base '{s[i]}' is not one of A, C, G, T");
                row[i] = id;
            }
            var lab = f[li].Trim();
            if (lab.Length == 0) throw new DataFormatException($"{path}:{line}: field 'label' is empty");
            toks.Add(row); ys.Add(lab);
        }
        return (toks, ys);
    }
}
