using MetaMae.Modalities;
using static TorchSharp.torch;

namespace MetaMae.Data.Generators;

/// <summary>
/// SYNTHETIC, seeded stand-in for WM-811K (no real wafer maps ship): 32x32 maps with the WM-811K die
/// codes 0 = outside the wafer, 1 = good die, 2 = defective die, scaled as DABS does (x 127.5, then / 255
/// here) and repeated over 3 channels. The 9 classes are WM-811K's failure patterns: Center, Donut,
/// Edge-Loc, Edge-Ring, Loc, Near-full, Random, Scratch, none, each drawn with random position, size and
/// background defect rate. Classes are imbalanced ('none' is the largest, as in WM-811K), so the paper's
/// metric is the weighted F1 (printed as test_weighted_f1 by 'metamae run --json').
/// </summary>
public static class WaferLike
{
    public static readonly string[] Patterns =
        ["Center", "Donut", "Edge-Loc", "Edge-Ring", "Loc", "Near-full", "Random", "Scratch", "none"];
    static readonly int[] Weight = [3, 2, 3, 3, 3, 1, 2, 2, 8];
    public const int Size = 32;

    public static Dataset Generate(int train = 1080, int test = 360, int seed = 0)
    {
        var rng = new Random(seed);
        int n = train + test;
        var flat = new float[n * 3 * Size * Size];
        var labels = new List<string>();
        var isTrain = new List<bool>();
        int total = Weight.Sum();
        for (int i = 0; i < n; i++)
        {
            // deterministic class schedule with WM-811K-like imbalance; every class in both splits
            int slot = i % total, c = 0;
            while (slot >= Weight[c]) slot -= Weight[c++];
            var map = Map(rng, c);
            for (int ch = 0; ch < 3; ch++)
                for (int p = 0; p < Size * Size; p++) flat[(i * 3 + ch) * Size * Size + p] = map[p] * 127.5f / 255f;
            labels.Add(Patterns[c]);
            isTrain.Add(i < train);
        }
        var x = tensor(flat, [n, 3, Size, Size]);
        return Readers.Build("wafer-like", "(generator wafer-like)", new GridSpec(3, Size, Size, 4, 4), x, labels, isTrain, true);
    }

    static float[] Map(Random rng, int pattern)
    {
        var m = new float[Size * Size];
        double cx = (Size - 1) / 2.0 + Pamap2Like.Gauss(rng) * 0.3, cy = (Size - 1) / 2.0 + Pamap2Like.Gauss(rng) * 0.3;
        double radius = 14.5 + rng.NextDouble();
        double noise = 0.01 + 0.03 * rng.NextDouble();
        double angle = rng.NextDouble() * 2 * Math.PI;
        double r1 = 3 + 3 * rng.NextDouble(), r2 = r1 + 2 + 2 * rng.NextDouble();
        double lx = cx + (rng.NextDouble() - 0.5) * 16, ly = cy + (rng.NextDouble() - 0.5) * 16, lr = 2 + 2.5 * rng.NextDouble();
        double sa = rng.NextDouble() * Math.PI, sOff = (rng.NextDouble() - 0.5) * 14, sLen = 8 + 8 * rng.NextDouble();
        double randRate = 0.15 + 0.2 * rng.NextDouble();
        for (int y = 0; y < Size; y++)
            for (int x = 0; x < Size; x++)
            {
                double dx = x - cx, dy = y - cy, d = Math.Sqrt(dx * dx + dy * dy);
                if (d > radius) { m[y * Size + x] = 0; continue; }
                bool bad = rng.NextDouble() < noise;
                double p = pattern switch
                {
                    0 => d < r1 ? 0.85 : 0,                                                   // Center
                    1 => d > r1 && d < r2 ? 0.85 : 0,                                         // Donut
                    2 => d > radius - 3.5 && AngleDist(Math.Atan2(dy, dx), angle) < 0.6 ? 0.85 : 0, // Edge-Loc
                    3 => d > radius - 2.5 ? 0.85 : 0,                                         // Edge-Ring
                    4 => Math.Sqrt((x - lx) * (x - lx) + (y - ly) * (y - ly)) < lr ? 0.85 : 0, // Loc
                    5 => 0.85,                                                                // Near-full
                    6 => randRate,                                                            // Random
                    7 => ScratchDist(dx, dy, sa, sOff, sLen) < 0.8 ? 0.9 : 0,                // Scratch
                    _ => 0,                                                                   // none
                };
                if (rng.NextDouble() < p) bad = true;
                m[y * Size + x] = bad ? 2 : 1;
            }
        return m;
    }

    static double AngleDist(double a, double b)
    {
        double d = Math.Abs(a - b) % (2 * Math.PI);
        return d > Math.PI ? 2 * Math.PI - d : d;
    }

    static double ScratchDist(double dx, double dy, double a, double off, double len)
    {
        // distance to a segment through the point at offset 'off' perpendicular to direction a, half-length len/2
        double ux = Math.Cos(a), uy = Math.Sin(a);
        double along = dx * ux + dy * uy, across = -dx * uy + dy * ux - off;
        double curve = 0.02 * along * along;                                       // scratches are slightly curved
        return Math.Abs(along) > len / 2 ? double.PositiveInfinity : Math.Abs(across - curve);
    }
}
