using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.autograd;

namespace MetaMae.Model;

/// <summary>
/// softmax(scale q k^T) v in bounded memory, twice differentiable: for long sequences in the decoder, whose
/// attention MetaMAE differentiates twice. Plain autograd keeps the (B, H, N, N) attention map of every block
/// and several more of the same size for the second derivative; here no N x N map outlives a chunk of query
/// rows. The forward keeps q, k, v; its backward is itself a custom function (<see cref="Backward"/>, keeping
/// q, k, v and dO) that recomputes each chunk's map; the backward of that (the second derivative, run by the
/// outer loss's backward) recomputes each chunk once more under autograd and takes vector-Jacobian products.
/// Cost: about two extra attention forwards per derivative. Differentiable twice, not three times (the
/// innermost backward works on detached copies).
/// </summary>
public static class ChunkedAttention
{
    /// <summary>
    /// The largest (B, H, N, N) attention map, in bytes, that the decoder computes whole; a larger one is computed
    /// in chunks of query rows whose maps stay under it. 256 MiB: every configuration of the paper's datasets and
    /// of the speed benchmarks (L &lt;= 257) stays plain and fast; the paper preset on L = 512 proteins (B = 32, 16
    /// heads: 539 MB per map, about 11 GB peak) is chunked. METAMAE_ATTENTION_MAP_MB=N sets it for the process
    /// (0 never chunks), e.g. 32 to trade speed for memory on long sequences with the tiny preset.
    /// </summary>
    public static long MapBudgetBytes { get; } = BudgetFromEnvironment();

    private static double budgetScale = 1;

    /// <summary>The factor every attention-map threshold (this budget, SelfAttention's bf16 explicit limit) is read
    /// with: 1, except inside <see cref="ScaleBudgets"/>.</summary>
    public static double BudgetScale => budgetScale;

    /// <summary>
    /// Multiplies the attention-map thresholds by factor until the returned scope is disposed: a step at batch b with
    /// factor b / B chunks (and picks its kernels) as the step at batch B does, so its memory scales with the batch
    /// (Training/MemoryEstimate's calibration steps). Not nested; one thread.
    /// </summary>
    public static IDisposable ScaleBudgets(double factor)
    {
        if (!(factor > 0)) throw new ArgumentException($"budget factor must be > 0 (got {factor})");
        var before = budgetScale;
        budgetScale = factor;
        return new Restore(() => budgetScale = before);
    }

    private sealed class Restore(Action undo) : IDisposable
    {
        private Action? undo = undo;
        public void Dispose() { undo?.Invoke(); undo = null; }
    }

    private static long BudgetFromEnvironment()
    {
        var v = Environment.GetEnvironmentVariable("METAMAE_ATTENTION_MAP_MB");
        if (string.IsNullOrEmpty(v)) return 256L << 20;
        return long.TryParse(v, out long mb) && mb >= 0 ? mb << 20
            : throw new ArgumentException($"environment variable METAMAE_ATTENTION_MAP_MB='{v}': expected a whole number of MB >= 0");
    }

    /// <summary>
    /// Query rows per chunk for a (b, h, n, n) map of elementBytes-sized values under budget bytes: 0 when the whole
    /// map fits (plain attention), else at least 16 rows.
    /// </summary>
    public static int RowsFor(long b, long h, long n, int elementBytes, long budget)
    {
        if (budget <= 0 || b * h * n * n * elementBytes <= budget) return 0;
        return (int)Math.Clamp(budget / (b * h * n * elementBytes), 16, n);
    }

    private static int applied;

    /// <summary>q, k, v: (B, H, N, d) -> (B, H, N, d), computed over chunks of at most chunk query rows.</summary>
    public static Tensor Apply(Tensor q, Tensor k, Tensor v, double scale, int chunk)
    {
        if (chunk < 1) throw new ArgumentException($"attention chunk must be >= 1 (got {chunk})");
        if (is_grad_enabled()) Interlocked.Exchange(ref applied, 1);
        return Forward.apply(q, k, v, scale, chunk);
    }

