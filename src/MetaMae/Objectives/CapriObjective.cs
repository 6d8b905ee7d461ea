using MetaMae.Modalities;
using MetaMae.Model;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MetaMae.Objectives;

/// <summary>
/// Capri: 15% of token embeddings zeroed (positions kept), the encoder sees all tokens, a head
/// Linear(D, D) predicts each masked position's clean token embedding; the prediction is contrasted
/// (cosine / temperature 0.07) against the clean embeddings of all positions of the same sequence:
/// the position itself is the positive, the other positions of the same sequence are the negatives.
/// </summary>
public sealed class CapriObjective : IObjective, IHasHead
{
    private readonly double ratio, temperature;
    private readonly Linear head;
    public Module Head => head;

    public CapriObjective(ModelConfig model, double ratio, double temperature)
    {
        this.ratio = ratio;
        this.temperature = temperature;
        head = Linear(model.EncDim, model.EncDim);
        ObjectiveHelpers.Init(head);
    }

    public string Name => Algorithms.Capri;

    /// <summary>Logits (B, L, L): row i of sample b = cos(pred_bi, target_bj) / tau over the positions j of the same sample.</summary>
    public static Tensor Logits(Tensor pred, Tensor target, double tau) =>
        matmul(functional.normalize(pred, p: 2, dim: -1), functional.normalize(target, p: 2, dim: -1).transpose(1, 2)) / tau;

    public LossParts Loss(MetaMaeModel model, Tensor tokens, Generator gen) => Loss(model, tokens, new BatchRandom(gen));

    public LossParts Loss(MetaMaeModel model, Tensor tokens, BatchRandom gen)
    {
        long b = tokens.shape[0];
        var spec = model.Spec;
        var dtype = model.parameters().First().dtype;
        using var m = Masking.Random(b, spec.NumTokens, ratio, gen, tokens.device, dtype);
        var valid = ObjectiveHelpers.NotPadding(spec, tokens, dtype);
        var target = model.TokenEmbedding(tokens);
        var pred = head.forward(model.Encode(model.Embed(tokens, zeroMask: m.Mask))[.., 1..]);
        var logits = Logits(pred, target, temperature);
        logits = logits.masked_fill(valid.eq(0).unsqueeze(1), double.NegativeInfinity);   // padding is never a candidate
        long L = logits.shape[1];
        var ce = functional.cross_entropy(logits.reshape(b * L, L), arange(L, device: tokens.device).repeat(b),
            reduction: Reduction.None).view(b, L);                                // (B, L)
        var sel = m.Mask * valid;
        ce = ce.masked_fill(sel.eq(0), 0);   // unselected (incl. padding rows, which may be -inf everywhere) contribute nothing
        var loss = ce.sum() / sel.sum().clamp_min(1);
        return new LossParts(loss, double.NaN, loss.ToDouble(), double.NaN);
    }
}
