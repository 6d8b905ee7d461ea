using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace MetaMae.Model;

/// <summary>
/// LayerNorm over the last dimension whose backward, and the backward of that backward, are each one row-wise kernel
/// (issue 29). libtorch's own LayerNorm has a fused backward, but its double backward is a composite of some thirty
/// elementwise ops and reductions: at the paper decoder's shape (B=256: 16,640 x 128) forward + backward takes 2 ms and
/// forward + create_graph backward + the backward of that 22 ms (`tools/microbench second`), and a second-order MetaMAE
/// step does that for each of the decoder's nine LayerNorms. Here forward is libtorch's (the same values), the backward
/// is two passes over each row (reductions, then outputs), and so is its backward: the row stays in L1 between them.
/// float32 on the CPU only; any other input takes libtorch's LayerNorm (<see cref="Applies"/>). No third derivative (see
/// Backward.Composite). Row chunks are fixed by the shape, so the weight-gradient sums add in the same order on every
/// run. What a backward returns is released through <see cref="CustomAutograd"/>; no collection per step is needed
/// (resident memory flat at 612 MB over 600 small-preset MetaMAE steps without one).
/// </summary>
public static class FusedLayerNorm
{
    /// <summary>Whether the twice-differentiated decode uses these kernels (true); false puts libtorch's LayerNorm back
    /// there, for A/B timings in one process (tools/microbench fused-ln-ab).</summary>
    public static bool Enabled { get; set; } = true;

    /// <summary>Whether <see cref="Apply"/> runs its own kernels on x (float32 CPU tensors, 2 to MaxWidth columns).</summary>
    public static bool Applies(Tensor x, Tensor weight, Tensor bias) =>
        x.dtype == ScalarType.Float32 && weight.dtype == ScalarType.Float32 && bias.dtype == ScalarType.Float32
        && x.device_type == DeviceType.CPU && x.dim() >= 1 && x.shape[^1] is >= 2 and <= MaxWidth;

    /// <summary>The widest row the kernels take (a row's normalised copy lives on the stack).</summary>
    public const int MaxWidth = 8192;

    /// <summary>layer_norm(x, [C], weight, bias, eps): x (.., C) -> (.., C); libtorch's LayerNorm where the kernels
    /// do not apply.</summary>
    public static Tensor Apply(Tensor x, Tensor weight, Tensor bias, double eps)
    {
        if (!Applies(x, weight, bias)) return nn.functional.layer_norm(x, [x.shape[^1]], weight, bias, eps);
        return Forward.apply(x, weight, bias, eps);
    }

    private sealed class Forward : SingleTensorFunction<Forward>
    {
        public override string Name => "FusedLayerNorm";

        public override Tensor forward(AutogradContext ctx, params object[] vars)
        {
            Tensor x = (Tensor)vars[0], w = (Tensor)vars[1], b = (Tensor)vars[2];
            double eps = (double)vars[3];
            long c = x.shape[^1];
            var y = nn.functional.layer_norm(x, [c], w, b, eps);                   // (.., C), libtorch's values
            var xc = x.contiguous();
            var (mean, rstd) = Kernels.Stats(xc, eps);                             // (rows) each
            ctx.save_for_backward([xc, w, mean, rstd]);
            ctx.save_data("eps", eps);
            return y;
        }

        public override List<Tensor> backward(AutogradContext ctx, Tensor gy)
        {
            CustomAutograd.Flush();
            var s = ctx.get_saved_variables();
            Tensor x = s[0], w = s[1], mean = s[2], rstd = s[3];
            List<Tensor> g;
            // create_graph: a node of its own (made outside a scope of ours: TorchSharp keeps tensors of the node there)
            if (is_grad_enabled()) g = Backward.apply(gy, x, w, mean, rstd, (double)ctx.get_data("eps"));
            else
                using (var scope = NewDisposeScope())
                {
                    g = Kernels.Backward(gy.contiguous(), x, w, mean, rstd);
                    scope.MoveToOuter(g);
                }
            var dx = g[0].view(gy.shape);
            g[0].Dispose();
            foreach (var t in s) t.Dispose();
            gy.Dispose();
            return CustomAutograd.Returned([dx, g[1], g[2], null!]);
        }
    }

