using MetaMae.Model;
using MetaMae.Modalities;
using MetaMae.Objectives;
using TorchSharp;
using static TorchSharp.torch;

namespace MetaMae.Tests;

/// <summary>float64 checks that the MetaMAE loss is differentiated through the inner step.</summary>
public class GradientTests
{
    private static readonly ModelConfig Small = ModelConfig.Tiny with
    {
        EncDim = 16, EncDepth = 2, EncHeads = 2, EncMlp = 32, DecDim = 8, DecDepth = 1, DecHeads = 2, DecMlp = 16, ProjHidden = 32, ProjDim = 8,
    };

    internal static (MetaMaeModel, Tensor) Setup(InputSpec spec)
    {
        manual_seed(0);
        var model = new MetaMaeModel(spec, Small);
        model.to(ScalarType.Float64);
        model.train();
        manual_seed(1);
        var raw = spec.IsDiscrete ? randint(0, spec.TokenWidth, [4, .. spec.RawShape]) : randn([4, .. spec.RawShape], dtype: ScalarType.Float64);
        return (model, spec.Patchify(raw));
    }

    internal static double Loss(MetaMaeModel model, Tensor tokens, ObjectiveOptions o)
    {
        using var scope = NewDisposeScope();
        using var gen = new Generator().manual_seed(7);
        return new MetaMaeObjective(o).Loss(model, tokens, gen).Total.ToDouble();
    }

    internal static Dictionary<string, Tensor> Grads(MetaMaeModel model, Tensor tokens, ObjectiveOptions o)
    {
        foreach (var p in model.parameters()) p.grad = null;
        using var gen = new Generator().manual_seed(7);
        new MetaMaeObjective(o).Loss(model, tokens, gen).Total.backward();
        return model.named_parameters().Where(p => p.parameter.grad is not null)
            .ToDictionary(p => p.name, p => p.parameter.grad!.clone());
    }

    public static TheoryData<InputSpec> Specs => new() { new SequenceSpec(3, 16, 2), new TokenSpec(5, 8), new GridSpec(2, 8, 8, 2, 2) };

    [Theory, MemberData(nameof(Specs))]
    public void SecondOrderGradientMatchesFiniteDifferencesAndDiffersFromFirstOrder(InputSpec spec)
    {
        var (model, tokens) = Setup(spec);
        // r = 0.5 so that the tiny support sets hold Nearby-S tokens; alpha large enough to matter
        var so = new ObjectiveOptions { MaskRatio = 0.5, Alpha = 0.5, Lambda = 1.0, NearbyRatio = 0.5 };
        var fo = so with { SecondOrder = false };
        var gSo = Grads(model, tokens, so);
        var gFo = Grads(model, tokens, fo);
        Assert.Equal(Loss(model, tokens, so), Loss(model, tokens, fo), 12);   // the order changes gradients, not the loss

        AssertFiniteDifferenceSeparatesOrders(model, "blocks.0.mlp.fc1.weight", gSo, gFo, () => Loss(model, tokens, so));
    }

    /// <summary>
    /// At the element of weight `name` where the second- and first-order gradients differ most, a central
    /// finite difference of the loss matches the second-order gradient (rel. err &lt; 1e-5) and not the first-order one.
    /// </summary>
    internal static void AssertFiniteDifferenceSeparatesOrders(MetaMaeModel model, string name,
        Dictionary<string, Tensor> gSo, Dictionary<string, Tensor> gFo, Func<double> loss)
    {
        var w = model.named_parameters().Single(p => p.name == name).parameter;
        double relTensor = (gSo[name] - gFo[name]).norm().ToDouble() / gSo[name].norm().ToDouble();
        Assert.True(relTensor > 1e-4, $"second- and first-order gradients should differ (relative difference {relTensor:E2})");

        long flat = (gSo[name] - gFo[name]).abs().argmax().item<long>();
        long cols = w.shape[1];
        long r = flat / cols, c = flat % cols;
        const double eps = 1e-6;
        double orig = w[r, c].ToDouble();
        using (no_grad()) w[r, c] = orig + eps;
        double lp = loss();
        using (no_grad()) w[r, c] = orig - eps;
        double lm = loss();
        using (no_grad()) w[r, c] = orig;
        double fd = (lp - lm) / (2 * eps);
        double aSo = gSo[name][r, c].ToDouble(), aFo = gFo[name][r, c].ToDouble();
        double errSo = Math.Abs(fd - aSo) / Math.Abs(fd), errFo = Math.Abs(fd - aFo) / Math.Abs(fd);
        Assert.True(errSo < 1e-5, $"second-order gradient {aSo:E10} vs finite difference {fd:E10}: relative error {errSo:E2}");
        Assert.True(errFo > 1e-3, $"the finite difference should tell first order apart (relative error {errFo:E2})");
    }

    [Fact]
    public void GradientOfAllParametersAlongARandomDirectionMatches()
    {
        var (model, tokens) = Setup(new SequenceSpec(3, 16, 2));
        var o = new ObjectiveOptions { MaskRatio = 0.5, Alpha = 0.5, Lambda = 1.0, NearbyRatio = 0.5, InnerSteps = 2 };
        var g = Grads(model, tokens, o);
        AssertDirectionalDerivativeMatches(model, g, () => Loss(model, tokens, o));
    }

    /// <summary>
    /// Along a random direction (seed 11) over every parameter that has a gradient in g, the
    /// directional derivative from g matches a central finite difference (eps 1e-6) of loss to 1e-5.
    /// </summary>
    internal static void AssertDirectionalDerivativeMatches(MetaMaeModel model, Dictionary<string, Tensor> g, Func<double> loss)
    {
        var ps = model.named_parameters().Where(p => g.ContainsKey(p.name)).ToList();
        manual_seed(11);
        var dir = ps.Select(p => randn_like(p.parameter)).ToList();
        double analytic = ps.Select((p, i) => (g[p.name] * dir[i]).sum().ToDouble()).Sum();
        const double eps = 1e-6;
        void Shift(double s) { using var _ = no_grad(); for (int i = 0; i < ps.Count; i++) ps[i].parameter.add_(dir[i], alpha: s); }
        Shift(eps); double lp = loss();
        Shift(-2 * eps); double lm = loss();
        Shift(eps);
        double fd = (lp - lm) / (2 * eps);
        Assert.True(Math.Abs(fd - analytic) / Math.Abs(fd) < 1e-5, $"directional derivative {analytic:E10} vs finite difference {fd:E10}");
    }
}
