using MetaMae.Modalities;
using static TorchSharp.torch;

namespace MetaMae.Data.Generators;

/// <summary>
/// SYNTHETIC, seeded stand-ins for the TAPE regression tasks (no real TAPE data ships), scored with
/// Spearman's rho like the paper. Tokens use the DABS protein vocabulary
/// <c>XARNDCQEGHILKMFPSTWYVUOBZJ</c> (X = 0 = padding), cropped / right-padded to 128.
/// <list type="bullet">
/// <item>stability-like: 43-residue designed mini-proteins from four topologies (HHH, EHEE, HEEH, EEHEE,
///   as in Rocklin et al. 2017). The target is a hidden "stability score": secondary-structure propensity
///   of each residue for its segment, a buried-hydrophobic term on the core positions, a penalty for
///   prolines in helices and for net charge, and measurement noise. Test sequences come from a held-out
///   design round (more mutated) as TAPE's test set does.</item>
/// <item>fluorescence-like: mutants of a fixed 237-residue GFP-like parent. Log-fluorescence is a sigmoid
///   of the summed site effects (a few chromophore-near sites are deleterious, epistasis through the
///   sigmoid). Training mutants carry 1-3 substitutions, test mutants 4-8 (TAPE's split). Cropping to 128
///   hides the mutations past residue 128, exactly as the DABS crop does.</item>
/// </list>
/// </summary>
public static class TapeLike
{
    public const string Vocabulary = "XARNDCQEGHILKMFPSTWYVUOBZJ";
    const string Standard = "ARNDCQEGHILKMFPSTWYV";
    const string Helix = "AELMQKRH", Strand = "VIYFWTC", Loop = "GPNDS", Hydrophobic = "AVILMFWY", Charged = "DEKR";
    public const int Length = 128;

    public static Dataset Stability(int train = 1000, int test = 300, int seed = 0)
    {
        var rng = new Random(seed);
        string[] topologies = ["HHH", "EHEE", "HEEH", "EEHEE"];
        var siteW = Enumerable.Range(0, 43 * 20).Select(_ => Pamap2Like.Gauss(rng) * 0.05).ToArray();
        var seqs = new List<string>();
        var y = new List<float>();
        for (int i = 0; i < train + test; i++)
        {
            var topo = topologies[rng.Next(topologies.Length)];
            var ss = SecondaryStructure(topo, 43);
            double mutRate = i < train ? 0.25 : 0.45;
            var s = new char[43];
            for (int p = 0; p < 43; p++)
            {
                string pool = rng.NextDouble() < mutRate ? Standard : ss[p] switch { 'H' => Helix, 'E' => Strand, _ => Loop };
                s[p] = pool[rng.Next(pool.Length)];
            }
            double score = 0;
            int charge = 0;
            for (int p = 0; p < 43; p++)
            {
                char c = s[p];
                score += ss[p] switch
                {
                    'H' => Helix.Contains(c) ? 0.08 : -0.03,
                    'E' => Strand.Contains(c) ? 0.1 : -0.03,
                    _ => Loop.Contains(c) ? 0.05 : 0,
                };
                if (p % 4 == 1 && ss[p] != 'L') score += Hydrophobic.Contains(c) ? 0.12 : -0.06;     // core positions
                if (ss[p] == 'H' && c == 'P') score -= 0.4;
                charge += c is 'K' or 'R' ? 1 : c is 'D' or 'E' ? -1 : 0;
                score += siteW[p * 20 + Standard.IndexOf(c)];
            }
            score -= 0.03 * Math.Abs(charge);
            y.Add((float)(score + 0.15 * Pamap2Like.Gauss(rng)));
            seqs.Add(new string(s));
        }
        return Build("stability-like", seqs, y, train);
    }

    public static Dataset Fluorescence(int train = 1000, int test = 300, int seed = 0)
    {
        var rng = new Random(seed + 1);
        var parent = Enumerable.Range(0, 237).Select(_ => Standard[rng.Next(20)]).ToArray();
        var effect = new double[237 * 20];
        for (int p = 0; p < 237; p++)
        {
            double sens = p is >= 60 and <= 70 ? 3.0 : rng.NextDouble() < 0.2 ? 1.5 : 0.3;  // chromophore region 60-70
            for (int a = 0; a < 20; a++) effect[p * 20 + a] = sens * Math.Abs(Pamap2Like.Gauss(rng));
        }
        var seqs = new List<string>();
        var y = new List<float>();
        for (int i = 0; i < train + test; i++)
        {
            int muts = i < train ? 1 + rng.Next(3) : 4 + rng.Next(5);
            var s = (char[])parent.Clone();
            double load = 0;
            for (int m = 0; m < muts; m++)
            {
                int p = rng.Next(237);
                char c = Standard[rng.Next(20)];
                if (c == parent[p]) continue;
                s[p] = c;
                load += effect[p * 20 + Standard.IndexOf(c)];
            }
            double logF = 1.3 + 2.4 / (1 + Math.Exp(load - 2.5)) + 0.05 * Pamap2Like.Gauss(rng);
            y.Add((float)logF);
            seqs.Add(new string(s));
        }
        return Build("fluorescence-like", seqs, y, train);
    }

    static string SecondaryStructure(string topo, int len)
    {
        var seg = new List<char>();
        int per = (len - (topo.Length - 1) * 3) / topo.Length;
        for (int i = 0; i < topo.Length; i++)
        {
            if (i > 0) seg.AddRange("LLL");
            seg.AddRange(Enumerable.Repeat(topo[i], per));
        }
        while (seg.Count < len) seg.Add('L');
        return new string(seg.ToArray(), 0, len);
    }

    static Dataset Build(string name, List<string> seqs, List<float> y, int train)
    {
        var ids = new long[seqs.Count * Length];
        for (int i = 0; i < seqs.Count; i++)
            for (int p = 0; p < Math.Min(Length, seqs[i].Length); p++) ids[i * Length + p] = Vocabulary.IndexOf(seqs[i][p]);
        var x = tensor(ids, [seqs.Count, Length]);
        using var tr = arange(0, train, dtype: ScalarType.Int64);
        using var te = arange(train, seqs.Count, dtype: ScalarType.Int64);
        var spec = new TokenSpec(Vocabulary.Length, Length, 0);
        return new Dataset(name, spec, new Split(x.index_select(0, tr), null, y.Take(train).ToArray()),
            new Split(x.index_select(0, te), null, y.Skip(train).ToArray()), [], TaskKind.Regression);
    }
}
