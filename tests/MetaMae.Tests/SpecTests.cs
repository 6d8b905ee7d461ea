using MetaMae.Modalities;
using static TorchSharp.torch;

namespace MetaMae.Tests;

public class SpecTests
{
    public static TheoryData<InputSpec> Specs => new()
    {
        new SequenceSpec(52, 320, 5), new SequenceSpec(3, 12, 4), new GridSpec(3, 32, 32, 4, 4),
        new GridSpec(13, 16, 8, 8, 4), new TabularSpec(28), new TokenSpec(26, 128, 0),
    };

    [Theory, MemberData(nameof(Specs))]
    public void PatchifyRoundTripsExactly(InputSpec spec)
    {
        using var x = spec.IsDiscrete ? randint(0, spec.TokenWidth, [5, .. spec.RawShape]) : randn([5, .. spec.RawShape]);
        using var tok = spec.Patchify(x);
        Assert.Equal(spec.NumTokens, tok.shape[1]);
        if (!spec.IsDiscrete) Assert.Equal(spec.TokenWidth, tok.shape[2]);
        using var back = spec.Unpatchify(tok);
        Assert.True(T.Same(back, x));
    }

    [Fact]
    public void SequencePatchIsTimeMajorChannelLast()
    {
        // x[c, t] = 10*c + t; patch 2 of channels 2: token 1 = [x[0,2], x[1,2], x[0,3], x[1,3]]
        var spec = new SequenceSpec(2, 4, 2);
        using var x = tensor(new float[] { 0, 1, 2, 3, 10, 11, 12, 13 }, [1, 2, 4]);
        using var tok = spec.Patchify(x);
        Assert.Equal(new float[] { 2, 12, 3, 13 }, tok[0, 1].data<float>().ToArray());
    }

    [Fact]
    public void GridPatchIsRowMajorChannelLast()
    {
        // 1 channel 4x4 image with value r*4+c, patch 2x2: token (0,1) holds pixels (0,2),(0,3),(1,2),(1,3)
        var spec = new GridSpec(1, 4, 4, 2, 2);
        using var x = arange(16, dtype: ScalarType.Float32).view(1, 1, 4, 4);
        using var tok = spec.Patchify(x);
        Assert.Equal(new float[] { 2, 3, 6, 7 }, tok[0, 1].data<float>().ToArray());
        Assert.Equal((2, 2), spec.TokenGrid);
    }

    [Fact]
    public void WrongShapesAndBadSpecsGetClearErrors()
    {
        var spec = new GridSpec(3, 32, 32, 4, 4);
        var e = Assert.Throws<ArgumentException>(() => spec.Patchify(zeros(2, 3, 31, 32)));
        Assert.Contains("expected shape (B, 3, 32, 32)", e.Message);
        Assert.Contains("must divide", Assert.Throws<ArgumentException>(() => new SequenceSpec(2, 10, 3).Validate()).Message);
        Assert.Contains("padding id", Assert.Throws<ArgumentException>(() => new TokenSpec(4, 10, 9).Validate()).Message);
    }
}
