using TorchSharp;
using static TorchSharp.torch;
using MetaMae.Runtime;

namespace MetaMae.Model;

/// <summary>
/// Dropout (inverted: kept values scaled by 1/(1-p)) whose mask, on the CPU, is drawn here rather than by libtorch.
/// libtorch's CPU dropout draws every element from a serial generator (bernoulli_, ~10-20 ns an element): at the
/// small preset with p = 0.1 that was a quarter of a training step (results/performance.md, log item 7). Here one
/// draw of libtorch's generator seeds the call (so torch.manual_seed makes runs repeat, as before) and a counter-based
/// hash (SplitMix64, two decisions a hash) gives element i its keep/drop decision, ~1 ns an element. The mask is a
/// constant of the graph: backward (and MetaMAE's double backward) multiply by it, as libtorch's dropout does.
/// In eval mode, at p = 0 and off the CPU (CUDA's dropout is fast) this is libtorch's dropout.
/// </summary>
public sealed class FastDropout : nn.Module<Tensor, Tensor>
{
    private readonly double p;

    public FastDropout(double p) : base(nameof(FastDropout))
    {
        if (p is < 0 or >= 1) throw new ArgumentException($"dropout p must be in [0, 1) (got {p})");
        this.p = p;
    }

    // x: any shape -> the same shape and dtype
    public override Tensor forward(Tensor x)
    {
        if (!training || p == 0 || x.device_type != DeviceType.CPU || !NativeTensor.Available)
            return nn.functional.dropout(x, p, training);
        long seed = randint(long.MaxValue, [1], ScalarType.Int64).item<long>();   // libtorch's generator: manual_seed holds
        using var mask = Mask(x.shape, p, seed);                                   // (x.shape) 0 or 1/(1-p), float32
        return x.dtype == ScalarType.Float32 ? x.mul(mask) : x.mul(mask.to(x.dtype));
    }

    /// <summary>The mask of one call: element i is 0 where its hash falls under p (of 2^32), else 1/(1-p).</summary>
    public static Tensor Mask(long[] shape, double p, long seed)
    {
        var mask = empty(shape, ScalarType.Float32);
        long n = mask.numel();
        uint threshold = (uint)Math.Min(Math.Round(p * 4294967296.0), uint.MaxValue);
        float scale = (float)(1.0 / (1.0 - p));
        unsafe
        {
            float* m = NativeTensor.Floats(mask);
            ulong s = (ulong)seed;
            for (long i = 0; i < n; i += 2)
            {
                ulong z = Mix(s + (ulong)(i >> 1) * 0x9E3779B97F4A7C15UL);
                m[i] = (uint)z >= threshold ? scale : 0f;
                if (i + 1 < n) m[i + 1] = (uint)(z >> 32) >= threshold ? scale : 0f;
            }
        }
        return mask;
    }

    // SplitMix64's finaliser (Steele, Lea, Flood 2014): a bijection of 64 bits with full avalanche
    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
