using System.Text.Json.Serialization;
using MetaMae.Model;
using MetaMae.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MetaMae.Objectives;

/// <summary>Scaling of MetaMAE's inner (support) loss.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<InnerLossScaling>))]
public enum InnerLossScaling
{
    /// <summary>The authors' code (and the pinned losses): the batch-mean support loss times B, i.e. per sample the
    /// MEAN of d over its support tokens.</summary>
    [JsonStringEnumMemberName("reference")] Reference,
    /// <summary>Eq. 1: per sample the SUM of d over its support tokens, so a token's latent moves by alpha x d'(token)
    /// whatever the number of support tokens.</summary>
    [JsonStringEnumMemberName("paper")] Paper,
}

/// <summary>d of the inner loss for continuous tokens (token inputs always use cross-entropy).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<InnerDistance>))]
public enum InnerDistance
{
    /// <summary>The mean of squares over a token's values (the authors' code).</summary>
    [JsonStringEnumMemberName("mse")] Mse,
    /// <summary>The sum of squares (P times mse for P values per token).</summary>
    [JsonStringEnumMemberName("sq-l2")] SqL2,
    /// <summary>The unsquared norm, Eq. 1's l2.</summary>
    [JsonStringEnumMemberName("l2")] L2,
}

/// <summary>How the task-contrastive projector's BatchNorm sees the two views (issue 34).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ProjectorBatchNorm>))]
public enum ProjectorBatchNorm
{
    /// <summary>The authors' code: the projector runs once per view (pool Z, then pool Z*), so each view is
    /// normalised with its own batch statistics.</summary>
    [JsonStringEnumMemberName("per-view")] PerView,
    /// <summary>Before issue 34: one call on both views concatenated (2B rows), statistics shared by the views.
    /// Runs stored before the switch existed load as this.</summary>
    [JsonStringEnumMemberName("joint")] Joint,
}

/// <summary>
/// Switches of MetaMAE (paper Eq. 2-5, Algorithm 1). With Adapt = false and Lambda = 0 this is plain
/// MAE with a Transformer decoder (Table 4 row 2); Adapt without contrast is row 3; all on is row 4.
/// </summary>
public sealed record ObjectiveOptions
{
    /// <summary>Fraction of tokens masked (query set); per dataset (Table 8).</summary>
    public double MaskRatio { get; init; } = 0.5;
    /// <summary>Latent adaptation on/off (gradient-based meta-learning).</summary>
    public bool Adapt { get; init; } = true;
    /// <summary>Inner step size alpha on the latent (Table 8: 0.1 to 1.0).</summary>
    public double Alpha { get; init; } = 0.5;
    /// <summary>Inner steps k (Table 15: one is enough).</summary>
    public int InnerSteps { get; init; } = 1;
    /// <summary>Second-order gradients through the inner step (the paper's default); false detaches it.</summary>
    public bool SecondOrder { get; init; } = true;
    /// <summary>Nearby-S ratio r: each masked neighbour of a visible token joins the support set with probability r (0.1).</summary>
    public double NearbyRatio { get; init; } = 0.1;
    /// <summary>Weight lambda of the task-contrastive loss; 0 turns it off.</summary>
    public double Lambda { get; init; } = 1.0;
    /// <summary>NT-Xent temperature tau (0.5).</summary>
    public double Temperature { get; init; } = 0.5;
    /// <summary>
    /// Scaling of the inner (support) loss. "reference" (default: the authors' code, and what the pinned
    /// losses hold): the batch-mean support loss times B, i.e. per sample the MEAN of d over its support
    /// tokens. "paper": Eq. 1, per sample the SUM of d over its support tokens, so a token's latent
    /// moves by alpha * d'(token) whatever the number of support tokens s. The outer loss is a mean in both.
    /// </summary>
    public InnerLossScaling InnerLoss { get; init; } = InnerLossScaling.Reference;
    /// <summary>
    /// d of the inner loss for continuous tokens: "mse" (default: the authors' code, the mean of squares
    /// over a token's values), "sq-l2" (the sum of squares) or "l2" (the unsquared norm, Eq. 1's
    /// l2). Token inputs always use cross-entropy; the outer loss always uses mse.
    /// </summary>
    public InnerDistance Distance { get; init; } = InnerDistance.Mse;

