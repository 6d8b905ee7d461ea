using MetaMae.Modalities;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MetaMae.Model;

/// <summary>
/// Encoder f (token embedding, CLS, 12 pre-LN blocks, final LN), decoder g (Linear 256->128,
/// mask token, unshuffle, n blocks, LN, head) and projector h (Linear-BN-ReLU-Linear), built from
/// an <see cref="InputSpec"/> and a <see cref="ModelConfig"/>. The forward pass gives the
/// linear-probe features: mean over the non-CLS tokens of the normed encoder output.
/// </summary>
public sealed class MetaMaeModel : Module<Tensor, Tensor>
{
    // encoder, in call order
    private readonly Module<Tensor, Tensor> embed;      // Linear(P, D) or Embedding(V, D)
    private readonly Parameter cls_token;               // (1, 1, D)
    private readonly FastDropout input_drop;
    private readonly ModuleList<Block> blocks;
    private readonly LayerNorm norm;
    // decoder
    private readonly Linear decoder_embed;              // (D -> Dd)
    private readonly Parameter mask_token;              // (1, 1, Dd)
    private readonly ModuleList<Block> decoder_blocks;
    private readonly LayerNorm decoder_norm;
    private readonly Linear? decoder_pred;              // Dd -> P, or Dd -> D then tied logits (single input)
    private readonly MultiHeads? decoder_heads;         // per-input heads (multi-input specs)
    private readonly Parameter? decoder_type_embed;     // (1, L, Dd) rows of the input-type table (multi-input specs)
    // projector (MetaMAE's task contrast)
    private readonly Sequential projector;
    // fixed sin-cos tables (buffers, not parameters)
    private readonly Tensor pos_embed;                  // (1, L+1, D), row 0 = 0 for CLS
    private readonly Tensor decoder_pos_embed;          // (1, L+1, Dd)

    public InputSpec Spec { get; }
    public ModelConfig Config { get; }

    /// <summary>
    /// The matmul precision of every forward pass (see <see cref="ComputePrecision"/>): fp32 (default) or
    /// bf16. A run setting, not part of the weights: a checkpoint loads in fp32 whatever it was trained in.
    /// Multi-input embeddings and heads, and the projector (small matmuls), stay in the model's dtype.
    /// </summary>
    public Precision Precision { get => precision.Value; set => precision.Set(value); }

    /// <summary>In bf16, the fewest multiply-adds of a matmul that runs in bfloat16 (smaller ones run in float32,
    /// where they are faster): <see cref="ComputePrecision.MinLowMultiplyAdds"/>; 0 puts every matmul in bf16.</summary>
    public long LowPrecisionMinMacs { get => precision.MinLowMacs; set => precision.MinLowMacs = value; }

    /// <summary>In bf16, the matmuls run since the last call: (in bfloat16, in float32 for being small).</summary>
    public (int Low, int Full) TakeMatmulCounts() => precision.TakeCounts();

    private readonly ComputePrecision precision = new();
    private readonly AttentionKernel decoderKernel;

    /// <summary>
    /// The decoder's attention in its explicit, twice-differentiable form until the returned scope is disposed: for a
    /// decode whose gradient is itself differentiated (MetaMAE's second-order support loss). Every other decode (MAE,
    /// the query decode from Z*, first-order MetaMAE, no-grad decodes) uses the fused kernel.
    /// </summary>
    public IDisposable TwiceDifferentiableDecoder() => decoderKernel.Explicit();

    public MetaMaeModel(InputSpec spec, ModelConfig cfg) : this(spec, cfg, fusedAttention: true) { }

