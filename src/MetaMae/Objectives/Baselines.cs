using MetaMae.Modalities;
using MetaMae.Model;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MetaMae.Objectives;

/// <summary>
/// An objective with its own trainable head (a module outside the model). The pretrainer adds
/// the head's parameters to the optimizer and saves them in checkpoints under "objective.".
/// </summary>
public interface IHasHead
{
    Module Head { get; }
}

/// <summary>The DABS baselines (reference-notes.md "Baselines (DABS)") and their defaults.</summary>
public static class Baselines
{
    public static readonly IReadOnlyList<string> Algorithms = ["mae-dabs", "emix", "shed", "capri"];

    /// <summary>Every --algo value: MetaMAE, MAE with a decoder, and the four DABS baselines.</summary>
    public static readonly IReadOnlyList<string> AllAlgorithms = ["metamae", "mae", "mae-dabs", "emix", "shed", "capri"];

    /// <summary>Default corruption rate (15% for MAE-DABS, ShED, Capri) and temperature (e-Mix 0.2, Capri 0.07).</summary>
    public static (double MaskRatio, double Temperature) Defaults(string algo) => algo switch
    {
        "mae-dabs" => (0.15, 0.5),
        "emix" => (0.15, 0.2),      // e-Mix masks nothing; the ratio is unused
        "shed" => (0.15, 0.5),
        "capri" => (0.15, 0.07),
        _ => throw new ArgumentException($"'{algo}' is not a DABS baseline (expected one of: {string.Join(", ", Algorithms)})"),
    };

    public static IObjective Make(string algo, InputSpec spec, ModelConfig model, ObjectiveOptions o) => algo switch
    {
        "mae-dabs" => new MaeDabsObjective(spec, model, o.MaskRatio),
        "emix" => new EMixObjective(model, o.Temperature),
        "shed" => new ShedObjective(model, o.MaskRatio),
        "capri" => new CapriObjective(model, o.MaskRatio, o.Temperature),
        _ => throw new ArgumentException($"'{algo}' is not a DABS baseline (expected one of: {string.Join(", ", Algorithms)})"),
    };

    /// <summary>A (B, L) 0/1 mask of token positions that are not padding.</summary>
    internal static Tensor NotPadding(InputSpec spec, Tensor tokens, ScalarType dtype) =>
        spec is MultiInputSpec multi ? cat(multi.Inputs.Select((input, i) => NotPadding(input, multi.Unpack(tokens, i), dtype)).ToArray(), 1) :
        spec is TokenSpec { PadId: int pad } ? tokens.ne(pad).to(dtype) : ones(tokens.shape[0], tokens.shape[1], dtype: dtype, device: tokens.device);

    internal static void Init(Module m)
    {
        using var _ = no_grad();
        foreach (var sub in m.modules())
            if (sub is Linear lin)
            {
                init.xavier_uniform_(lin.weight);
                if (lin.bias is not null) init.zeros_(lin.bias);
            }
    }

    /// <summary>k tokens per sample chosen uniformly: (B, k) positions (argsort of uniform noise).</summary>
    public static Tensor ChooseTokens(long batch, int tokens, int k, BatchRandom gen, Device device)
    {
        using var noise = gen.Rand(batch, tokens);
        return argsort(noise, 1)[.., ..k].to(device);
    }
}

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
            throw new NotSupportedException($"mae-dabs has one reconstruction head and cannot predict the inputs of a multi-input spec ({spec.Describe()}); use mae, metamae, emix, shed or capri");
        this.spec = spec;
        this.maskRatio = maskRatio;
        head = Sequential(("relu", ReLU()), ("linear", Linear(model.EncDim, spec.IsDiscrete ? model.EncDim : spec.TokenWidth)));
        Baselines.Init(head);
        Head = head;
    }

    public string Name => "mae-dabs";

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

