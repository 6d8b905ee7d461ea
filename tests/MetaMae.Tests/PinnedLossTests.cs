using MetaMae.Modalities;
using MetaMae.Model;
using MetaMae.Objectives;
using MetaMae.Training;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MetaMae.Tests;

/// <summary>
/// Guards every speed optimisation: the losses of the first steps of a fixed-seed tiny run must stay
/// what the unoptimised code printed. Continuous and token inputs; MAE, MetaMAE and
/// first-order MetaMAE. Tolerance: float32 rounding only (1e-5 relative).
/// </summary>
public class PinnedLossTests(ITestOutputHelper output)
{
    private static RunConfig Config(string algo, bool tokens, bool firstOrder = false)
    {
        InputSpec spec = tokens ? new TokenSpec(26, 24) : new SequenceSpec(6, 48, 3);     // 24 or 16 tokens
        var obj = new ObjectiveOptions
        {
            MaskRatio = 0.75, Adapt = algo == "metamae", Alpha = 0.5, NearbyRatio = 0.3, Lambda = algo == "metamae" ? 1.0 : 0,
            SecondOrder = !firstOrder, Temperature = 0.5,
            ProjectorBatchNorm = ProjectorBatchNorm.Joint,        // as at 351d501; per view since issue 34
        };
        return new RunConfig(algo, "synthetic", spec, ModelConfig.Tiny, obj, new TrainOptions { Steps = 4, Batch = 8, Seed = 7, LogEvery = 1 });
    }

    private static Tensor Data(bool tokens)
    {
        using var g = new Generator().manual_seed(123);
        return tokens ? randint(0, 26, [32, 24], generator: g) : randn([32, 6, 48], generator: g);
    }

    private double[] Losses(string algo, bool tokens, bool firstOrder = false)
    {
        using var x = Data(tokens);
        var r = Pretrainer.Run(x, Config(algo, tokens, firstOrder), Tmp.Dir("pinned"));
        r.Model.Dispose();
        var l = r.Losses.Select(v => v.Loss).ToArray();
        output.WriteLine($"{algo} tokens={tokens} firstOrder={firstOrder}: {string.Join(", ", l.Select(v => v.ToString("R")))}");
        return l;
    }

    private static void AssertPinned(double[] pinned, double[] got)
    {
        Assert.Equal(pinned.Length, got.Length);
        for (int i = 0; i < pinned.Length; i++)
            Assert.True(Math.Abs(pinned[i] - got[i]) <= 1e-5 * Math.Abs(pinned[i]),
                $"step {i + 1}: loss {got[i]:R}, pinned {pinned[i]:R}");
    }

    // values printed by the code before any optimisation (commit 351d501), seed 7, 2 threads
    [Theory]
    [InlineData("mae", false, false, new[] { 2.0369977951049805, 1.8591413497924805, 1.8378229141235352, 1.7649208307266235 })]
    [InlineData("metamae", false, false, new[] { 3.458150625228882, 3.401397705078125, 3.2705507278442383, 3.19287109375 })]
    [InlineData("metamae", false, true, new[] { 3.458150625228882, 3.401404857635498, 3.270573377609253, 3.192936420440674 })]
    [InlineData("mae", true, false, new[] { 3.790351390838623, 3.6730287075042725, 3.7364208698272705, 3.7338976860046387 })]
    [InlineData("metamae", true, false, new[] { 5.097578048706055, 5.014273166656494, 5.022395133972168, 5.057002544403076 })]
    public void LossesOfAFixedSeedStayPinned(string algo, bool tokens, bool firstOrder, double[] pinned) =>
        AssertPinned(pinned, Losses(algo, tokens, firstOrder));
}