    /// <summary>Projector BatchNorm per view (the authors') or over both views at once (<see cref="ProjectorBatchNorm"/>).
    /// </summary>
    public ProjectorBatchNorm ProjectorBatchNorm { get; init; } = ProjectorBatchNorm.PerView;
    /// <summary>
    /// Fewest visible tokens per sample (mae and metamae). 1, the default, is the authors' int(L x (1 - ratio)):
    /// Table 8's ratios then leave 1-2 visible tokens on small grids (9 tokens at 0.85 keep 1). A larger value
    /// keeps that many whatever the ratio (a departure from the paper, for such grids).
    /// </summary>
    public int MinVisible { get; init; } = 1;


    public void Validate()
    {
        if (MaskRatio is <= 0 or >= 1) throw new ArgumentException($"--mask-ratio must be in (0, 1) (got {MaskRatio})");
        if (Alpha < 0 || double.IsNaN(Alpha)) throw new ArgumentException($"--alpha must be >= 0 (got {Alpha})");
        if (InnerSteps < 1) throw new ArgumentException($"--inner-steps must be >= 1 (got {InnerSteps})");
        if (NearbyRatio is < 0 or > 1) throw new ArgumentException($"--r must be in [0, 1] (got {NearbyRatio})");
        if (Lambda < 0 || double.IsNaN(Lambda)) throw new ArgumentException($"--lambda must be >= 0 (got {Lambda})");
        if (Temperature <= 0) throw new ArgumentException($"--temperature must be > 0 (got {Temperature})");
        if (MinVisible < 1) throw new ArgumentException($"--min-visible must be >= 1 (got {MinVisible})");
        if (!Enum.IsDefined(ProjectorBatchNorm))
            throw new ArgumentException($"--projector-bn must be per-view or joint (got {ProjectorBatchNorm})");
        if (!Enum.IsDefined(InnerLoss))
            throw new ArgumentException($"--inner-loss must be one of {string.Join(", ", EnumNames<InnerLossScaling>.All)}");
        if (!Enum.IsDefined(Distance))
            throw new ArgumentException($"--distance must be one of {string.Join(", ", EnumNames<InnerDistance>.All)}");
    }
}

/// <summary>
/// MetaMAE: Z = f(S); Z* = Z - alpha * dL_support(Z)/dZ (k steps, second order by default);
/// loss = L_query(Z*) + lambda * NT-Xent(h(pool Z), h(pool Z*)). With Adapt off: MAE.
/// With decoder depth 0 the encoder sees every token (masked embeddings zeroed) and the decoder is linear.
/// </summary>
public sealed class MetaMaeObjective(ObjectiveOptions options) : IObjective
{
    public ObjectiveOptions Options { get; } = options;

    public string Name => Options.Adapt ? Algorithms.MetaMae : Algorithms.Mae;

    /// <summary>
    /// When set (the trainer sets it on logging steps), Loss also reports LatentChange = ||Z* - Z|| / ||Z||
    /// and InnerGain = L_Q(Z) - L_Q(Z*), at the cost of one extra no-grad decode. It changes no number
    /// of the training step: the decoder has no dropout and the decode draws nothing.
    /// </summary>
    public bool MeasureAdaptation { get; set; }

    public LossParts Loss(MetaMaeModel model, Tensor tokens, Generator gen) => Loss(model, tokens, new BatchRandom(gen));

