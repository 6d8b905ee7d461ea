using MetaMae.Model;
using static TorchSharp.torch;

namespace MetaMae.Tests;

/// <summary>The encoder's dropout draws its CPU mask in C# (FastDropout): the same law as libtorch's dropout
/// (drop with probability p, scale the rest by 1/(1-p)), repeatable under manual_seed, a constant of the graph.</summary>
public class FastDropoutTests
{
    [Theory]
    [InlineData(0.1)]
    [InlineData(0.5)]
    public void ItDropsAFractionPAndScalesTheRest(double p)
    {
        using var scope = NewDisposeScope();
        var drop = new FastDropout(p);
        drop.train();
        manual_seed(3);
        var x = rand(1001, 999) + 0.5;                                 // odd count: the last element has its own half-hash
        var y = drop.forward(x);
        var kept = y.ne(0);
        double keptFraction = kept.to(ScalarType.Float64).mean().item<double>();
        // n ~ 1e6: the binomial's sd is ~5e-4 at p = 0.5; 0.003 is six of them
        Assert.InRange(keptFraction, 1 - p - 0.003, 1 - p + 0.003);
        Assert.True(y.masked_select(kept).allclose(x.masked_select(kept) / (1 - p), 1e-6, 1e-6));
        // neighbouring elements (the two halves of one hash, and consecutive hashes) are independent: the kept/kept
        // frequency of pairs is (1-p)^2
        var k = kept.flatten().to(ScalarType.Float64);
        double both = (k[TensorIndex.Slice(0, -1)] * k[TensorIndex.Slice(1, null)]).mean().item<double>();
        Assert.InRange(both, (1 - p) * (1 - p) - 0.003, (1 - p) * (1 - p) + 0.003);
        // columns and rows alike: no stripe of the layout is kept more than another
        var perColumn = kept.to(ScalarType.Float64).mean(new long[] { 0 });
        Assert.InRange(perColumn.std().item<double>(), 0, 3 * Math.Sqrt(p * (1 - p) / 1001));
    }

    [Fact]
    public void TheSameSeedGivesTheSameMaskAndTheNextCallAnother()
    {
        using var scope = NewDisposeScope();
        var drop = new FastDropout(0.3);
        drop.train();
        var x = ones(64, 33);
        manual_seed(7);
        var a = drop.forward(x);
        var b = drop.forward(x);
        manual_seed(7);
        var a2 = drop.forward(x);
        Assert.True(a.equal(a2).all().item<bool>());
        Assert.False(a.equal(b).all().item<bool>());
        // on the CPU the mask is this class's own (not libtorch's dropout): one draw of the generator seeds it
        manual_seed(7);
        long seed = randint(long.MaxValue, [1], ScalarType.Int64).item<long>();
        Assert.True(a.equal(x * FastDropout.Mask(x.shape, 0.3, seed)).all().item<bool>());
    }

    [Fact]
    public void EvalModeAndPZeroPassTheInputThrough()
    {
        using var scope = NewDisposeScope();
        var x = randn(8, 5);
        var drop = new FastDropout(0.4);
        drop.eval();
        Assert.True(drop.forward(x).equal(x).all().item<bool>());
        var none = new FastDropout(0);
        none.train();
        Assert.True(none.forward(x).equal(x).all().item<bool>());
        Assert.Throws<ArgumentException>(() => new FastDropout(1.0));
    }

    /// <summary>The mask is a constant: d(sum y)/dx is the mask itself, and a bfloat16 input stays bfloat16.</summary>
    [Fact]
    public void TheGradientIsTheMaskAndTheDtypeIsKept()
    {
        using var scope = NewDisposeScope();
        var drop = new FastDropout(0.25);
        drop.train();
        var x = randn(40, 30).requires_grad_();
        manual_seed(11);
        var y = drop.forward(x);
        y.sum().backward();
        var mask = (y.detach() / x.detach()).nan_to_num();
        Assert.True(x.grad!.allclose(mask, 1e-5, 1e-6));
        Assert.Equal(2, x.grad!.unique().output.numel());                      // 0 and 1/(1-p), nothing else
        manual_seed(11);
        var low = drop.forward(x.detach().to(ScalarType.BFloat16));
        Assert.Equal(ScalarType.BFloat16, low.dtype);
        Assert.True(low.to(ScalarType.Float32).ne(0).equal(y.detach().ne(0)).all().item<bool>());   // the same draws
    }
}
