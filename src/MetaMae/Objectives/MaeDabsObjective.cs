using MetaMae.Modalities;
using MetaMae.Model;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MetaMae.Objectives;

/// <summary>
/// DABS MAE: no decoder; 15% of token embeddings zeroed (positions kept); the encoder sees all
/// tokens; a head ReLU + Linear(D, values) predicts the masked tokens. Continuous: the unsquared
/// L2 norm of the error per masked token, averaged over masked tokens. Discrete: ReLU + Linear(D, D)
/// and cross-entropy of the logits against the tied embedding table.
/// </summary>
public sealed class MaeDabsObjective : IObjective, IHasHead
{
    private readonly InputSpec spec;
    private readonly double maskRatio;
    public Module Head { get; }
    private readonly Sequential head;

    public MaeDabsObjective(InputSpec spec, ModelConfig model, double maskRatio)
    {
        if (spec is MultiInputSpec)
            throw new NotSupportedException("mae-dabs has one reconstruction head and cannot predict the inputs of " +
                $"a multi-input spec ({spec.Describe()}); use mae, metamae, emix, shed or capri");
        this.spec = spec;
        this.maskRatio = maskRatio;
        head = Sequential(("relu", ReLU()), ("linear", Linear(model.EncDim, spec.IsDiscrete ? model.EncDim : spec.TokenWidth)));
        ObjectiveHelpers.Init(head);
        Head = head;
    }

    public string Name => Algorithms.MaeDabs;

    public LossParts Loss(MetaMaeModel model, Tensor tokens, Generator gen) => Loss(model, tokens, new BatchRandom(gen));

    public LossParts Loss(MetaMaeModel model, Tensor tokens, BatchRandom gen)
    {
        long b = tokens.shape[0];
        var dtype = model.parameters().First().dtype;
        using var m = Masking.Random(b, spec.NumTokens, maskRatio, gen, tokens.device, dtype);
        var z = model.Encode(model.Embed(tokens, zeroMask: m.Mask))[.., 1..];
        var pred = head.forward(z);
        Tensor loss;
        if (spec.IsDiscrete) loss = Losses.Reconstruction(spec, model.TiedLogits(pred), tokens, m.Mask);
        else
        {
            var per = (pred - tokens).square().sum([-1]).add(1e-12).sqrt();    // unsquared L2 per token
            loss = (per * m.Mask).sum() / m.Mask.sum().clamp_min(1);
        }
        return new LossParts(loss, loss.ToDouble(), double.NaN, double.NaN);
    }
}