    /// <param name="spec">The input.</param>
    /// <param name="cfg">The network's shape.</param>
    /// <param name="fusedAttention">Whether attention is libtorch's fused kernel wherever a pass is differentiated once
    /// (the default, true): the encoder always (MetaMAE's inner gradient flows through the decoder only), the decoder
    /// except inside <see cref="TwiceDifferentiableDecoder"/> (the second-order support decode). false: explicit
    /// everywhere (for tests).</param>
    /// <param name="decoderAttentionChunk">Query rows per chunk of the decoder's explicit attention (<see cref="ChunkedAttention"/>):
    /// -1 (default) chunks only a map larger than ChunkedAttention.MapBudgetBytes; 0 never; n > 0 always n rows (tests).</param>
    public MetaMaeModel(InputSpec spec, ModelConfig cfg, bool fusedAttention, int decoderAttentionChunk = -1)
        : base(nameof(MetaMaeModel))
    {
        spec.Validate();
        cfg.Validate();
        Spec = spec;
        Config = cfg;
        var (rows, cols) = spec.TokenGrid;
        int d = cfg.EncDim, dd = cfg.DecDim;
        var multi = spec as MultiInputSpec;

        embed = multi is not null ? new MultiEmbed(multi, d) : spec.IsDiscrete ? Embedding(spec.TokenWidth, d) : Linear(spec.TokenWidth, d);
        cls_token = new Parameter(zeros(1, 1, d));
        input_drop = new FastDropout(cfg.Dropout);
        blocks = new ModuleList<Block>(Enumerable.Range(0, cfg.EncDepth)
            .Select(_ => new Block(d, cfg.EncHeads, cfg.EncMlp, cfg.Dropout, cfg.LayerNormEps,
                kernel: new AttentionKernel(fusedAttention), precision: precision)).ToArray());
        norm = LayerNorm(d, cfg.LayerNormEps);

        decoderKernel = new AttentionKernel(fusedAttention);
        decoder_embed = Linear(d, dd);
        mask_token = new Parameter(zeros(1, 1, dd));
        decoder_blocks = new ModuleList<Block>(Enumerable.Range(0, cfg.DecDepth)
            .Select(_ => new Block(dd, cfg.DecHeads, cfg.DecMlp, 0.0, cfg.LayerNormEps,
                kernel: decoderKernel, precision: precision, attentionChunk: decoderAttentionChunk)).ToArray());
        decoder_norm = LayerNorm(dd, cfg.LayerNormEps);
        if (multi is null) decoder_pred = Linear(dd, spec.IsDiscrete ? d : spec.TokenWidth);
        else
        {
            decoder_heads = new MultiHeads(multi, d, dd);
            decoder_type_embed = new Parameter(zeros(multi.Inputs.Count, dd));
        }

        projector = Sequential(
            ("0", Linear(d, cfg.ProjHidden, hasBias: false)),
            ("1", BatchNorm1d(cfg.ProjHidden)),
            ("2", ReLU()),
            ("3", Linear(cfg.ProjHidden, cfg.ProjDim, hasBias: false)));

        pos_embed = multi is null ? Positions.Table(d, rows, cols) : MultiPositions(multi, d);
        decoder_pos_embed = multi is null ? Positions.Table(dd, rows, cols) : MultiPositions(multi, dd);
        RegisterComponents();   // the two tables become buffers, as timm keeps them in state_dict
        Initialize();
    }

    /// <summary>Xavier-uniform for linear layers and the embedding table, zero biases, LN (1, 0), N(0, 0.02) for CLS
    /// and mask tokens.</summary>
    private void Initialize()
    {
        using var _ = no_grad();
        foreach (var m in modules())
        {
            switch (m)
            {
                case Linear lin:
                    init.xavier_uniform_(lin.weight);
                    if (lin.bias is not null) init.zeros_(lin.bias);
                    break;
                case Embedding emb:
                    init.xavier_uniform_(emb.weight);
                    break;
                case LayerNorm ln:
                    init.ones_(ln.weight);
                    init.zeros_(ln.bias);
                    break;
            }
        }
        init.normal_(cls_token, 0, 0.02);
        init.normal_(mask_token, 0, 0.02);
        if (embed is MultiEmbed me) init.normal_(me.type_embed, 0, 0.02);
        if (decoder_type_embed is not null) init.normal_(decoder_type_embed, 0, 0.02);
    }

    /// <summary>Each input's own sin-cos table (from its own grid), concatenated; one zero CLS row first: (1, 1 + L_total, dim).</summary>
    private static Tensor MultiPositions(MultiInputSpec multi, int dim) =>
        cat([zeros(1, 1, dim), .. multi.Inputs.Select(i => Positions.Table(dim, i.TokenGrid.Rows, i.TokenGrid.Cols)[.., 1..])], 1);

