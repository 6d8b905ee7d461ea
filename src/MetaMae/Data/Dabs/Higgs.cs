using MetaMae.Modalities;

namespace MetaMae.Data.Dabs;

/// <summary>
/// HIGGS (UCI) HIGGS.csv: no header, 29 comma-separated numbers per row: the label (1 signal,
/// 0 background), then 28 features. A seeded permutation (seed 42) puts 90% of the rows in the
/// training (pretraining) split and 10% in the transfer split, which is the test split here.
/// </summary>
public static class Higgs
{
    public const int Features = 28;
    public static readonly TabularSpec Spec = new(Features);

    /// <param name="path">HIGGS.csv (or a file of its first rows).</param>
    /// <param name="seed">Seed of the 90/10 permutation (DABS: 42).</param>
    /// <param name="o">MaxPerSplit limits the rows read to MaxPerSplit / 0.9 (the file is 11 million rows).</param>
    public static Dataset Load(string path, DabsOptions? o = null, int seed = 42)
    {
        o ??= new();
        DabsIo.RequireFile(path, "HIGGS.csv");
        long maxRows = o.MaxPerSplit > 0 ? (long)Math.Ceiling(o.MaxPerSplit / 0.9) : long.MaxValue;
        var xs = new List<float[]>(); var ys = new List<string>();
        long line = 0;
        foreach (var raw in File.ReadLines(path))
        {
            line++;
            if (raw.Length == 0) continue;
            if (xs.Count >= maxRows) break;
            var f = raw.Split(',');
            if (f.Length != Features + 1)
                throw new DataFormatException($"{path}:{line}: expected {Features + 1} comma-separated numbers " +
                    $"(label, then {Features} features), found {f.Length}");
            var y = DabsIo.Float(f[0], $"{path}:{line}: column 1 (label)");
            if (y != 0 && y != 1) throw new DataFormatException($"{path}:{line}: column 1 (label) is '{f[0]}', expected 0 or 1");
            var x = new float[Features];
            for (int i = 0; i < Features; i++) x[i] = DabsIo.Float(f[i + 1], $"{path}:{line}: column {i + 2} (feature {i + 1})");
            xs.Add(x); ys.Add(y == 1 ? "signal" : "background");
        }
        if (xs.Count < 2) throw new DataFormatException($"{path}: {xs.Count} data rows, expected at least 2 (one per split)");
        var perm = DabsIo.Permutation(xs.Count, seed);
        int ntr = Math.Clamp((int)Math.Round(xs.Count * 0.9), 1, xs.Count - 1);
        var tr = perm[..ntr]; var te = perm[ntr..];
        return DabsIo.Classification(DabsIo.Limited("higgs", o), path, Spec,
            tr.Select(i => xs[i]).ToList(), null, tr.Select(i => ys[i]).ToList(),
            te.Select(i => xs[i]).ToList(), null, te.Select(i => ys[i]).ToList());
    }
}
