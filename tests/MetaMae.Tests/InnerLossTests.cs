using MetaMae.Training;
using MetaMae.Model;
using MetaMae.Modalities;
using MetaMae.Objectives;
using TorchSharp;
using static TorchSharp.torch;

namespace MetaMae.Tests;

/// <summary>
/// The inner-loss scalings (reference = the authors' code, paper = Eq. 1), the inner distance d, and the
/// measurement of the adaptation (latent change, inner gain). float64, the tiny models of GradientTests.
/// </summary>
public class InnerLossTests
{
    private static ObjectiveOptions Paper(string distance, double alpha = 0.1) =>
        new() { MaskRatio = 0.5, Alpha = alpha, Lambda = 1.0, NearbyRatio = 0.5, InnerLoss = InnerLossScaling.Paper,
            Distance = EnumNames<InnerDistance>.Parse(distance, "distance") };

    public static TheoryData<InputSpec, string> PaperCases => new()
    {
        { new SequenceSpec(3, 16, 2), "mse" },
        { new SequenceSpec(3, 16, 2), "sq-l2" },
        { new SequenceSpec(3, 16, 2), "l2" },
        { new TokenSpec(5, 8), "mse" },                  // cross-entropy: the distance does not apply to tokens
        { new GridSpec(2, 8, 8, 2, 2), "sq-l2" },
    };

    [Theory, MemberData(nameof(PaperCases))]
    public void PaperScalingGradientMatchesFiniteDifferencesAndDiffersFromFirstOrder(InputSpec spec, string distance)
    {
        var (model, tokens) = GradientTests.Setup(spec);
        var so = Paper(distance);
        var fo = so with { SecondOrder = false };
        var gSo = GradientTests.Grads(model, tokens, so);
        var gFo = GradientTests.Grads(model, tokens, fo);
        GradientTests.AssertFiniteDifferenceSeparatesOrders(model, "blocks.0.mlp.fc1.weight", gSo, gFo,
            () => GradientTests.Loss(model, tokens, so));
    }

    [Fact]
    public void PaperScalingWithTheNormAndTwoStepsMatchesAlongARandomDirection()
    {
        var (model, tokens) = GradientTests.Setup(new SequenceSpec(3, 16, 2));
        var o = Paper("l2") with { InnerSteps = 2 };
        var g = GradientTests.Grads(model, tokens, o);
        GradientTests.AssertDirectionalDerivativeMatches(model, g, () => GradientTests.Loss(model, tokens, o));
    }

    /// <summary>Same loss and same gradients of every parameter, to float64 rounding.</summary>
    private static void AssertSameLossAndGradients(MetaMaeModel model, Tensor tokens, ObjectiveOptions a, ObjectiveOptions b)
    {
        double la = GradientTests.Loss(model, tokens, a), lb = GradientTests.Loss(model, tokens, b);
        Assert.True(Math.Abs(la - lb) <= 1e-10 * Math.Abs(la), $"losses {la:R} and {lb:R} differ");
        var ga = GradientTests.Grads(model, tokens, a);
        var gb = GradientTests.Grads(model, tokens, b);
        Assert.Equal(ga.Keys.Order(), gb.Keys.Order());
        foreach (var (k, v) in ga)
        {
            double rel = (v - gb[k]).norm().ToDouble() / Math.Max(v.norm().ToDouble(), 1e-300);
            Assert.True(rel < 1e-9, $"gradient of '{k}' differs (relative {rel:E2})");
        }
    }

    [Fact]
    public void ForCrossEntropyPaperAtAlphaIsReferenceAtAlphaTimesTheSupportSize()
    {
        // r = 0: the support set is exactly the visible tokens, s = int(L * (1 - mask ratio)) for every sample
        var spec = new TokenSpec(5, 8);
        var (model, tokens) = GradientTests.Setup(spec);
        int s = Masking.KeepCount(spec.NumTokens, 0.5);
        Assert.Equal(4, s);
        var paper = new ObjectiveOptions { MaskRatio = 0.5, Alpha = 0.05, Lambda = 1.0, NearbyRatio = 0, InnerLoss = InnerLossScaling.Paper };
        var reference = paper with { InnerLoss = InnerLossScaling.Reference, Alpha = 0.05 * s };
        AssertSameLossAndGradients(model, tokens, paper, reference);
        // and the two scalings at the same alpha are different objectives
        double same = GradientTests.Loss(model, tokens, reference with { Alpha = 0.05 });
        Assert.True(Math.Abs(same - GradientTests.Loss(model, tokens, paper)) > 1e-6, "reference and paper at one alpha should differ");
    }

    [Fact]
    public void SumOfSquaresAtAlphaIsMseAtAlphaTimesTheValuesPerToken()
    {
        var spec = new SequenceSpec(3, 16, 2);                 // P = 6 values per token
        var (model, tokens) = GradientTests.Setup(spec);
        var sq = Paper("sq-l2", 0.02);
        AssertSameLossAndGradients(model, tokens, sq, Paper("mse", 0.02 * spec.TokenWidth));
        // the norm is a third, different d
        Assert.True(Math.Abs(GradientTests.Loss(model, tokens, Paper("l2", 0.02)) - GradientTests.Loss(model, tokens, sq)) > 1e-6);
    }