    /// <summary>
    /// Call after a training step (its dispose scope closed): when the step ran a chunked attention with autograd,
    /// runs a .NET garbage collection. TorchSharp 0.107 keeps what a custom autograd function saved (q, k, v, dO of
    /// every block) alive until the managed objects of its graph are finalized, and the GC does not see that native
    /// memory: measured on tiny tokens L = 512, B = 16, chunks of 64, resident memory grew 1355 -> 4564 MB over 8
    /// steps without a collection and stayed at 1156 MB with one per step. A no-op for steps without chunking.
    /// </summary>
    public static void ReleaseAfterStep()
    {
        if (Interlocked.Exchange(ref applied, 0) == 0) return;
        GC.Collect();
        GC.WaitForPendingFinalizers();
    }

    private static IEnumerable<(long Start, long Length)> Chunks(long n, int chunk)
    {
        for (long s = 0; s < n; s += chunk) yield return (s, Math.Min(chunk, n - s));
    }

    /// <summary>Rows r of the attention: qr (B, H, c, d), k, v (B, H, N, d) -> (B, H, c, d). Every temporary is
    /// disposed here: these run inside autograd callbacks, where no dispose scope of the caller frees them.</summary>
    private static Tensor Rows(Tensor qr, Tensor k, Tensor v, double scale)
    {
        using var kt = k.transpose(-1, -2);
        using var s = matmul(qr, kt);                                               // (B, H, c, N)
        using var p = nn.functional.softmax(s.mul_(scale), -1);                     // (B, H, c, N)
        return matmul(p, v);
    }

    /// <summary>
    /// What query rows r contribute to the gradients given dO of those rows, in differentiable ops:
    /// dq_r (B, H, c, d), and the parts of dk, dv (B, H, N, d). P = softmax(S), dS = P * (dP - rowsum(dP * P)).
    /// Temporaries are disposed here (autograd keeps what it needs).
    /// </summary>
    private static (Tensor Dq, Tensor Dk, Tensor Dv) RowGrads(Tensor qr, Tensor k, Tensor v, Tensor dor, double scale)
    {
        using var kt = k.transpose(-1, -2);
        using var vt = v.transpose(-1, -2);
        using var s = matmul(qr, kt);                                               // (B, H, c, N)
        using var ss = s * scale;
        using var p = nn.functional.softmax(ss, -1);                                // (B, H, c, N)
        using var pt = p.transpose(-1, -2);
        var dv = matmul(pt, dor);                                                   // (B, H, N, d)
        using var dp = matmul(dor, vt);                                             // (B, H, c, N)
        using var dpp = dp * p;
        using var rs = dpp.sum(-1, keepdim: true);                                  // (B, H, c, 1)
        using var centred = dp - rs;
        using var ds = p * centred;                                                 // (B, H, c, N)
        using var dst = ds.transpose(-1, -2);
        using var dq0 = matmul(ds, k);
        using var dk0 = matmul(dst, qr);
        return (dq0 * scale, dk0 * scale, dv);                                      // (B, H, c, d), (B, H, N, d) x 2
    }

    private sealed class Forward : SingleTensorFunction<Forward>
    {
        public override string Name => "ChunkedAttention";

        public override Tensor forward(AutogradContext ctx, params object[] vars)
        {
            Tensor q = (Tensor)vars[0], k = (Tensor)vars[1], v = (Tensor)vars[2];
            double scale = (double)vars[3];
            int chunk = (int)vars[4];
            ctx.save_for_backward([q, k, v]);
            ctx.save_data("scale", scale);
            ctx.save_data("chunk", chunk);
            var parts = new List<Tensor>();
            foreach (var (s, len) in Chunks(q.shape[2], chunk))
                using (var qr = q.narrow(2, s, len)) parts.Add(Rows(qr, k, v, scale));
            var o = cat(parts, 2);                                                  // (B, H, N, d)
            foreach (var t in parts) t.Dispose();
            return o;
        }

