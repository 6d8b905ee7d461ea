using MetaMae.Model;
using MetaMae.Modalities;
using MetaMae.Objectives;
using TorchSharp;
using static TorchSharp.torch;

namespace MetaMae.Tests;

/// <summary>FusedLayerNorm's kernels (float32) against libtorch's LayerNorm in float64: values, first and second
/// derivatives, and a second-order MetaMAE step through the decoder that uses them.</summary>
public class FusedLayerNormTests
{
    // inputs of one check: x (3, 5, C) with a row offset and scale so that mean and variance matter, affine weights
    private static (Tensor X, Tensor W, Tensor B, Tensor Gy, Tensor V, Tensor Vw) Inputs(int c)
    {
        manual_seed(3);
        var x = randn(3, 5, c) * 2.5 + randn(3, 5, 1) * 4;
        return (x, randn(c) * 0.5 + 1, randn(c) * 0.1, randn(3, 5, c), randn(3, 5, c), randn(c));
    }

    // (y, dx, dw, db, and the gradients of dx . v + dw . vw with respect to x, w and gy), by the given LayerNorm
    private static Tensor[] Derivatives(Func<Tensor, Tensor, Tensor, Tensor> ln, Tensor x0, Tensor w0, Tensor b0,
        Tensor gy0, Tensor v, Tensor vw)
    {
        var x = x0.detach().requires_grad_(true);
        var w = w0.detach().requires_grad_(true);
        var b = b0.detach().requires_grad_(true);
        var gy = gy0.detach().requires_grad_(true);
        var y = ln(x, w, b);
        var g = autograd.grad([y], [x, w, b], [gy], create_graph: true, retain_graph: true);
        var second = autograd.grad([(g[0] * v).sum() + (g[1] * vw).sum()], [x, w, gy]);
        return [y, g[0], g[1], g[2], second[0], second[1], second[2]];
    }

    [Theory]
    [InlineData(8)]
    [InlineData(128)]
    [InlineData(13)]
    public void ValuesAndTwoDerivativesMatchLibtorchInFloat64(int c)
    {
        var (x, w, b, gy, v, vw) = Inputs(c);
        var ours = Derivatives((xx, ww, bb) => FusedLayerNorm.Apply(xx, ww, bb, 1e-6), x, w, b, gy, v, vw);
        var f64 = ScalarType.Float64;
        var reference = Derivatives((xx, ww, bb) => nn.functional.layer_norm(xx, [c], ww, bb, 1e-6),
            x.to(f64), w.to(f64), b.to(f64), gy.to(f64), v.to(f64), vw.to(f64));
        string[] names = ["y", "dx", "dw", "db", "d(dx.v + dw.vw)/dx", "../dw", "../dgy"];
        for (int i = 0; i < names.Length; i++)
        {
            Assert.Equal(ScalarType.Float32, ours[i].dtype);
            double scale = reference[i].abs().max().ToDouble();
            double err = (ours[i].to(f64) - reference[i]).abs().max().ToDouble();
            Assert.True(err <= 2e-5 * scale + 1e-6, $"{names[i]} (C = {c}): max error {err:E2} against max |ref| {scale:E2}");
        }
    }

