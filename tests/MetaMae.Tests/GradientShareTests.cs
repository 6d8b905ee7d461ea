using MetaMae.Model;
using MetaMae.Modalities;
using MetaMae.Objectives;
using TorchSharp;
using static TorchSharp.torch;

namespace MetaMae.Tests;

/// <summary>The diagnostics of issue 34: where the encoder's gradient comes from, and the contrast's floor.</summary>
public class GradientShareTests
{
    /// <summary>The encoder's gradient (flattened, float64) of one loss, and the loss's parts.</summary>
    private static (Tensor Grad, LossParts Parts) Gradient(ObjectiveOptions o, bool measure)
    {
        manual_seed(11);
        var spec = new SequenceSpec(3, 32, 4);                                     // 8 tokens
        var model = new MetaMaeModel(spec, ModelConfig.Tiny with { Dropout = 0 });
        model.train();
        using var g = new Generator().manual_seed(2);
        var tokens = spec.Patchify(randn(6, 3, 32, generator: g));                 // (B, L, P)
        var obj = new MetaMaeObjective(o) { MeasureAdaptation = measure };
        var parts = obj.Loss(model, tokens, new Generator().manual_seed(4));
        parts.Total.backward();
        var grad = cat(model.EncoderParameters().Select(p => p.Param.grad!.flatten().to(ScalarType.Float64)).ToList());
        return (grad, parts);
    }

    private static double Norm(Tensor t) => t.norm().ToDouble();

    [Fact]
    public void SharesEqualTheGradientsThatSwitchingEachPathOffRemoves()
    {
        var o = new ObjectiveOptions { MaskRatio = 0.5, Alpha = 1.0, Lambda = 1.0 };
        var (full, parts) = Gradient(o, measure: true);
        var (firstOrder, _) = Gradient(o with { SecondOrder = false }, measure: false);
        var (noContrast, _) = Gradient(o with { Lambda = 0 }, measure: false);
        // switching first order off removes exactly the path through the inner gradient; lambda 0 exactly the contrast
        double so = Norm(full - firstOrder) / Norm(full), cs = Norm(full - noContrast) / Norm(full);
        Assert.True(so > 1e-4 && cs > 1e-4, $"shares {so}, {cs}: nothing to measure");
        Assert.Equal(so, parts.SecondOrderShare, so * 1e-3);
        Assert.Equal(cs, parts.ContrastShare, cs * 1e-3);
        var (_, unmeasured) = Gradient(o, measure: false);
        Assert.True(double.IsNaN(unmeasured.ContrastShare) && double.IsNaN(unmeasured.SecondOrderShare));
        var (_, fo) = Gradient(o with { SecondOrder = false }, measure: true);
        Assert.True(double.IsNaN(fo.SecondOrderShare) && fo.ContrastShare > 0);
    }

    [Fact]
    public void TheContrastFloorIsReachedByASimplexOfIdenticalPairsAndNothingGoesBelowIt()
    {
        // B = 4 pairs: the corners of a regular tetrahedron, each pair's two views identical
        var corners = tensor(new float[] { 1, 1, 1, -1, -1, 1, -1, 1, -1, 1, -1, -1 }).reshape(4, 3);
        var z = cat([corners, corners], 0);                                        // (2B, 3)
        Assert.Equal(Losses.NtXentFloor(4, 0.5), Losses.NtXent(z, 0.5).ToDouble(), 5);
        Assert.Equal(2.1823, Losses.NtXentFloor(32, 0.5), 4);
        manual_seed(1);
        for (int i = 0; i < 20; i++)
            Assert.True(Losses.NtXent(randn(64, 16), 0.5).ToDouble() > Losses.NtXentFloor(32, 0.5));
    }
}