        public override List<Tensor> backward(AutogradContext ctx, Tensor grad)
        {
            var saved = ctx.get_saved_variables();
            double scale = (double)ctx.get_data("scale");
            int chunk = (int)ctx.get_data("chunk");
            // a first derivative (no create_graph): computed here; a node of Backward only where autograd records
            var g = is_grad_enabled() ? Backward.apply(saved[0], saved[1], saved[2], grad, scale, chunk)
                : Grads(saved[0], saved[1], saved[2], grad, scale, chunk);
            return [g[0], g[1], g[2], null!, null!];
        }
    }

    /// <summary>(q, k, v, dO) -> (dq, dk, dv) chunk by chunk; its own backward recomputes (the second derivative).</summary>
    private sealed class Backward : MultiTensorFunction<Backward>
    {
        public override string Name => "ChunkedAttentionBackward";

        public override List<Tensor> forward(AutogradContext ctx, params object[] vars)
        {
            Tensor q = (Tensor)vars[0], k = (Tensor)vars[1], v = (Tensor)vars[2], dO = (Tensor)vars[3];
            double scale = (double)vars[4];
            int chunk = (int)vars[5];
            ctx.save_for_backward([q, k, v, dO]);
            ctx.save_data("scale", scale);
            ctx.save_data("chunk", chunk);
            return Grads(q, k, v, dO, scale, chunk);
        }

        public override List<Tensor> backward(AutogradContext ctx, List<Tensor> grads) => Second(ctx, grads);
    }

    /// <summary>(dq, dk, dv) of the attention given dO, chunk by chunk, without autograd.</summary>
    private static List<Tensor> Grads(Tensor q, Tensor k, Tensor v, Tensor dO, double scale, int chunk)
    {
        {
            var dq = zeros_like(q);
            var dk = zeros_like(k);
            var dv = zeros_like(v);
            foreach (var (s, len) in Chunks(q.shape[2], chunk))
            {
                using var qr = q.narrow(2, s, len);
                using var dor = dO.narrow(2, s, len);
                using var dqr = dq.narrow(2, s, len);
                var (a, b, c) = RowGrads(qr, k, v, dor, scale);
                using (a) using (b) using (c)
                {
                    dqr.copy_(a);
                    dk.add_(b);
                    dv.add_(c);
                }
            }
            return [dq, dk, dv];
        }
    }

    /// <summary>The second derivative: gradients of (q, k, v, dO) given those of (dq, dk, dv), recomputed per chunk.</summary>
    private static List<Tensor> Second(AutogradContext ctx, List<Tensor> grads)
    {
        {
            var saved = ctx.get_saved_variables();
            Tensor q = saved[0], k = saved[1], v = saved[2], dO = saved[3];
            double scale = (double)ctx.get_data("scale");
            int chunk = (int)ctx.get_data("chunk");
            Tensor gq = grads[0], gk = grads[1], gv = grads[2];
            var outQ = zeros_like(q);
            var outK = zeros_like(k);
            var outV = zeros_like(v);
            var outO = zeros_like(dO);
            using var _ = enable_grad();
            foreach (var (s, len) in Chunks(q.shape[2], chunk))
            {
                using var qn = q.narrow(2, s, len);
                using var dn = dO.narrow(2, s, len);
                using var gqr = gq.narrow(2, s, len);
                using var qr = qn.detach().requires_grad_();
                using var kk = k.detach().requires_grad_();
                using var vv = v.detach().requires_grad_();
                using var dor = dn.detach().requires_grad_();
                var (a, b, c) = RowGrads(qr, kk, vv, dor, scale);
                using (a) using (b) using (c)
                {
                    var r = grad([a, b, c], [qr, kk, vv, dor], [gqr, gk, gv]);
                    using var noGrad = no_grad();
                    using (var oq = outQ.narrow(2, s, len)) oq.add_(r[0]);
                    outK.add_(r[1]);
                    outV.add_(r[2]);
                    using (var oo = outO.narrow(2, s, len)) oo.add_(r[3]);
                    foreach (var t in r) t.Dispose();
                }
            }
            return [outQ, outK, outV, outO, null!, null!];
        }
    }
}