/// <summary>
/// e-Mix: each sample's token embeddings are mixed with another sample's (a random derangement),
/// lambda ~ Beta(1, 1) folded to >= 0.5; the projections of the mixed inputs are contrasted with
/// the projections of the clean ones (cosine / temperature 0.2) with soft targets lambda on the
/// sample itself and 1 - lambda on its partner. Projector: Linear(D, D) - ReLU - Linear(D, 128).
/// </summary>
public sealed class EMixObjective : IObjective, IHasHead
{
    private readonly double temperature;
    private readonly Sequential projector;
    public Module Head => projector;

    public EMixObjective(ModelConfig model, double temperature)
    {
        this.temperature = temperature;
        projector = Sequential(("0", Linear(model.EncDim, model.EncDim)), ("1", ReLU()), ("2", Linear(model.EncDim, model.ProjDim)));
        Baselines.Init(projector);
    }

    public string Name => "emix";

    /// <summary>lambda ~ Beta(1,1) = U(0,1), folded to max(l, 1-l); partner: a derangement (no sample mixes with itself).</summary>
    public static (Tensor Lambda, Tensor Partner) Draw(long b, Generator gen)
    {
        var u = rand(b, generator: gen, dtype: ScalarType.Float64);
        var lam = maximum(u, 1 - u);
        var perm = randperm(b, generator: gen);
        var partner = zeros(b, dtype: ScalarType.Int64);
        partner.index_put_(perm.roll(-1, 0), perm);                     // partner[perm[k]] = perm[k+1]
        return (lam, partner);
    }

    public LossParts Loss(MetaMaeModel model, Tensor tokens, Generator gen)
    {
        long b = tokens.shape[0];
        var (lam64, partner64) = Draw(b, gen);
        var e = model.TokenEmbedding(tokens);
        var lam = lam64.to(e.dtype, e.device);
        var partner = partner64.to(e.device);
        var l3 = lam.view(b, 1, 1);
        var mixed = l3 * e + (1 - l3) * e.index_select(0, partner);
        var zMix = functional.normalize(projector.forward(Losses.Pool(model.Encode(model.WithPositions(mixed)))), p: 2, dim: -1);
        var zClean = functional.normalize(projector.forward(Losses.Pool(model.Encode(model.WithPositions(e)))), p: 2, dim: -1);
        var logp = functional.log_softmax(matmul(zMix, zClean.t()) / temperature, 1);
        var self = logp.gather(1, arange(b, device: e.device).unsqueeze(1)).squeeze(1);
        var other = logp.gather(1, partner.unsqueeze(1)).squeeze(1);
        var loss = -(lam * self + (1 - lam) * other).mean();
        return new LossParts(loss, double.NaN, loss.ToDouble(), double.NaN);
    }
}

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
        Baselines.Init(head);
    }

    public string Name => "shed";

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
        var sel = Baselines.ChooseTokens(b, L, Count(L, ratio), gen, e.device);   // (B, k)
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
        var valid = Baselines.NotPadding(model.Spec, tokens, e.dtype);
        var per = functional.binary_cross_entropy_with_logits(logits, labels, reduction: Reduction.None);
        var loss = (per * valid).sum() / valid.sum().clamp_min(1);
        return new LossParts(loss, loss.ToDouble(), double.NaN, double.NaN);
    }
}

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
        Baselines.Init(head);
    }

    public string Name => "capri";

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
        var valid = Baselines.NotPadding(spec, tokens, dtype);
        var target = model.TokenEmbedding(tokens);
        var pred = head.forward(model.Encode(model.Embed(tokens, zeroMask: m.Mask))[.., 1..]);
        var logits = Logits(pred, target, temperature);
        logits = logits.masked_fill(valid.eq(0).unsqueeze(1), double.NegativeInfinity);   // padding is never a candidate
        long L = logits.shape[1];
        var ce = functional.cross_entropy(logits.reshape(b * L, L), arange(L, device: tokens.device).repeat(b), reduction: Reduction.None).view(b, L);
        var sel = m.Mask * valid;
        ce = ce.masked_fill(sel.eq(0), 0);   // unselected (incl. padding rows, which may be -inf everywhere) contribute nothing
        var loss = ce.sum() / sel.sum().clamp_min(1);
        return new LossParts(loss, double.NaN, loss.ToDouble(), double.NaN);
    }
}