    [Fact]
    public void ABackwardWithOrWithoutCreateGraphGivesTheSameValues()
    {
        var (x0, w, b, gy, v, _) = Inputs(16);
        var x = x0.requires_grad_(true);
        var direct = autograd.grad([FusedLayerNorm.Apply(x, w, b, 1e-6)], [x], [gy])[0];
        var graphed = autograd.grad([FusedLayerNorm.Apply(x, w, b, 1e-6)], [x], [gy], create_graph: true,
            retain_graph: true)[0];
        Assert.Equal(0.0, (direct - graphed).abs().max().ToDouble(), 12);

        // the second derivative built with create_graph too (the composite path): the same values as libtorch's
        static Tensor Second(Func<Tensor, Tensor> ln, Tensor x0, Tensor gy, Tensor v)
        {
            var x = x0.detach().requires_grad_(true);
            var g = autograd.grad([ln(x)], [x], [gy], create_graph: true, retain_graph: true)[0];
            return autograd.grad([(g * v).sum()], [x], create_graph: true, retain_graph: true)[0].detach();
        }
        var f64 = ScalarType.Float64;
        var ours = Second(xx => FusedLayerNorm.Apply(xx, w, b, 1e-6), x0, gy, v);
        var reference = Second(xx => nn.functional.layer_norm(xx, [16], w.to(f64), b.to(f64), 1e-6), x0.to(f64),
            gy.to(f64), v.to(f64));
        double scale = reference.abs().max().ToDouble();
        double err = (ours.to(f64) - reference).abs().max().ToDouble();
        Assert.True(err <= 2e-5 * scale, $"second derivative with create_graph: max error {err:E2} against {scale:E2}");
    }

    [Fact]
    public void WhatTheBackwardsReturnDoesNotWaitForTheStepsDisposeScope()
    {
        // TorchSharp leaves the wrappers of what a custom backward returns in the scope open around backward(), so
        // they would hold their memory until the step ends; CustomAutograd disposes them at the next call instead
        var (x0, w, b, gy, v, _) = Inputs(64);
        using var scope = NewDisposeScope();
        var x = x0.requires_grad_(true);
        var y = FusedLayerNorm.Apply(x, w, b, 1e-6);
        var g = autograd.grad([y], [x], [gy], create_graph: true, retain_graph: true)[0];
        var loss = (g * v).sum();
        int before = scope.DisposablesCount;
        loss.backward();
        CustomAutograd.ReleaseAfterStep();
        Assert.True(scope.DisposablesCount == before, $"{scope.DisposablesCount - before} tensors left in the scope");
        Assert.NotNull(x.grad);
    }

    [Fact]
    public void OtherDtypesTakeLibtorchsLayerNorm()
    {
        var (x, w, b, _, _, _) = Inputs(8);
        Assert.True(FusedLayerNorm.Applies(x, w, b));
        Assert.False(FusedLayerNorm.Applies(x.to(ScalarType.Float64), w.to(ScalarType.Float64), b.to(ScalarType.Float64)));
        Assert.False(FusedLayerNorm.Applies(x.to(ScalarType.BFloat16), w, b));
        var y = FusedLayerNorm.Apply(x.to(ScalarType.Float64), w.to(ScalarType.Float64), b.to(ScalarType.Float64), 1e-6);
        Assert.Equal(ScalarType.Float64, y.dtype);
    }

    [Fact]
    public void ASecondOrderMetaMaeStepInFloat32MatchesTheFloat64OneWithLibtorchsLayerNorm()
    {
        // the same weights and batch; float64 runs libtorch's LayerNorm everywhere, float32 the fused kernels in the
        // twice-differentiated support decode: every parameter's gradient agrees to float32's rounding
        var spec = new SequenceSpec(3, 16, 2);
        var o = new ObjectiveOptions { MaskRatio = 0.5, Alpha = 0.5, Lambda = 1.0, NearbyRatio = 0.5 };
        var (model, tokens) = GradientTests.Setup(spec);
        var g64 = GradientTests.Grads(model, tokens, o);
        model.to(ScalarType.Float32);
        var g32 = GradientTests.Grads(model, tokens.to(ScalarType.Float32), o);
        Assert.Equal(g64.Keys.Order(), g32.Keys.Order());
        Assert.Contains("decoder_norm.weight", g32.Keys);
        foreach (var (name, g) in g64)
        {
            double scale = g.abs().max().ToDouble();
            double err = (g32[name].to(ScalarType.Float64) - g).abs().max().ToDouble();
            Assert.True(err <= 1e-4 * scale + 1e-7, $"{name}: max error {err:E2} against max |grad| {scale:E2}");
        }
    }
}
