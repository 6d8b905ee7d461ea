using MetaMae.Modalities;
using MetaMae.Model;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MetaMae.Objectives;

/// <summary>
/// ShED: 15% of the token positions of each sample are selected and their token embeddings are
/// cyclically shifted among the selected positions (each selected position receives the next one's
/// embedding, so every selected position is moved); positions are then added and the encoder
/// runs; a per-token binary head Linear(D, 1) predicts "was this token moved" (BCE over all non-padding tokens).
/// </summary>
public sealed class ShedObjective : IObjective, IHasHead
{
    private readonly double ratio;
    private readonly Linear head;
    public Module Head => head;

    public ShedObjective(ModelConfig model, double ratio)
    {
        this.ratio = ratio;
        head = Linear(model.EncDim, 1);
        ObjectiveHelpers.Init(head);
    }

    public string Name => Algorithms.Shed;

    /// <summary>Selected positions per sample: max(2, round(ratio * L)).</summary>
    public static int Count(int tokens, double ratio)
    {
        int k = Math.Max(2, (int)Math.Round(ratio * tokens));
        if (k > tokens) throw new ArgumentException($"ShED needs at least 2 tokens per sample (got {tokens})");
        return k;
    }

    /// <summary>The shuffled embeddings and 0/1 labels (B, L): selected positions get the next selected position's embedding.</summary>
    public static (Tensor Shuffled, Tensor Labels, Tensor Selected, Tensor Source) Shift(Tensor e, double ratio, BatchRandom gen)
    {
        long b = e.shape[0], d = e.shape[2];
        int L = (int)e.shape[1];
        var sel = ObjectiveHelpers.ChooseTokens(b, L, Count(L, ratio), gen, e.device);   // (B, k)
        var src = sel.roll(-1, 1);                                              // cyclic shift among the selected
        var moved = gather(e, 1, src.unsqueeze(-1).expand(-1, -1, d));
        var shuffled = e.scatter(1, sel.unsqueeze(-1).expand(-1, -1, d), moved);
        var labels = zeros(b, L, dtype: e.dtype, device: e.device).scatter(1, sel, ones(sel.shape, dtype: e.dtype, device: e.device));
        return (shuffled, labels, sel, src);
    }

    public LossParts Loss(MetaMaeModel model, Tensor tokens, Generator gen) => Loss(model, tokens, new BatchRandom(gen));

    public LossParts Loss(MetaMaeModel model, Tensor tokens, BatchRandom gen)
    {
        var e = model.TokenEmbedding(tokens);
        var (shuffled, labels, _, _) = Shift(e, ratio, gen);
        var logits = head.forward(model.Encode(model.WithPositions(shuffled))[.., 1..]).squeeze(-1);   // (B, L)
        var valid = ObjectiveHelpers.NotPadding(model.Spec, tokens, e.dtype);
        var per = functional.binary_cross_entropy_with_logits(logits, labels, reduction: Reduction.None);
        var loss = (per * valid).sum() / valid.sum().clamp_min(1);
        return new LossParts(loss, loss.ToDouble(), double.NaN, double.NaN);
    }
}
