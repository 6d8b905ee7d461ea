using MetaMae.Modalities;
using MetaMae.Model;
using MetaMae.Objectives;
using TorchSharp;
using static TorchSharp.torch;

namespace MetaMae.Tests;

/// <summary>ChunkedAttention (the decoder's bounded-memory attention for long sequences): value, first and second
/// derivatives equal the plain softmax(QK^T)V's (float64), and a MetaMAE step through it matches finite differences.</summary>
public class ChunkedAttentionTests
{
    private static Tensor Plain(Tensor q, Tensor k, Tensor v, double scale) =>
        matmul(nn.functional.softmax(matmul(q, k.transpose(-1, -2)) * scale, -1), v);

    /// <summary>
    /// For f = sum(w * attention(q, k, v)): f itself, g = df/d(q, k, v) (with create_graph) and the gradient of
    /// sum(u * g) (the second derivative, what MetaMAE's outer loss needs), chunked (chunks of 3 and 4 rows, N = 10:
    /// uneven) against plain, to 1e-10 in float64.
    /// </summary>
    [Theory]
    [InlineData(3)]
    [InlineData(4)]
    public void ValueAndTwoDerivativesEqualThePlainAttentions(int chunk)
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        var shape = new long[] { 2, 3, 10, 4 };                                   // (B, H, N, d)
        var q0 = randn(shape, dtype: ScalarType.Float64);
        var k0 = randn(shape, dtype: ScalarType.Float64);
        var v0 = randn(shape, dtype: ScalarType.Float64);
        var w = randn(shape, dtype: ScalarType.Float64);
        var u = Enumerable.Range(0, 3).Select(_ => randn(shape, dtype: ScalarType.Float64)).ToArray();
        const double scale = 0.5;

        (Tensor F, Tensor[] G, Tensor[] H) Run(Func<Tensor, Tensor, Tensor, Tensor> att)
        {
            var q = q0.clone().requires_grad_();
            var k = k0.clone().requires_grad_();
            var v = v0.clone().requires_grad_();
            var f = (att(q, k, v) * w).sum();
            var g = torch.autograd.grad([f], [q, k, v], retain_graph: true, create_graph: true);
            var s = g.Select((t, i) => (t * u[i]).sum()).Aggregate((a, b) => a + b);
            var h = torch.autograd.grad([s], [q, k, v]);
            return (f.detach(), g.Select(t => t.detach()).ToArray(), h.ToArray());
        }

        var plain = Run((q, k, v) => Plain(q, k, v, scale));
        var chunked = Run((q, k, v) => ChunkedAttention.Apply(q, k, v, scale, chunk));
        Assert.Equal(plain.F.ToDouble(), chunked.F.ToDouble(), 10);
        for (int i = 0; i < 3; i++)
        {
            double e1 = (plain.G[i] - chunked.G[i]).abs().max().ToDouble();
            double e2 = (plain.H[i] - chunked.H[i]).abs().max().ToDouble();
            Assert.True(e1 < 1e-10, $"first derivative {i}: max difference {e1:E2}");
            Assert.True(e2 < 1e-10, $"second derivative {i}: max difference {e2:E2}");
            Assert.True(plain.H[i].abs().max().ToDouble() > 1e-3, "the second derivative should not be trivially zero");
        }
    }

    /// <summary>
    /// The finite-difference checks of GradientTests, unchanged, on a model whose decoder attention is chunked
    /// (4-row chunks of its 17 tokens): the second-order gradient matches a central difference and differs from
    /// the first-order one; the directional derivative over all parameters matches (two inner steps).
    /// </summary>
    [Fact]
    public void SecondOrderGradientThroughChunkedDecoderAttentionMatchesFiniteDifferences()
    {
        var spec = new SequenceSpec(3, 32, 2);                                      // 16 tokens + CLS
        manual_seed(0);
        var small = ModelConfig.Tiny with
        {
            EncDim = 16, EncDepth = 2, EncHeads = 2, EncMlp = 32, DecDim = 8, DecDepth = 1, DecHeads = 2, DecMlp = 16,
            ProjHidden = 32, ProjDim = 8,
        };
        var model = new MetaMaeModel(spec, small, fusedAttention: true, decoderAttentionChunk: 4);
        model.to(ScalarType.Float64);
        model.train();
        manual_seed(1);
        var tokens = spec.Patchify(randn([4, .. spec.RawShape], dtype: ScalarType.Float64));
        var so = new ObjectiveOptions { MaskRatio = 0.5, Alpha = 0.5, Lambda = 1.0, NearbyRatio = 0.5 };
        var gSo = GradientTests.Grads(model, tokens, so);
        var gFo = GradientTests.Grads(model, tokens, so with { SecondOrder = false });
        GradientTests.AssertFiniteDifferenceSeparatesOrders(model, "decoder_blocks.0.mlp.fc1.weight", gSo, gFo,
            () => GradientTests.Loss(model, tokens, so));
        var two = so with { InnerSteps = 2 };
        GradientTests.AssertDirectionalDerivativeMatches(model, GradientTests.Grads(model, tokens, two),
            () => GradientTests.Loss(model, tokens, two));

        // and the same loss as the plain decoder attention
        manual_seed(0);
        var plain = new MetaMaeModel(spec, small, fusedAttention: true, decoderAttentionChunk: 0);
        plain.to(ScalarType.Float64);
        plain.train();
        Assert.Equal(GradientTests.Loss(plain, tokens, so), GradientTests.Loss(model, tokens, so), 10);
    }

    /// <summary>The default rule: a map under the budget stays whole; a larger one is cut into chunks of rows whose
    /// maps fit the budget, never under 16 rows; budget 0 never chunks.</summary>
    [Fact]
    public void ChunkRowsFollowTheMapBudget()
    {
        const long mib = 1L << 20;
        Assert.Equal(0, ChunkedAttention.RowsFor(128, 2, 257, 4, 256 * mib));        // 67.6 MB: whole
        Assert.Equal(0, ChunkedAttention.RowsFor(32, 16, 513, 4, 0));                 // 0: never
        int rows = ChunkedAttention.RowsFor(32, 16, 513, 4, 256 * mib);               // 539 MB: chunked
        Assert.InRange(rows, 16, 512);
        Assert.True(32L * 16 * rows * 513 * 4 <= 256 * mib, $"{rows} rows exceed the budget");
        Assert.True(32L * 16 * (rows + 1) * 513 * 4 > 256 * mib, $"{rows} rows: one more would still fit");
        Assert.Equal(16, ChunkedAttention.RowsFor(32, 16, 4097, 4, 1 * mib));        // the floor
        Assert.Equal(256 * mib, ChunkedAttention.MapBudgetBytes);                     // default (tests run without the variable)
    }
}