    private Tensor EmbeddingTable => embed is Embedding e ? e.weight!
        : throw new NotSupportedException($"tied logits need a single token input, not {Spec.Describe()}");

    /// <summary>Token embedding plus positions. tokens: (B, L, P) or (B, L) ids -> (B, L, D).
    /// With zeroMask (B, L), the token embedding of positions where it is 1 is zeroed; the
    /// position is kept (DABS-style masking for encoders that see every token).</summary>
    public Tensor Embed(Tensor tokens, Tensor? zeroMask = null)
    {
        var e = TokenEmbedding(tokens);
        if (zeroMask is not null) e = e * (1 - zeroMask).unsqueeze(-1).to(e.dtype);
        return e + pos_embed[.., 1..];
    }

    /// <summary>Token embedding alone, without positions: (B, L, P) or (B, L) ids -> (B, L, D).</summary>
    public Tensor TokenEmbedding(Tensor tokens) =>
        embed is Linear lin ? precision.Linear(lin, tokens) : embed.forward(tokens);

    /// <summary>Adds the encoder's fixed position table to token embeddings (B, L, D).</summary>
    public Tensor WithPositions(Tensor e) => e + pos_embed[.., 1..];

    /// <summary>Logits over the vocabulary against the tied input embedding table: (.., D) -> (.., V). Discrete specs only.</summary>
    public Tensor TiedLogits(Tensor h) => precision.MatMul(h, EmbeddingTable.t(), h.dtype);

    /// <summary>One block; its input (made inside this model) is released right away: autograd holds its own reference.</summary>
    private static Tensor Step(Block blk, Tensor x)
    {
        var y = blk.forward(x);
        x.Dispose();
        return y;
    }

    /// <summary>Prepends CLS and runs the encoder. h: (B, n, D) embedded tokens -> (B, 1+n, D), normed.</summary>
    public Tensor Encode(Tensor h)
    {
        long b = h.shape[0];
        var cls = (cls_token + pos_embed[.., ..1]).expand(b, -1, -1);
        var x = input_drop.forward(cat([cls, h], 1));
        foreach (var blk in blocks) x = Step(blk, x);
        return norm.forward(x);
    }

    /// <summary>
    /// The amortised latent Z of a masked input (Algorithm 1, line 6) and the inverse shuffle the
    /// decoder needs. Decoder depth 0 (DABS MAE): the encoder sees every token with the masked
    /// embeddings zeroed, no inverse shuffle. Otherwise only the visible tokens are encoded.
    /// tokens: (B, L, P) or (B, L); returns Z: (B, 1+L, D) or (B, 1+keep, D), and ids_restore (B, L) or null.
    /// </summary>
    public (Tensor Latent, Tensor? Restore) EncodeMasked(Tensor tokens, Objectives.Masking m)
    {
        if (Config.DecDepth == 0) return (Encode(Embed(tokens, zeroMask: m.Mask)), null);  // (B, 1+L, D)
        var h = Embed(tokens);                                                             // (B, L, D)
        var visible = gather(h, 1, m.KeepIds.unsqueeze(-1).expand(-1, -1, h.shape[2]));    // (B, keep, D)
        return (Encode(visible), m.IdsRestore);                                            // (B, 1+keep, D)
    }