    /// <summary>(gy, x, w) -> (dx, dw, db), with mean and rstd of x's rows held fixed as inputs of no gradient (the
    /// kernel of the backward accounts for their dependence on x).</summary>
    private sealed class Backward : MultiTensorFunction<Backward>
    {
        private static bool warned;

        public override string Name => "FusedLayerNormBackward";

        public override List<Tensor> forward(AutogradContext ctx, params object[] vars)
        {
            Tensor gy = ((Tensor)vars[0]).contiguous(), x = (Tensor)vars[1], w = (Tensor)vars[2];
            Tensor mean = (Tensor)vars[3], rstd = (Tensor)vars[4];
            ctx.save_for_backward([gy, x, w, mean, rstd]);
            ctx.save_data("eps", (double)vars[5]);
            return Kernels.Backward(gy, x, w, mean, rstd);
        }

        public override List<Tensor> backward(AutogradContext ctx, List<Tensor> grads)
        {
            CustomAutograd.Flush();
            var s = ctx.get_saved_variables();
            Tensor gy = s[0], x = s[1], w = s[2], mean = s[3], rstd = s[4];
            if (is_grad_enabled()) return Composite(grads, gy, x, w, (double)ctx.get_data("eps"));
            List<Tensor> g;
            using (var scope = NewDisposeScope())
            {
                g = Kernels.DoubleBackward(grads[0].contiguous(), grads[1].contiguous(), grads[2].contiguous(),
                    gy, x, w, mean, rstd);
                g = [g[0].view(gy.shape), g[1].view(x.shape), g[2]];
                scope.MoveToOuter(g);
            }
            foreach (var t in s) t.Dispose();
            foreach (var t in grads) t.Dispose();
            return CustomAutograd.Returned([g[0], g[1], g[2], null!, null!, null!]);
        }

        // a backward with create_graph through this one (no caller of ours does that): the same backward in
        // differentiable ops, mean and rstd recomputed from x, and autograd's derivative of it. Its values are right
        // (FusedLayerNormTests); a derivative of them (a third derivative of the LayerNorm) is not: it differed from
        // libtorch's when tried, and an exception cannot cross the native autograd engine, so this warns once.
        private static List<Tensor> Composite(List<Tensor> grads, Tensor gy, Tensor x, Tensor w, double eps)
        {
            if (!warned)
            {
                warned = true;
                Console.Error.WriteLine("warning: FusedLayerNorm: a backward built with create_graph through its " +
                                        "second derivative; a third derivative of it would not be right");
            }
            var (var, mu) = var_mean(x, [-1L], unbiased: false, keepdim: true);
            var r = (var + eps).rsqrt();
            var xhat = (x - mu) * r;                                                // (.., C)
            var a = gy * w;
            var dx = r * (a - a.mean([-1L], keepdim: true) - xhat * (a * xhat).mean([-1L], keepdim: true));
            var lead = Enumerable.Range(0, (int)x.dim() - 1).Select(i => (long)i).ToArray();
            var dw = (gy * xhat).sum(lead);
            var db = gy.sum(lead);
            Tensor[] inputs = [gy, x, w];
            var wanted = inputs.Where(t => t.requires_grad).ToArray();
            var outs = new[] { (dx.view(grads[0].shape), grads[0]), (dw, grads[1]), (db, grads[2]) }
                .Where(o => o.Item1.requires_grad).ToArray();
            var g = wanted.Length == 0 || outs.Length == 0 ? new Tensor[wanted.Length]
                : autograd.grad(outs.Select(o => o.Item1).ToList(), wanted, outs.Select(o => o.Item2).ToList(),
                    create_graph: true, retain_graph: true, allow_unused: true);
            Tensor? For(Tensor t) => Array.IndexOf(wanted, t) is int i and >= 0 ? g[i] : null;
            return [For(gy)!, For(x)!, For(w)!, null!, null!, null!];
        }
    }

