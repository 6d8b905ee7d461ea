using System.Globalization;
using MetaMae.Modalities;
using static TorchSharp.torch;

namespace MetaMae.Data.Dabs;

/// <summary>Options shared by the DABS readers.</summary>
public sealed record DabsOptions
{
    /// <summary>Read at most this many samples per split (0 = all). The first ones in file order are kept,
    /// and the limit is stated in the dataset name, so that nothing is dropped without saying so.</summary>
    public int MaxPerSplit { get; init; }
}

/// <summary>Helpers of the DABS readers: building splits, parsing numbers, errors that name the file.</summary>
internal static class DabsIo
{
    public static DataFormatException Err(string path, string what) => new($"{path}: {what}");

    public static void RequireFile(string path, string what)
    {
        if (!File.Exists(path)) throw Err(path, $"file not found ({what})");
    }

    public static void RequireDir(string path, string what)
    {
        if (!Directory.Exists(path)) throw Err(path, $"folder not found ({what})");
    }

    /// <summary>A finite float in invariant culture, or an error naming where it was.</summary>
    public static float Float(string s, string where)
    {
        var (ok, v) = Formats.ParseFinite(s);
        return ok ? v : throw new DataFormatException($"{where}: '{Short(s)}' is not a finite number");
    }

    public static string Short(string s) => s.Length <= 40 ? s : s[..40] + "...";

    /// <summary>Class names (sorted ordinally) and their ids.</summary>
    public static (string[] Names, Dictionary<string, long> Ids) Classes(IEnumerable<string> labels)
    {
        var names = labels.Distinct().Order(StringComparer.Ordinal).ToArray();
        return (names, names.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => (long)p.i));
    }

    /// <summary>A float split of samples with shape sampleShape.</summary>
    public static Split FloatSplit(List<float[]> xs, long[] sampleShape, long[]? labels, float[]? targets = null)
    {
        long per = sampleShape.Aggregate(1L, (a, b) => a * b);
        var flat = new float[xs.Count * per];
        for (int i = 0; i < xs.Count; i++)
        {
            if (xs[i].Length != per) throw new InvalidOperationException($"sample {i} has {xs[i].Length} values, expected {per}");
            Array.Copy(xs[i], 0, flat, i * per, per);
        }
        return new Split(tensor(flat, [xs.Count, .. sampleShape]), labels, targets);
    }

    public static Split TokenSplit(List<long[]> xs, int length, long[]? labels, float[]? targets = null)
    {
        var flat = new long[xs.Count * length];
        for (int i = 0; i < xs.Count; i++) Array.Copy(xs[i], 0, flat, i * length, length);
        return new Split(tensor(flat, [xs.Count, length]), labels, targets);
    }

    /// <summary>Classification dataset from labelled sample lists; every class must have training samples.</summary>
    public static Dataset Classification(string name, string where, InputSpec spec, List<float[]>? trX, List<long[]>? trT, List<string> trY,
        List<float[]>? teX, List<long[]>? teT, List<string> teY)
    {
        int ntr = trX?.Count ?? trT!.Count, nte = teX?.Count ?? teT!.Count;
        if (ntr == 0) throw Err(where, "no training samples");
        if (nte == 0) throw Err(where, "no test samples");
        var (names, ids) = Classes(trY);
        foreach (var c in teY.Distinct())
            if (!ids.ContainsKey(c))
                throw Err(where, $"class '{c}' occurs in the test split but has no training samples " +
                    "(a probe cannot learn it)");
        var trL = trY.Select(c => ids[c]).ToArray();
        var teL = teY.Select(c => ids[c]).ToArray();
        Split tr, te;
        if (trX is not null) { tr = FloatSplit(trX, spec.RawShape, trL); te = FloatSplit(teX!, spec.RawShape, teL); }
        else { tr = TokenSplit(trT!, (int)spec.RawShape[0], trL); te = TokenSplit(teT!, (int)spec.RawShape[0], teL); }
        return new Dataset(name, spec, tr, te, names);
    }

    /// <summary>A seeded permutation of 0..n-1 (Fisher-Yates with System.Random(seed)).</summary>
    public static int[] Permutation(int n, int seed)
    {
        var p = Enumerable.Range(0, n).ToArray();
        var rng = new Random(seed);
        for (int i = n - 1; i > 0; i--) { int j = rng.Next(i + 1); (p[i], p[j]) = (p[j], p[i]); }
        return p;
    }

    /// <summary>Bilinear resize of a (C, H, W) image to (C, h, w) (half-pixel centres, as PIL/torch without antialiasing).</summary>
    public static float[] Resize(float[] img, int c, int h, int w, int oh, int ow)
    {
        if (h == oh && w == ow) return img;
        var o = new float[c * oh * ow];
        double sy = (double)h / oh, sx = (double)w / ow;
        for (int y = 0; y < oh; y++)
        {
            double fy = Math.Clamp((y + 0.5) * sy - 0.5, 0, h - 1);
            int y0 = (int)fy, y1 = Math.Min(y0 + 1, h - 1);
            double dy = fy - y0;
            for (int x = 0; x < ow; x++)
            {
                double fx = Math.Clamp((x + 0.5) * sx - 0.5, 0, w - 1);
                int x0 = (int)fx, x1 = Math.Min(x0 + 1, w - 1);
                double dx = fx - x0;
                for (int ch = 0; ch < c; ch++)
                {
                    int b = ch * h * w;
                    double v = (1 - dy) * ((1 - dx) * img[b + y0 * w + x0] + dx * img[b + y0 * w + x1])
                             + dy * ((1 - dx) * img[b + y1 * w + x0] + dx * img[b + y1 * w + x1]);
                    o[ch * oh * ow + y * ow + x] = (float)v;
                }
            }
        }
        return o;
    }

    /// <summary>Files under dir with one of the extensions, sorted ordinally (deterministic across machines).</summary>
    public static string[] Files(string dir, params string[] exts) =>
        Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
            .Where(f => exts.Any(e => f.EndsWith(e, StringComparison.OrdinalIgnoreCase)))
            .Order(StringComparer.Ordinal).ToArray();

    public static string Limited(string name, DabsOptions o) => o.MaxPerSplit > 0 ? $"{name} (first {o.MaxPerSplit} per split)" : name;
}