    [Fact]
    public void PaperDistancesPerTokenAreWhatTheyAreCalled()
    {
        var spec = new SequenceSpec(1, 4, 2);                  // 2 tokens x 2 values
        using var pred = zeros(1, 2, 2, dtype: ScalarType.Float64);
        using var target = tensor(new double[] { 3, 4, 1, 0 }).view(1, 2, 2);
        using var sel = tensor(new double[] { 1, 1 }).view(1, 2);
        double L(string d, bool sum) => Losses.Reconstruction(spec, pred, target, sel, EnumNames<InnerDistance>.Parse(d, "d"), sum).ToDouble();
        Assert.Equal((12.5 + 0.5) / 2, L("mse", false), 12);   // tokens' mean squares 12.5 and 0.5, averaged
        Assert.Equal(12.5 + 0.5, L("mse", true), 12);
        Assert.Equal(25 + 1, L("sq-l2", true), 12);
        Assert.Equal(5 + 1, L("l2", true), 12);
    }

    [Fact]
    public void TheNormHasAFiniteGradientWhereATokenIsReconstructedExactly()
    {
        var spec = new SequenceSpec(1, 4, 2);
        using var pred = tensor(new double[] { 3, 4, 0, 0 }).view(1, 2, 2).requires_grad_(true);
        using var target = tensor(new double[] { 3, 4, 1, 0 }).view(1, 2, 2);
        using var sel = ones(1, 2, dtype: ScalarType.Float64);
        Losses.Reconstruction(spec, pred, target, sel, InnerDistance.L2, sum: true).backward();
        Assert.True(pred.grad!.isfinite().all().item<bool>());
        Assert.Equal(new double[] { 0, 0, -1, 0 }, pred.grad!.data<double>().ToArray());
    }

    [Fact]
    public void OptionsRejectUnknownScalingsAndDistances()
    {
        Assert.Contains("--inner-loss", Assert.Throws<ArgumentException>(() =>
            new ObjectiveOptions { InnerLoss = (InnerLossScaling)7 }.Validate()).Message);
        Assert.Contains("--distance", Assert.Throws<ArgumentException>(() =>
            new ObjectiveOptions { Distance = (InnerDistance)7 }.Validate()).Message);
        var e = Assert.Throws<ArgumentException>(() => EnumNames<InnerDistance>.Parse("l1", "--distance"));
        Assert.Equal("--distance must be one of mse, sq-l2, l2 (got 'l1')", e.Message);
        Assert.Equal(InnerLossScaling.Paper, EnumNames<InnerLossScaling>.Parse("paper", "--inner-loss"));
        Assert.Equal("sq-l2", EnumNames<InnerDistance>.Of(InnerDistance.SqL2));
        new ObjectiveOptions { InnerLoss = InnerLossScaling.Paper, Distance = InnerDistance.L2 }.Validate();
    }

    private static LossParts Parts(MetaMaeModel model, Tensor tokens, ObjectiveOptions o, bool measure)
    {
        using var gen = new Generator().manual_seed(7);
        var objective = new MetaMaeObjective(o) { MeasureAdaptation = measure };
        var p = objective.Loss(model, tokens, gen);
        return p with { Total = p.Total.detach() };
    }

    [Fact]
    public void InnerGainIsTheQueryLossBeforeAdaptationMinusAfterAndTheChangeScalesWithAlpha()
    {
        var (model, tokens) = GradientTests.Setup(new SequenceSpec(3, 16, 2));
        var o = new ObjectiveOptions { MaskRatio = 0.5, Alpha = 0.5, Lambda = 1.0, NearbyRatio = 0.5 };
        var p = Parts(model, tokens, o, measure: true);
        // MAE draws the same mask first and reconstructs the query from the unadapted latent Z
        var mae = Parts(model, tokens, o with { Adapt = false, Lambda = 0 }, measure: true);
        Assert.True(double.IsNaN(mae.LatentChange) && double.IsNaN(mae.InnerGain), "MAE has no adaptation to measure");
        Assert.Equal(mae.Reconstruction - p.Reconstruction, p.InnerGain, 12);
        Assert.True(p.LatentChange > 1e-4, $"latent change {p.LatentChange:E2}");
        // one step: Z* - Z = -alpha g, so the relative change is linear in alpha
        var p2 = Parts(model, tokens, o with { Alpha = 1.0 }, measure: true);
        Assert.Equal(2 * p.LatentChange, p2.LatentChange, 10);
        var p0 = Parts(model, tokens, o with { Alpha = 0 }, measure: true);
        Assert.Equal(0.0, p0.LatentChange);
        Assert.Equal(0.0, p0.InnerGain, 14);
        // measuring changes nothing of the step, and is skipped when not asked for
        var off = Parts(model, tokens, o, measure: false);
        Assert.Equal(p.Total.ToDouble(), off.Total.ToDouble());
        Assert.True(double.IsNaN(off.LatentChange) && double.IsNaN(off.InnerGain));
    }

    [Fact]
    public void PaperScalingMovesTheLatentFartherThanReferenceAtTheSameAlpha()
    {
        // the point of issue 17: reference divides a token's step by s (here 4 + Nearby-S)
        var (model, tokens) = GradientTests.Setup(new TokenSpec(5, 8));
        var o = new ObjectiveOptions { MaskRatio = 0.5, Alpha = 0.1, Lambda = 1.0, NearbyRatio = 0 };
        double reference = Parts(model, tokens, o, measure: true).LatentChange;
        double paper = Parts(model, tokens, o with { InnerLoss = InnerLossScaling.Paper }, measure: true).LatentChange;
        Assert.Equal(4 * reference, paper, 10);
    }
}
