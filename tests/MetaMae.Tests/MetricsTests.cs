using MetaMae.Evaluation;

namespace MetaMae.Tests;

public class MetricsTests
{
    [Fact]
    public void AccuracyAndWeightedF1MatchHandValues()
    {
        long[] t = [0, 0, 0, 1, 1, 2];
        long[] p = [0, 0, 1, 1, 2, 2];
        Assert.Equal(4 / 6.0, Metrics.Accuracy(t, p), 12);
        // class 0: P=1 R=2/3 F1=0.8 (support 3); class 1: P=1/2 R=1/2 F1=0.5 (2); class 2: P=1/2 R=1 F1=2/3 (1)
        Assert.Equal((0.8 * 3 + 0.5 * 2 + 2 / 3.0) / 6, Metrics.WeightedF1(t, p), 12);
    }

    [Fact]
    public void SpearmanUsesAverageRanksForTies()
    {
        Assert.Equal(1.0, Metrics.Spearman([1, 2, 3, 4], [10, 20, 30, 40]), 12);
        Assert.Equal(-1.0, Metrics.Spearman([1, 2, 3, 4], [4, 3, 2, 1]), 12);
        Assert.Equal(new[] { 1.5, 1.5, 3 }, Metrics.Ranks([5, 5, 7]));
        // scipy.stats.spearmanr([1,2,3,4,5],[2,1,4,3,5]) = 0.8
        Assert.Equal(0.8, Metrics.Spearman([1, 2, 3, 4, 5], [2, 1, 4, 3, 5]), 12);
    }
}