    public LossParts Loss(MetaMaeModel model, Tensor tokens, BatchRandom gen)
    {
        var o = Options;
        var spec = model.Spec;
        long b = tokens.shape[0];
        int L = spec.NumTokens;
        var dtype = model.parameters().First().dtype;
        var observed = Data.Missing.Observed(tokens, dtype);                     // (B, L) or null: missing cells (NaN)
        if (observed is not null) tokens = Data.Missing.Impute(tokens);          // never a target, hidden when it can be
        using var m = Masking.Random(b, L, o.MaskRatio, gen, tokens.device, dtype, observed, o.MinVisible);

        // 1. amortised latent Z of the visible tokens (CLS row first)
        var (latent, restore) = model.EncodeMasked(tokens, m);                  // (B, 1+keep, D); depth 0: (B, 1+L, D)

        if (!o.Adapt)
        {
            var recon = Losses.Reconstruction(model, latent, restore, tokens, m.Query);
            return new LossParts(recon, recon.ToDouble(), double.NaN, double.NaN);
        }

        // 2-3. latent adaptation on the support set S + Nearby-S
        var support = m.Support(spec, o.NearbyRatio, gen);
        var z = latent;
        Tensor? lastG = null;                                                   // the last inner gradient dL_S/dZ
        double inner = double.NaN;
        for (int k = 0; k < o.InnerSteps; k++)
        {
            // reference: per-sample mean over support tokens (batch mean x B); paper (Eq. 1): per-sample sum
            // second order: this decode is differentiated twice, so its attention is the explicit form
            Tensor lossS;
            using (o.SecondOrder ? model.TwiceDifferentiableDecoder() : null)
                lossS = o.InnerLoss == InnerLossScaling.Paper
                    ? Losses.Reconstruction(model, z, restore, tokens, support, o.Distance, sum: true)
                    : Losses.Reconstruction(model, z, restore, tokens, support, o.Distance) * b;
            if (k == 0) inner = lossS.ToDouble() / b;                              // per sample
            // retain_graph: the encoder part of the graph is needed again by the outer backward
            var g = autograd.grad([lossS], [z], create_graph: o.SecondOrder, retain_graph: true)[0];
            if (!o.SecondOrder) g = g.detach();
            lastG = g;
            z = z - o.Alpha * g;
        }

        // 4. outer loss on the query set from Z*
        var query = Losses.Reconstruction(model, z, restore, tokens, m.Query);
        double queryValue = query.ToDouble();
        var (change, gain) = MeasureAdaptation
            ? Measure(model, latent, z, restore, tokens, m.Mask, queryValue) : (double.NaN, double.NaN);
        if (o.Lambda == 0)
        {
            var (_, so0) = MeasureAdaptation ? Shares(model, query, null, z, lastG!) : (double.NaN, double.NaN);
            return new LossParts(query, queryValue, double.NaN, inner, change, gain, double.NaN, so0);
        }

        // 5. task contrast between h(pool Z) and h(pool Z*): (2B, P), the projector once per view (the authors')
        //    or once on both (joint BatchNorm statistics)
        var proj = o.ProjectorBatchNorm == ProjectorBatchNorm.PerView
            ? cat([model.Project(Losses.Pool(latent)), model.Project(Losses.Pool(z))], 0)
            : model.Project(cat([Losses.Pool(latent), Losses.Pool(z)], 0));
        var con = Losses.NtXent(proj, o.Temperature);
        var total = query + o.Lambda * con;
        var (cs, so) = MeasureAdaptation ? Shares(model, total, o.Lambda * con, z, lastG!) : (double.NaN, double.NaN);
        return new LossParts(total, queryValue, con.ToDouble(), inner, change, gain, cs, so);
    }

    /// <summary>
    /// Where the encoder's gradient comes from (issue 34; logging steps only, three extra partial backward passes that
    /// leave every parameter's .grad alone): ||d(lambda con)/d theta_enc|| / ||d total/d theta_enc|| and the
    /// second-order path's ||-alpha d(v . g)/d theta_enc|| / ||d total/d theta_enc||, v = dL_Q/dZ* held fixed and g the
    /// last inner gradient (the path through dg/dZ and the decoder's weights inside g; NaN when first order).
    /// </summary>
    private (double Contrast, double SecondOrder) Shares(MetaMaeModel model, Tensor total, Tensor? contrast, Tensor adapted,
        Tensor g)
    {
        using var scope = NewDisposeScope();
        var enc = model.EncoderParameters().Select(p => (Tensor)p.Param).ToList();
        double Norm(Tensor loss)
        {
            var gs = autograd.grad([loss], enc, retain_graph: true, allow_unused: true);
            return Math.Sqrt(gs.Where(t => t is not null && t.numel() > 0).Sum(t => t.square().sum().ToDouble()));
        }
        double all = Math.Max(Norm(total), double.Epsilon);
        double cs = contrast is null ? double.NaN : Norm(contrast) / all;
        if (!Options.SecondOrder) return (cs, double.NaN);
        var v = autograd.grad([total], [adapted], retain_graph: true)[0].detach();    // dL/dZ*: (B, 1+n, D)
        double so = Norm((v * g).sum() * -Options.Alpha) / all;
        return (cs, so);
    }

    /// <summary>||Z* - Z|| / ||Z|| (Frobenius, over the batch, CLS row included) and L_Q(Z) - L_Q(Z*).</summary>
    private static (double Change, double Gain) Measure(MetaMaeModel model, Tensor latent, Tensor adapted, Tensor? restore,
        Tensor tokens, Tensor query, double queryAdapted)
    {
        using var _ = no_grad();
        using var z = latent.detach();                                            // (B, 1+n, D)
        using var diff = adapted.detach() - z;
        double change = diff.norm().ToDouble() / Math.Max(z.norm().ToDouble(), double.Epsilon);
        using var before = Losses.Reconstruction(model, z, restore, tokens, query);  // the one extra decode
        return (change, before.ToDouble() - queryAdapted);
    }
}