    /// <summary>The row kernels. Rows are split into a fixed number of chunks (by the shape alone) run in parallel;
    /// column sums are added per chunk, then over chunks in order.</summary>
    internal static unsafe class Kernels
    {
        [DllImport("LibTorchSharp")]
        private static extern IntPtr THSTensor_data(IntPtr tensor);

        private static float* Ptr(Tensor t) => (float*)THSTensor_data(t.Handle);

        private static (long Rows, int C) Shape(Tensor x) => (x.numel() / x.shape[^1], (int)x.shape[^1]);

        private static int Chunks(long rows) => (int)Math.Min(rows, 64);

        // below this many elements a call runs on the calling thread: handing chunks to the thread pool costs more
        private const long ParallelElements = 1L << 16;

        private static void ForChunks(long rows, int c, Action<int, long, long> body)
        {
            int n = Chunks(rows);
            if (rows * c < ParallelElements)
            {
                for (int k = 0; k < n; k++) body(k, rows * k / n, rows * (k + 1) / n);
                return;
            }
            var options = new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, get_num_threads()) };
            Parallel.For(0, n, options, k => body(k, rows * k / n, rows * (k + 1) / n));
        }

        // vector loads and stores at p + i (unaligned), Vector<float>.Count lanes
        private static Vector<float> L(float* p, int i) => Unsafe.ReadUnaligned<Vector<float>>(p + i);
        private static void S(float* p, int i, Vector<float> v) => Unsafe.WriteUnaligned(p + i, v);
        private static int Lanes => Vector<float>.Count;

        /// <summary>Mean and 1 / sqrt(var + eps) of each row of a contiguous x (.., C): two (rows) tensors.</summary>
        public static (Tensor Mean, Tensor Rstd) Stats(Tensor x, double eps)
        {
            var (rows, c) = Shape(x);
            var mean = empty(rows, ScalarType.Float32);
            var rstd = empty(rows, ScalarType.Float32);
            float* px = Ptr(x), pm = Ptr(mean), pr = Ptr(rstd);
            ForChunks(rows, c, (_, r0, r1) =>
            {
                int vec = c - c % Lanes;
                for (long r = r0; r < r1; r++)
                {
                    float* xr = px + r * c;
                    var acc = Vector<float>.Zero;
                    int i = 0;
                    for (; i < vec; i += Lanes) acc += L(xr, i);
                    float sum = Vector.Sum(acc);
                    for (; i < c; i++) sum += xr[i];
                    float mu = sum / c;
                    var vmu = new Vector<float>(mu);
                    acc = Vector<float>.Zero;
                    for (i = 0; i < vec; i += Lanes) { var d = L(xr, i) - vmu; acc += d * d; }
                    float sq = Vector.Sum(acc);
                    for (; i < c; i++) { float d = xr[i] - mu; sq += d * d; }
                    pm[r] = mu;
                    pr[r] = (float)(1.0 / Math.Sqrt(sq / c + eps));
                }
            });
            return (mean, rstd);
        }

        /// <summary>dx = rstd (a - mean(a) - xhat mean(a xhat)), a = gy w; dw = sum over rows of gy xhat; db = sum of gy.
        /// </summary>
        public static List<Tensor> Backward(Tensor gy, Tensor x, Tensor w, Tensor mean, Tensor rstd)
        {
            var (rows, c) = Shape(x);
            var dx = empty(rows, c);
            int n = Chunks(rows);
            var partW = new float[n * c];
            var partB = new float[n * c];
            float* pg = Ptr(gy), px = Ptr(x), pw = Ptr(w), pm = Ptr(mean), pr = Ptr(rstd), pdx = Ptr(dx);
            ForChunks(rows, c, (k, r0, r1) =>
            {
                fixed (float* accW = &partW[k * c], accB = &partB[k * c])
                {
                    int vec = c - c % Lanes;
                    float* xh = stackalloc float[c];
                    for (long r = r0; r < r1; r++)
                    {
                        float* g = pg + r * c, xr = px + r * c, o = pdx + r * c;
                        float mu = pm[r], rs = pr[r];
                        Vector<float> vmu = new(mu), vrs = new(rs), sa = Vector<float>.Zero, sax = Vector<float>.Zero;
                        int i = 0;
                        for (; i < vec; i += Lanes)
                        {
                            Vector<float> h = (L(xr, i) - vmu) * vrs, gi = L(g, i), a = gi * L(pw, i);
                            S(xh, i, h);
                            sa += a;
                            sax += a * h;
                            S(accW, i, L(accW, i) + gi * h);
                            S(accB, i, L(accB, i) + gi);
                        }
                        float ssa = Vector.Sum(sa), ssax = Vector.Sum(sax);
                        for (; i < c; i++)
                        {
                            float h = (xr[i] - mu) * rs, a = g[i] * pw[i];
                            xh[i] = h;
                            ssa += a;
                            ssax += a * h;
                            accW[i] += g[i] * h;
                            accB[i] += g[i];
                        }
                        float ma = ssa / c, max = ssax / c;
                        Vector<float> vma = new(ma), vmax = new(max);
                        for (i = 0; i < vec; i += Lanes)
                            S(o, i, vrs * (L(g, i) * L(pw, i) - vma - L(xh, i) * vmax));
                        for (; i < c; i++) o[i] = rs * (g[i] * pw[i] - ma - xh[i] * max);
                    }
                }
            });
            return [dx, SumChunks(partW, n, c), SumChunks(partB, n, c)];
        }

        /// <summary>
        /// The backward of <see cref="Backward"/>: given v = dL/d(dx) (rows, C), vw = dL/d(dw) and vb = dL/d(db) (C),
        /// returns dL/d(gy) (rows, C), dL/dx (rows, C) and dL/dw (C). Per row, with xhat = (x - mean) rstd, a = gy w,
        /// N = C, Sv = sum v, Svx = sum v xhat, Sa = sum a, Sax = sum a xhat, Sva = sum v a:
        ///   dL/da = rstd (v - Sv/N - xhat Svx/N)   (so dL/dgy = w dL/da + vw xhat + vb, dL/dw += gy dL/da)
        ///   h = Sva - Sa Sv/N - Sax Svx/N          (dx . v = rstd h)
        ///   G = -rstd/N (a Svx + v Sax) + vw gy    (d/dxhat of everything at fixed rstd)
        ///   dL/dx = -h rstd^2 xhat/N + rstd (G - mean(G) - xhat mean(G xhat))
        /// (xhat's own dependence on x: d xhat_j/d x_k = rstd (delta_jk - 1/N) - rstd xhat_j xhat_k / N, and
        /// d rstd/d x_k = -rstd^2 xhat_k / N.)
        /// </summary>
        public static List<Tensor> DoubleBackward(Tensor v, Tensor vw, Tensor vb, Tensor gy, Tensor x, Tensor w,
            Tensor mean, Tensor rstd)
        {
            var (rows, c) = Shape(x);
            var ggy = empty(rows, c);
            var gx = empty(rows, c);
            int n = Chunks(rows);
            var partW = new float[n * c];
            float* pv = Ptr(v), pvw = Ptr(vw), pvb = Ptr(vb), pg = Ptr(gy), px = Ptr(x), pw = Ptr(w);
            float* pm = Ptr(mean), pr = Ptr(rstd), pgg = Ptr(ggy), pgx = Ptr(gx);
            ForChunks(rows, c, (k, r0, r1) =>
            {
                fixed (float* accW = &partW[k * c])
                {
                    int vec = c - c % Lanes;
                    float* xh = stackalloc float[c];
                    for (long r = r0; r < r1; r++)
                    {
                        float* vr = pv + r * c, g = pg + r * c, xr = px + r * c, oy = pgg + r * c, ox = pgx + r * c;
                        float mu = pm[r], rs = pr[r];
                        Vector<float> vmu = new(mu), vrs = new(rs);
                        Vector<float> sv = default, svx = default, sa = default, sax = default, sva = default;
                        Vector<float> swg = default, swgx = default;
                        int i = 0;
                        for (; i < vec; i += Lanes)
                        {
                            Vector<float> h = (L(xr, i) - vmu) * vrs, gi = L(g, i), vi = L(vr, i);
                            Vector<float> a = gi * L(pw, i), wg = L(pvw, i) * gi;
                            S(xh, i, h);
                            sv += vi;
                            svx += vi * h;
                            sa += a;
                            sax += a * h;
                            sva += vi * a;
                            swg += wg;
                            swgx += wg * h;
                        }
                        float fsv = Vector.Sum(sv), fsvx = Vector.Sum(svx), fsa = Vector.Sum(sa), fsax = Vector.Sum(sax);
                        float fsva = Vector.Sum(sva), fswg = Vector.Sum(swg), fswgx = Vector.Sum(swgx);
                        for (; i < c; i++)
                        {
                            float h = (xr[i] - mu) * rs, a = g[i] * pw[i], wg = pvw[i] * g[i];
                            xh[i] = h;
                            fsv += vr[i];
                            fsvx += vr[i] * h;
                            fsa += a;
                            fsax += a * h;
                            fsva += vr[i] * a;
                            fswg += wg;
                            fswgx += wg * h;
                        }
                        float invN = 1f / c;
                        float mv = fsv * invN, mvx = fsvx * invN;
                        float hh = fsva - fsa * fsv * invN - fsax * fsvx * invN;
                        float f = -rs * invN;
                        float meanG = (f * (fsa * fsvx + fsv * fsax) + fswg) * invN;
                        float meanGx = (f * (2f * fsax * fsvx) + fswgx) * invN;
                        float cx = -hh * rs * rs * invN;
                        Vector<float> vmv = new(mv), vmvx = new(mvx), vf = new(f), vsvx = new(fsvx), vsax = new(fsax);
                        Vector<float> vmeanG = new(meanG), vmeanGx = new(meanGx), vcx = new(cx);
                        for (i = 0; i < vec; i += Lanes)
                        {
                            Vector<float> vi = L(vr, i), h = L(xh, i), gi = L(g, i), wi = L(pw, i), vwi = L(pvw, i);
                            var da = vrs * (vi - vmv - h * vmvx);
                            S(oy, i, wi * da + vwi * h + L(pvb, i));
                            S(accW, i, L(accW, i) + gi * da);
                            var gg = vf * (gi * wi * vsvx + vi * vsax) + vwi * gi;
                            S(ox, i, vcx * h + vrs * (gg - vmeanG - h * vmeanGx));
                        }
                        for (; i < c; i++)
                        {
                            float da = rs * (vr[i] - mv - xh[i] * mvx);
                            float a = g[i] * pw[i];
                            oy[i] = pw[i] * da + pvw[i] * xh[i] + pvb[i];
                            accW[i] += g[i] * da;
                            float gi = f * (a * fsvx + vr[i] * fsax) + pvw[i] * g[i];
                            ox[i] = cx * xh[i] + rs * (gi - meanG - xh[i] * meanGx);
                        }
                    }
                }
            });
            return [ggy, gx, SumChunks(partW, n, c)];
        }

        private static Tensor SumChunks(float[] parts, int n, int c)
        {
            var total = new float[c];
            for (int k = 0; k < n; k++)
                for (int i = 0; i < c; i++) total[i] += parts[k * c + i];
            return tensor(total);
        }
    }
}
