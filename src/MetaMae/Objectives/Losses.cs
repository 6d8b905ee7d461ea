using MetaMae.Modalities;
using MetaMae.Model;
using MetaMae.Training;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MetaMae.Objectives;

public static class Losses
{
    /// <summary>
    /// Reconstruction loss over selected tokens: averaged, sum(loss * sel) / sum(sel), or with sum
    /// the plain sum(loss * sel) (Eq. 1's sum over tokens). Per token: d of its values (distance: mse =
    /// mean of squares, sq-l2 = sum of squares, l2 = the norm), or cross-entropy over the vocabulary.
    /// pred: (B, L, P) or logits (B, L, V); target: (B, L, P) or ids (B, L); sel: (B, L) 0/1.
    /// For token inputs with a padding id, padding targets are never selected.
    /// </summary>
    public static Tensor Reconstruction(InputSpec spec, Tensor pred, Tensor target, Tensor sel,
        InnerDistance distance = InnerDistance.Mse,
        bool sum = false)
    {
        Tensor per;                                                               // (B, L)
        if (spec.IsDiscrete)
        {
            long b = target.shape[0], l = target.shape[1];
            per = functional.cross_entropy(pred.reshape(b * l, -1), target.reshape(b * l), reduction: Reduction.None).view(b, l);
            if (spec is TokenSpec { PadId: int pad }) sel = sel * target.ne(pad).to(sel.dtype);
        }
        else
        {
            per = Distance(pred - target, distance);
        }
        var total = (per * sel).sum();
        return sum ? total : total / sel.sum().clamp_min(1);
    }

    /// <summary>
    /// Reconstruction loss of the decoder's predictions from a latent on the selected tokens sel (B, L).
    /// One input: Reconstruction of model.Decode. Several: each input's own loss (MSE or cross-entropy,
    /// padding excluded) averaged over its own selected tokens, then the mean over inputs. With sum (the
    /// paper's inner loss, Eq. 1): the sum over every selected token of every input instead; distance is
    /// d of continuous tokens (Losses.Distance).
    /// </summary>
    public static Tensor Reconstruction(MetaMaeModel model, Tensor latent, Tensor? idsRestore, Tensor tokens, Tensor sel,
        InnerDistance distance = InnerDistance.Mse, bool sum = false)
    {
        if (model.Spec is not MultiInputSpec multi)
            return Reconstruction(model.Spec, model.Decode(latent, idsRestore), tokens, sel, distance, sum);
        var preds = model.DecodeInputHiddens(latent, idsRestore);
        var segs = multi.Segments;
        Tensor? total = null;
        for (int i = 0; i < segs.Count; i++)
        {
            var target = multi.Unpack(tokens, i);
            var s = sel.narrow(1, segs[i].Offset, segs[i].Length);
            Tensor l;
            if (!segs[i].Input.IsDiscrete) l = Reconstruction(segs[i].Input, preds[i], target, s, distance, sum);
            else
            {
                // cross-entropy at the selected, non-padding positions only: the same value as
                // the one-input Reconstruction on full logits, without the (B, L, V) logits of unselected rows
                if (segs[i].Input is TokenSpec { PadId: int pad }) s = s * target.ne(pad).to(s.dtype);
                var idx = s.reshape(-1).nonzero().squeeze(1);
                var h = preds[i].reshape(-1, preds[i].shape[2]).index_select(0, idx);
                var logits = matmul(h, model.InputTable(i).t());
                var ids = target.reshape(-1).index_select(0, idx);
                var ce = functional.cross_entropy(logits, ids, reduction: Reduction.None);
                l = (ce * s.reshape(-1).index_select(0, idx)).sum();
                if (!sum) l = l / s.sum().clamp_min(1);
            }
            total = total is null ? l : total + l;
        }
        return sum ? total! : total! / segs.Count;
    }

    /// <summary>d per token of a difference diff (B, L, P) -> (B, L): mse, sq-l2 or l2 (ObjectiveOptions.Distance).</summary>
    public static Tensor Distance(Tensor diff, InnerDistance distance) => distance switch
    {
        InnerDistance.Mse => diff.square().mean([-1]),
        InnerDistance.SqL2 => diff.square().sum([-1]),
        // libtorch's norm backward is 0 (not NaN) where a token is reconstructed exactly
        InnerDistance.L2 => linalg.vector_norm(diff, 2, [-1]),
        _ => throw new ArgumentException(
            $"--distance must be one of {string.Join(", ", EnumNames<InnerDistance>.All)} (got {distance})"),
    };

    /// <summary>
    /// Symmetric NT-Xent (SimCLR) over 2B vectors: rows i and i+B are each other's positive, a row
    /// is never its own negative; cosine similarity over temperature tau; mean over the 2B rows,
    /// which equals Eq. (3) averaged over the batch. z: (2B, d).
    /// </summary>
    public static Tensor NtXent(Tensor z, double tau)
    {
        long n = z.shape[0];
        if (n % 2 != 0 || n < 4) throw new ArgumentException($"NT-Xent needs 2B rows with B >= 2 (got {n})");
        long b = n / 2;
        var zn = functional.normalize(z, p: 2, dim: -1);
        var sim = matmul(zn, zn.t()) / tau;
        var eye = torch.eye(n, dtype: ScalarType.Bool, device: z.device);
        sim = sim.masked_fill(eye, double.NegativeInfinity);
        var target = cat([arange(b, n, device: z.device), arange(0, b, device: z.device)]);
        return functional.cross_entropy(sim, target);
    }

    /// <summary>
    /// The lowest value <see cref="NtXent"/> can take for a batch of B pairs at temperature tau (issue 34): each pair's
    /// two views identical (cosine 1) and the B pair directions a regular simplex (cosine -1 / (B - 1) between pairs,
    /// the most spread B unit vectors can be), so every row sees 2B - 2 negatives at that cosine:
    /// log(1 + (2B - 2) exp(-(1 + 1 / (B - 1)) / tau)). 2.1823 for B = 32, tau = 0.5. Near it, the term sends
    /// almost no gradient.
    /// </summary>
    public static double NtXentFloor(int batch, double tau)
    {
        if (batch < 2) throw new ArgumentException($"NT-Xent needs B >= 2 (got {batch})");
        return Math.Log(1 + (2.0 * batch - 2) * Math.Exp(-(1 + 1.0 / (batch - 1)) / tau));
    }

    /// <summary>Mean over the non-CLS rows of a latent (B, 1+n, D) -> (B, D).</summary>
    public static Tensor Pool(Tensor latent) => latent[.., 1..].mean([1]);
}