    /// <summary>
    /// Decoder predictions for every token position. latent: (B, 1+n, D) with CLS first.
    /// With idsRestore (B, L) the n visible latents are put back in order among L-n mask tokens;
    /// without it (depth 0, or an encoder that saw all tokens) latent must hold all L tokens.
    /// Returns (B, L, P) values or (B, L, V) logits.
    /// </summary>
    public Tensor Decode(Tensor latent, Tensor? idsRestore)
    {
        if (decoder_heads is not null)
            throw new NotSupportedException("Decode gives one packed prediction; a multi-input spec " +
                $"({Spec.Describe()}) has one per input: use DecodeInputs");
        var h = precision.Linear(decoder_embed, latent);             // (B, 1+n, Dd)
        long b = h.shape[0], n1 = h.shape[1], dd = h.shape[2];
        int L = Spec.NumTokens;
        if (Config.DecDepth == 0)
        {
            if (n1 != L + 1) throw new InvalidOperationException("a linear (depth 0) decoder needs the latent of every token");
            return Head(h[.., 1..]);                                 // purely linear per token
        }
        Tensor seq;
        if (idsRestore is null)
        {
            if (n1 != L + 1) throw new InvalidOperationException($"latent has {n1 - 1} tokens, expected {L} without ids_restore");
            seq = h[.., 1..];
        }
        else seq = Unshuffle(h, idsRestore);
        var x = cat([h[.., ..1], seq], 1) + decoder_pos_embed;      // (B, 1+L, Dd)
        foreach (var blk in decoder_blocks) x = Step(blk, x);
        return Head(decoder_norm.forward(x)[.., 1..]);
    }

    /// <summary>
    /// The visible latents put back in token order among mask tokens. h: (B, 1+n, Dd) with the CLS
    /// row first; idsRestore: (B, L). Returns (B, L, Dd) without the CLS row.
    /// </summary>
    private Tensor Unshuffle(Tensor h, Tensor idsRestore)
    {
        long b = h.shape[0], n1 = h.shape[1], dd = h.shape[2];
        var fill = mask_token.expand(b, Spec.NumTokens + 1 - n1, dd);                    // (B, L-n, Dd)
        var seq = cat([h[.., 1..], fill], 1);                                            // (B, L, Dd), shuffled
        return gather(seq, 1, idsRestore.unsqueeze(-1).expand(-1, -1, dd));             // (B, L, Dd), in order
    }

    private Tensor Head(Tensor h)
    {
        var o = precision.Linear(decoder_pred!, h);                  // (B, L, P) or (B, L, D)
        return Spec.IsDiscrete ? TiedLogits(o) : o;                  // tied logits (B, L, V)
    }

    /// <summary>Multi-input decoder before the tied logits: per input, (B, L_i, P_i) values or (B, L_i, D) hidden
    /// states of a token input (the reconstruction loss ties only its selected rows, Losses.Reconstruction).</summary>
    public IReadOnlyList<Tensor> DecodeInputHiddens(Tensor latent, Tensor? idsRestore) =>
        DecodeInputs(latent, idsRestore, tiedLogits: false);

    /// <summary>Input i's token embedding table (V_i, D) of a multi-input model (the tied output weights).</summary>
    public Tensor InputTable(int i) => embed is MultiEmbed me ? me.Table(i)
        : throw new NotSupportedException($"InputTable needs a multi-input spec, not {Spec.Describe()}");

    /// <summary>Multi-input decoder: per input, (B, L_i, P_i) values or (B, L_i, V_i) logits (tied to that input's table).</summary>
    public IReadOnlyList<Tensor> DecodeInputs(Tensor latent, Tensor? idsRestore) => DecodeInputs(latent, idsRestore, tiedLogits: true);

    private IReadOnlyList<Tensor> DecodeInputs(Tensor latent, Tensor? idsRestore, bool tiedLogits)
    {
        if (decoder_heads is null || decoder_type_embed is null)
            throw new NotSupportedException($"DecodeInputs needs a multi-input spec, not {Spec.Describe()}");
        var multi = (MultiInputSpec)Spec;
        var h = precision.Linear(decoder_embed, latent);
        long b = h.shape[0], n1 = h.shape[1], dd = h.shape[2];
        int L = Spec.NumTokens;
        Tensor seq;
        if (Config.DecDepth == 0 || idsRestore is null)
        {
            if (n1 != L + 1) throw new InvalidOperationException($"latent has {n1 - 1} tokens, expected {L} without ids_restore");
            seq = h[.., 1..];
        }
        else seq = Unshuffle(h, idsRestore);
        var types = decoder_type_embed.index_select(0, MultiEmbed.TypeIds(multi, seq.device));   // (L, Dd)
        if (Config.DecDepth == 0) return decoder_heads.Apply(seq + types.unsqueeze(0), (MultiEmbed)embed, tiedLogits);
        var x = cat([h[.., ..1], seq + types.unsqueeze(0)], 1) + decoder_pos_embed;
        foreach (var blk in decoder_blocks) x = Step(blk, x);
        return decoder_heads.Apply(decoder_norm.forward(x)[.., 1..], (MultiEmbed)embed, tiedLogits);
    }

