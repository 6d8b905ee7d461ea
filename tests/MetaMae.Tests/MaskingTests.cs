using MetaMae.Modalities;
using MetaMae.Objectives;
using static TorchSharp.torch;

namespace MetaMae.Tests;

public class MaskingTests
{
    [Theory]
    [InlineData(64, 0.85, 9)]
    [InlineData(60, 0.5, 30)]
    [InlineData(28, 0.5, 14)]
    [InlineData(128, 0.15, 108)]
    [InlineData(196, 0.85, 29)]
    public void KeepsExactlyIntOfLTimesOneMinusRatio(int L, double ratio, int expected)
    {
        Assert.Equal(expected, Masking.KeepCount(L, ratio));
        using var gen = new Generator().manual_seed(3);
        using var m = Masking.Random(16, L, ratio, gen, CPU, ScalarType.Float32);
        Assert.Equal(expected, m.Keep);
        using var visible = (1 - m.Mask).sum(1);
        Assert.All(visible.data<float>().ToArray(), v => Assert.Equal(expected, (int)v));
        // the kept ids are exactly the visible positions
        using var atKeep = m.Mask.gather(1, m.KeepIds);
        Assert.Equal(0f, atKeep.sum().item<float>());
    }

    [Fact]
    public void MasksDifferPerSample()
    {
        using var gen = new Generator().manual_seed(1);
        using var m = Masking.Random(8, 64, 0.85, gen, CPU, ScalarType.Float32);
        Assert.False(T.Same(m.Mask[0], m.Mask[1]));
    }

    [Fact]
    public void NearbyS1DIsTheMaskedLeftAndRightNeighbours()
    {
        // visible at 2 and 6 of 8 (mask = 1 elsewhere): nearby masked = 1, 3, 5, 7
        var spec = new TokenSpec(4, 8);
        using var mask = tensor(new float[] { 1, 1, 0, 1, 1, 1, 0, 1 }, [1, 8]);
        using var near = spec.NearbyMasked(mask);
        Assert.Equal(new float[] { 0, 1, 0, 1, 0, 1, 0, 1 }, near.data<float>().ToArray());
    }

    [Fact]
    public void NearbyS2DIsTheFourNeighbourCross()
    {
        // 3x3 grid, only the centre (1,1) visible: nearby = up, down, left, right, never diagonals
        var spec = new GridSpec(1, 6, 6, 2, 2);
        using var mask = tensor(new float[] { 1, 1, 1, 1, 0, 1, 1, 1, 1 }, [1, 9]);
        using var near = spec.NearbyMasked(mask);
        Assert.Equal(new float[] { 0, 1, 0, 1, 0, 1, 0, 1, 0 }, near.data<float>().ToArray());
        // corner (0,0) visible: nearby (0,1) and (1,0) only
        using var mask2 = tensor(new float[] { 0, 1, 1, 1, 1, 1, 1, 1, 1 }, [1, 9]);
        using var near2 = spec.NearbyMasked(mask2);
        Assert.Equal(new float[] { 0, 1, 0, 1, 0, 0, 0, 0, 0 }, near2.data<float>().ToArray());
    }

    [Fact]
    public void SupportIsVisibleAtR0AndVisiblePlusNearbyAtR1()
    {
        var spec = new TokenSpec(4, 8);
        using var gen = new Generator().manual_seed(5);
        using var m = Masking.Random(4, 8, 0.5, gen, CPU, ScalarType.Float32);
        using var s0 = m.Support(spec, 0.0, gen);
        Assert.True(T.Same(s0, 1 - m.Mask));
        using var s1 = m.Support(spec, 1.0, gen);
        using var near = spec.NearbyMasked(m.Mask);
        Assert.True(T.Same(s1, 1 - m.Mask + near));
        // r = 0.5 keeps a subset of the nearby tokens
        using var sh = m.Support(spec, 0.5, gen);
        Assert.True((sh <= s1).all().item<bool>() && (sh >= s0).all().item<bool>());
    }
}
