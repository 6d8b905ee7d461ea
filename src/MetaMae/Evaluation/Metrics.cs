namespace MetaMae.Evaluation;

public static class Metrics
{
    /// <summary>Top-1 accuracy in [0, 1].</summary>
    public static double Accuracy(IReadOnlyList<long> truth, IReadOnlyList<long> pred)
    {
        Check(truth.Count, pred.Count);
        int ok = 0;
        for (int i = 0; i < truth.Count; i++) if (truth[i] == pred[i]) ok++;
        return ok / (double)truth.Count;
    }

    /// <summary>F1 per class, averaged with weights = class support in the truth (sklearn's 'weighted').</summary>
    public static double WeightedF1(IReadOnlyList<long> truth, IReadOnlyList<long> pred)
    {
        Check(truth.Count, pred.Count);
        double total = 0;
        foreach (var c in truth.Distinct())
        {
            int tp = 0, fp = 0, fn = 0;
            for (int i = 0; i < truth.Count; i++)
            {
                bool t = truth[i] == c, p = pred[i] == c;
                if (t && p) tp++; else if (p) fp++; else if (t) fn++;
            }
            double f1 = tp == 0 ? 0 : 2.0 * tp / (2.0 * tp + fp + fn);
            total += f1 * (tp + fn);
        }
        return total / truth.Count;
    }

    /// <summary>Spearman rank correlation (Pearson correlation of average ranks; ties share their mean rank).</summary>
    public static double Spearman(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        Check(a.Count, b.Count);
        return Pearson(Ranks(a), Ranks(b));
    }

    public static double Pearson(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        int n = a.Count;
        double ma = a.Average(), mb = b.Average(), sab = 0, saa = 0, sbb = 0;
        for (int i = 0; i < n; i++)
        {
            double da = a[i] - ma, db = b[i] - mb;
            sab += da * db; saa += da * da; sbb += db * db;
        }
        return saa == 0 || sbb == 0 ? 0 : sab / Math.Sqrt(saa * sbb);
    }

    public static double[] Ranks(IReadOnlyList<double> v)
    {
        var order = Enumerable.Range(0, v.Count).OrderBy(i => v[i]).ToArray();
        var r = new double[v.Count];
        for (int i = 0; i < order.Length;)
        {
            int j = i;
            while (j + 1 < order.Length && v[order[j + 1]] == v[order[i]]) j++;
            double mean = (i + j) / 2.0 + 1;
            for (int k = i; k <= j; k++) r[order[k]] = mean;
            i = j + 1;
        }
        return r;
    }

    private static void Check(int a, int b)
    {
        if (a != b) throw new ArgumentException($"metric inputs differ in length ({a} vs {b})");
        if (a == 0) throw new ArgumentException("metric of an empty set");
    }
}
