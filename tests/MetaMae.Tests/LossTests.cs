using MetaMae.Modalities;
using MetaMae.Objectives;
using static TorchSharp.torch;

namespace MetaMae.Tests;

public class LossTests
{
    [Fact]
    public void NtXentMatchesAHandComputedValue()
    {
        // B = 2: rows z1, z2 (views 1) and z1*, z2* (views 2)
        double[][] v = [[1, 0], [0, 1], [1, 1], [1, -1]];
        using var z = tensor(v.SelectMany(r => r).ToArray(), [4, 2]);
        double tau = 0.5;
        double Cos(double[] a, double[] b) => (a[0] * b[0] + a[1] * b[1]) / Math.Sqrt((a[0] * a[0] + a[1] * a[1]) * (b[0] * b[0] + b[1] * b[1]));
        int[] pos = [2, 3, 0, 1];
        double total = 0;
        for (int i = 0; i < 4; i++)
        {
            double denom = 0;
            for (int j = 0; j < 4; j++) if (j != i) denom += Math.Exp(Cos(v[i], v[j]) / tau);
            total += -Math.Log(Math.Exp(Cos(v[i], v[pos[i]]) / tau) / denom);
        }
        double expected = total / 4;
        Assert.Equal(expected, Losses.NtXent(z, tau).item<double>(), 12);
        Assert.Equal(1.95018, expected, 4);  // the figure worked out by hand once
    }

    [Fact]
    public void ReconstructionAveragesOverSelectedTokensOnly()
    {
        var spec = new SequenceSpec(1, 4, 2);   // 2 tokens of 2 values
        using var pred = tensor(new float[] { 0, 0, 1, 1 }, [1, 2, 2]);
        using var target = tensor(new float[] { 1, 1, 1, 3 }, [1, 2, 2]);
        using var sel1 = tensor(new float[] { 1, 0 }, [1, 2]);
        using var sel2 = tensor(new float[] { 0, 1 }, [1, 2]);
        using var both = tensor(new float[] { 1, 1 }, [1, 2]);
        Assert.Equal(1.0, Losses.Reconstruction(spec, pred, target, sel1).item<float>(), 6);   // (1+1)/2
        Assert.Equal(2.0, Losses.Reconstruction(spec, pred, target, sel2).item<float>(), 6);   // (0+4)/2
        Assert.Equal(1.5, Losses.Reconstruction(spec, pred, target, both).item<float>(), 6);
    }

    [Fact]
    public void CrossEntropySkipsPaddingTargets()
    {
        var spec = new TokenSpec(3, 2, PadId: 0);
        using var logits = tensor(new float[] { 0, 0, 0, 0, 0, 5 }, [1, 2, 3]);
        using var target = tensor(new long[] { 0, 2 }, [1, 2]);      // first is padding
        using var sel = ones(1, 2);
        double expected = -Math.Log(Math.Exp(5) / (2 + Math.Exp(5)));
        Assert.Equal(expected, Losses.Reconstruction(spec, logits, target, sel).item<float>(), 5);
    }
}
