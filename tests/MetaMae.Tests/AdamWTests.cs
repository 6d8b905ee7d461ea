using MetaMae.Training;
using TorchSharp;
using Parameter = TorchSharp.Modules.Parameter;
using AdamW = MetaMae.Training.AdamW;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MetaMae.Tests;

/// <summary>
/// AdamW's fused float32 pass (AdamWKernel) against its libtorch ops (Fused = false), which follow
/// torch.optim.AdamW / Adam line by line: the same parameters and moments after several steps, to float32 rounding.
/// </summary>
public class AdamWTests(ITestOutputHelper output)
{
    // shapes: a vector shorter than one SIMD register, a matrix not a multiple of it, one large enough to be split
    // across threads (AdamWKernel.ChunkElements is 2^16)
    private static readonly long[][] Shapes = [[5], [37, 29], [300, 700]];

    private static (List<(string, Parameter)> Params, AdamW Opt) Make(bool fused, bool decoupled, ScalarType dtype)
    {
        manual_seed(11);
        var ps = Shapes.Select((s, i) => ($"p{i}", new Parameter(randn(s, dtype: dtype)))).ToList();
        return (ps, new AdamW(ps, lr: 3e-2, weightDecay: 0.1, decoupled) { Fused = fused });
    }

    private static void Steps(List<(string, Parameter P)> ps, AdamW opt, int steps)
    {
        using var g = new Generator().manual_seed(5);
        for (int s = 0; s < steps; s++)
        {
            using var scope = NewDisposeScope();
            for (int i = 0; i < ps.Count; i++)
                // the first parameter has no gradient in step 2: skipped there (no decay, no moments), as PyTorch does
                ps[i].P.grad = s == 1 && i == 0 ? null : randn(ps[i].P.shape, dtype: ps[i].P.dtype, generator: g);
            opt.Step();
            opt.ZeroGrad();
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]     // Adam with L2 decay, as the linear probe runs it
    public void TheFusedPassMatchesTheOps(bool decoupled)
    {
        var (fp, fused) = Make(fused: true, decoupled, ScalarType.Float32);
        var (op, ops) = Make(fused: false, decoupled, ScalarType.Float32);
        var start = op.Select(x => x.Item2.detach().clone()).ToList();
        Steps(fp, fused, 6);
        Steps(op, ops, 6);
        var a = fused.StateTensors().ToDictionary(kv => kv.Key, kv => kv.Value);
        var b = ops.StateTensors().ToDictionary(kv => kv.Key, kv => kv.Value);
        Assert.Equal(b.Keys.Order(), a.Keys.Order());
        foreach (var (((name, p), (_, q)), q0) in fp.Zip(op).Zip(start))
        {
            double moved = (q - q0).abs().max().ToDouble();
            double err = (p - q).abs().max().ToDouble();
            double em = (a[$"exp_avg.{name}"] - b[$"exp_avg.{name}"]).abs().max().ToDouble();
            double ev = ((a[$"exp_avg_sq.{name}"] - b[$"exp_avg_sq.{name}"]).abs()
                         / (b[$"exp_avg_sq.{name}"].abs() + 1e-30)).max().ToDouble();
            output.WriteLine($"{name} {string.Join("x", p.shape)}: moved {moved:E2}; |fused - ops| p {err:E2}, " +
                             $"exp_avg {em:E2}, exp_avg_sq relative {ev:E2}");
            Assert.True(moved > 0.05, $"{name}: the steps should move the parameter (moved {moved:E2})");
            // float32 rounding: a few ulps of the largest weight (libtorch's vector kernels fuse some multiply-adds)
            double ulps = err / (q.abs().max().ToDouble() * Math.Pow(2, -23));
            Assert.True(ulps <= 32, $"{name}: fused p differs from the ops' by {err:E2} ({ulps:F1} ulps of max |p|)");
            Assert.True(em < 1e-6 && ev < 1e-5, $"{name}: moments differ by {em:E2} / {ev:E2}");
            Assert.Equal(a[$"step.{name}"].item<long>(), b[$"step.{name}"].item<long>());
        }
        Assert.Equal(5, a["step.p0"].item<long>());                      // skipped once
    }

    /// <summary>Float64 parameters (the gradient tests' models) take the ops: the same numbers exactly.</summary>
    [Fact]
    public void Float64ParametersTakeTheOps()
    {
        var (fp, fused) = Make(fused: true, decoupled: true, ScalarType.Float64);
        var (op, ops) = Make(fused: false, decoupled: true, ScalarType.Float64);
        Steps(fp, fused, 3);
        Steps(op, ops, 3);
        foreach (var ((_, p), (_, q)) in fp.Zip(op)) Assert.True(p.equal(q).all().item<bool>());
    }
}
