using System.Numerics;
using System.Runtime.CompilerServices;
using TorchSharp;
using static TorchSharp.torch;
using MetaMae.Runtime;

namespace MetaMae.Training;

/// <summary>
/// One parameter's AdamW (or Adam with L2 decay) update as one pass over its elements, for float32 CPU tensors: the
/// same arithmetic as <see cref="AdamW"/>'s libtorch ops (decay, both moments, bias-corrected step), which take nine
/// passes and nine dispatches a parameter: at the small preset's ~100 parameters the dispatches, at the paper preset's
/// ~10M weights the passes over memory (results/performance.md item 16: the step's optimizer phase 6-20 ms before,
/// 2-7 ms after). Elements are independent, so chunking cannot change a result: a seed repeats a
/// run, and a resumed run continues bit for bit.
/// </summary>
internal static unsafe class AdamWKernel
{
    /// <summary>Elements a worker takes at least: below this the update runs on the calling thread.</summary>
    private const long ChunkElements = 1 << 16;

    /// <summary>Whether p, its gradient and moments can take the kernel: float32, CPU, contiguous, one size.</summary>
    public static bool Applies(Tensor p, Tensor g, Tensor m, Tensor v) =>
        p.device_type == DeviceType.CPU && g.device_type == DeviceType.CPU
        && p.dtype == ScalarType.Float32 && g.dtype == ScalarType.Float32
        && m.dtype == ScalarType.Float32 && v.dtype == ScalarType.Float32
        && p.is_contiguous() && g.is_contiguous() && m.is_contiguous() && v.is_contiguous()
        && g.numel() == p.numel() && m.numel() == p.numel() && v.numel() == p.numel();

    /// <summary>The coefficients of one step, as the op path rounds them to float32: Decay, p's factor before the step
    /// (decoupled: 1 - lr wd; else 1); L2, g's added multiple of p (Adam's L2 decay: wd; else 0); the betas and one
    /// minus each (rounded from double, as the ops' alpha is); StepSize, -lr / (1 - beta1^t); Bc2Sqrt,
    /// sqrt(1 - beta2^t); Eps.</summary>
    public readonly record struct Coefficients(float Decay, float L2, float Beta1, float OneMinusBeta1, float Beta2,
        float OneMinusBeta2, float StepSize, float Bc2Sqrt, float Eps);

    /// <summary>p, m, v updated in place from g: m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
    /// p = decay p + step m / (sqrt(v) / bc2sqrt + eps), with g + l2 p for g where l2 is set.</summary>
    public static void Update(Tensor p, Tensor g, Tensor m, Tensor v, Coefficients c)
    {
        long n = p.numel();
        float* pp = NativeTensor.Floats(p), pg = NativeTensor.Floats(g);
        float* pm = NativeTensor.Floats(m), pv = NativeTensor.Floats(v);
        int chunks = (int)Math.Clamp(n / ChunkElements, 1, Math.Max(1, get_num_threads()));
        if (chunks == 1)
        {
            Range(pp, pg, pm, pv, 0, n, c);
            return;
        }
        var options = new ParallelOptions { MaxDegreeOfParallelism = chunks };
        Parallel.For(0, chunks, options, k => Range(pp, pg, pm, pv, n * k / chunks, n * (k + 1) / chunks, c));
    }

    private static void Range(float* p, float* g, float* m, float* v, long from, long to, Coefficients c)
    {
        int lanes = Vector<float>.Count;
        Vector<float> decay = new(c.Decay), l2 = new(c.L2), b1 = new(c.Beta1), a1 = new(c.OneMinusBeta1),
            b2 = new(c.Beta2), a2 = new(c.OneMinusBeta2), step = new(c.StepSize), bc2 = new(c.Bc2Sqrt), eps = new(c.Eps);
        bool withL2 = c.L2 != 0, decayed = c.Decay != 1;
        long i = from;
        for (; i + lanes <= to; i += lanes)
        {
            var gi = L(g + i);
            var pi = L(p + i);
            if (withL2) gi += l2 * pi;
            if (decayed) pi *= decay;
            var mi = L(m + i) * b1 + a1 * gi;
            var vi = L(v + i) * b2 + a2 * gi * gi;
            var denom = Vector.SquareRoot(vi) / bc2 + eps;
            S(m + i, mi);
            S(v + i, vi);
            S(p + i, pi + step * mi / denom);
        }
        for (; i < to; i++)
        {
            float gi = g[i], pi = p[i];
            if (withL2) gi += c.L2 * pi;
            if (decayed) pi *= c.Decay;
            float mi = m[i] * c.Beta1 + c.OneMinusBeta1 * gi;
            float vi = v[i] * c.Beta2 + c.OneMinusBeta2 * gi * gi;
            float denom = MathF.Sqrt(vi) / c.Bc2Sqrt + c.Eps;
            m[i] = mi;
            v[i] = vi;
            p[i] = pi + c.StepSize * mi / denom;
        }
    }

    private static Vector<float> L(float* p) => Unsafe.ReadUnaligned<Vector<float>>(p);
    private static void S(float* p, Vector<float> x) => Unsafe.WriteUnaligned(p, x);
}