    /// <summary>Projector on pooled latents: (N, D) -> (N, ProjDim).</summary>
    public Tensor Project(Tensor pooled) => projector.forward(pooled);

    /// <summary>Linear-probe features of whole, unmasked inputs: tokens -> (B, D).</summary>
    public override Tensor forward(Tensor tokens) => Encode(Embed(tokens))[.., 1..].mean([1]);

    /// <summary>Per-token features (B, L, D), e.g. for per-token probes.</summary>
    public Tensor TokenFeatures(Tensor tokens) => Encode(Embed(tokens))[.., 1..];

    /// <summary>Parameters of the encoder only (what a linear probe or a transfer uses).</summary>
    public IEnumerable<(string Name, Parameter Param)> EncoderParameters() =>
        named_parameters().Where(p =>
            !p.name.StartsWith("decoder_") && !p.name.StartsWith("mask_token") && !p.name.StartsWith("projector"));
}

/// <summary>Per-input token embeddings (Linear or Embedding) plus a learned input-type embedding,
/// packed tokens -> (B, L_total, D).</summary>
public sealed class MultiEmbed : Module<Tensor, Tensor>
{
    private readonly MultiInputSpec spec;
    internal readonly ModuleList<Module<Tensor, Tensor>> embeds;
    internal readonly Parameter type_embed;   // (n_inputs, D)

    public MultiEmbed(MultiInputSpec spec, int d) : base(nameof(MultiEmbed))
    {
        this.spec = spec;
        embeds = new ModuleList<Module<Tensor, Tensor>>(spec.Inputs
            .Select(i => i.IsDiscrete ? (Module<Tensor, Tensor>)Embedding(i.TokenWidth, d) : Linear(i.TokenWidth, d)).ToArray());
        type_embed = new Parameter(zeros(spec.Inputs.Count, d));
        RegisterComponents();
    }

    /// <summary>Input index of every packed token position: (L_total,) int64.</summary>
    public static Tensor TypeIds(MultiInputSpec spec, Device device) =>
        tensor(spec.Segments.SelectMany((s, i) => Enumerable.Repeat((long)i, s.Length)).ToArray(), device: device);

    /// <summary>Embedding table of input i (discrete inputs only).</summary>
    public Tensor Table(int i) => ((Embedding)embeds[i]).weight!;

    public override Tensor forward(Tensor tokens)
    {
        var parts = new List<Tensor>();
        for (int i = 0; i < spec.Inputs.Count; i++) parts.Add(embeds[i].forward(spec.Unpack(tokens, i)));
        return cat(parts, 1) + type_embed.index_select(0, TypeIds(spec, tokens.device)).unsqueeze(0);
    }
}

/// <summary>Per-input decoder heads: Linear(Dd, P_i), or Linear(Dd, D) then logits tied to that input's embedding table.</summary>
public sealed class MultiHeads : Module
{
    private readonly MultiInputSpec spec;
    private readonly ModuleList<Linear> heads;

    public MultiHeads(MultiInputSpec spec, int d, int dd) : base(nameof(MultiHeads))
    {
        this.spec = spec;
        heads = new ModuleList<Linear>(spec.Inputs.Select(i => Linear(dd, i.IsDiscrete ? d : i.TokenWidth)).ToArray());
        RegisterComponents();
    }

    /// <summary>Decoder output (B, L_total, Dd) -> per input predictions.</summary>
    public IReadOnlyList<Tensor> Apply(Tensor h, MultiEmbed embed, bool tiedLogits = true)
    {
        var segs = spec.Segments;
        var outs = new List<Tensor>();
        for (int i = 0; i < segs.Count; i++)
        {
            var o = heads[i].forward(h.narrow(1, segs[i].Offset, segs[i].Length));
            outs.Add(segs[i].Input.IsDiscrete && tiedLogits ? matmul(o, embed.Table(i).t()) : o);
        }
        return outs;
    }
}
