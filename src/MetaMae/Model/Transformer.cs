using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MetaMae.Model;

/// <summary>
/// Multi-head self-attention softmax(QK^T / sqrt(d)) V. qkv has no bias (DABS); the output projection
/// has one. When its <see cref="AttentionKernel"/> says fused, libtorch's scaled_dot_product_attention computes it
/// (no (B, H, N, N) map kept for backward); that kernel has no second derivative on CPU, so a pass that will be
/// differentiated twice (MetaMAE's second-order support decode) switches its stack to the explicit form for its
/// duration. Matmuls go through the model's ComputePrecision. With queryChunk > 0, an explicit attention over more
/// than queryChunk tokens runs as ChunkedAttention (bounded memory, recomputed, twice differentiable; in x's dtype,
/// float32, whatever the precision); with queryChunk &lt; 0 only when its (B, H, N, N) map exceeds
/// ChunkedAttention.MapBudgetBytes. A fused attention needs no chunks (it keeps no map).
/// </summary>
public sealed class SelfAttention : Module<Tensor, Tensor>
{
    private readonly Linear qkv;
    private readonly Linear proj;
    private readonly FastDropout projDrop;
    private readonly int heads;
    private readonly double scale;
    private readonly AttentionKernel kernel;
    private readonly int queryChunk;
    private readonly ComputePrecision precision;

    // kernel: fused or explicit, shared by the attention layers of one stack (null: explicit always);
    // precision: the model's matmul precision (null: the model's own dtype throughout); queryChunk: see above (0: off, -1: by map size)
    public SelfAttention(int dim, int heads, double dropout, AttentionKernel? kernel = null, ComputePrecision? precision = null,
        int queryChunk = 0) : base(nameof(SelfAttention))
    {
        this.heads = heads;
        this.kernel = kernel ?? new AttentionKernel(fused: false);
        this.queryChunk = queryChunk;
        this.precision = precision ?? new ComputePrecision();
        scale = 1.0 / Math.Sqrt(dim / heads);
        qkv = Linear(dim, 3 * dim, hasBias: false);
        proj = Linear(dim, dim);
        projDrop = new FastDropout(dropout);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        // x: (B, N, C)
        long b = x.shape[0], n = x.shape[1], c = x.shape[2];
        using var qkvT = precision.LinearLow(qkv, x)                                    // (B, N, 3C)
            .view(b, n, 3, heads, c / heads).permute(2, 0, 3, 1, 4);                     // (3, B, H, N, hd)
        var q = qkvT[0];
        var k = qkvT[1];
        var v = qkvT[2];
        Tensor o;                                                                        // (B, H, N, hd)
        // Where the products run in bf16 (ComputePrecision.RunsLow: q, k, v came from a bf16 qkv Linear, or the
        // products are large), libtorch 2.10's CPU flash attention is 1.7-8x slower than in float32 at our shapes
        // (`tools/microbench ops`, results/microbench-bf16.txt); the explicit form (bf16 products, float32 softmax) is
        // faster than either where its maps are small, so a fused stack runs explicit up to
        // LowPrecisionExplicitMapBytes of scores per layer and fused in float32 (q, k, v cast up) beyond.
        bool fused = kernel.Fused && !(precision.RunsLow(q, b * heads * n * n * (c / heads))
                                       && b * heads * n * n * 4 <= LowPrecisionExplicitMapBytes * ChunkedAttention.BudgetScale);
        if (fused) o = functional.scaled_dot_product_attention(q.to(x.dtype), k.to(x.dtype), v.to(x.dtype));
        else if (ChunkRows(b, n, x) is int rows and > 0 && n > rows)
            o = ChunkedAttention.Apply(q.to(x.dtype), k.to(x.dtype), v.to(x.dtype), scale, rows);
        else
        {
            // scores and softmax in x's dtype (float32), the two products in the matmul precision
            var scores = precision.MatMul(q, k.transpose(-1, -2), x.dtype).mul_(scale); // (B, H, N, N)
            var attn = functional.softmax(scores, -1);                                   // (B, H, N, N)
            o = precision.MatMulLow(attn, v);
        }
        var y = o.transpose(1, 2).reshape(b, n, c);                                      // (B, N, C)
        // the product stays in the matmul dtype: the block's residual add promotes it to x's dtype inside its own kernel
        // (as torch.autocast leaves it), the same values as a cast back and one elementwise pass fewer each way
        return projDrop.forward(precision.LinearLow(proj, y));
    }

    /// <summary>The largest float32 (B, H, N, N) score map per layer for which a fused stack, in bf16, runs the explicit
    /// attention (32 MB: e.g. the paper decoder at B=256 and 65 tokens keeps 17 MB a layer).</summary>
    public const long LowPrecisionExplicitMapBytes = 32L << 20;

    // query rows per chunk: fixed (queryChunk > 0), none (0), or by ChunkedAttention.MapBudgetBytes (< 0)
    private int ChunkRows(long b, long n, Tensor x) => queryChunk >= 0 ? queryChunk
        : ChunkedAttention.RowsFor(b, heads, n, (int)x.ElementSize,
            (long)(ChunkedAttention.MapBudgetBytes * ChunkedAttention.BudgetScale));
}

/// <summary>
/// Fused or explicit attention for the layers of one stack, read at each call. Fused (libtorch's kernel) is faster
/// and keeps no (B, H, N, N) map, but has no second derivative on CPU; <see cref="Explicit"/> switches the stack to
/// the twice-differentiable form until its scope is disposed. A stack built explicit stays explicit.
/// </summary>
public sealed class AttentionKernel(bool fused)
{
    private int explicitScopes;

    /// <summary>Whether the layers use the fused kernel now.</summary>
    public bool Fused => fused && explicitScopes == 0;

    /// <summary>The explicit, twice-differentiable attention until the returned scope is disposed (scopes nest).</summary>
    public IDisposable Explicit()
    {
        explicitScopes++;
        return new Scope(this);
    }

    private sealed class Scope(AttentionKernel owner) : IDisposable
    {
        private bool done;
        public void Dispose()
        {
            if (done) return;
            done = true;
            owner.explicitScopes--;
        }
    }
}

/// <summary>Pre-LayerNorm transformer block: x + Attn(LN(x)); x + MLP(LN(x)), GELU MLP.</summary>
public sealed class Block : Module<Tensor, Tensor>
{
    private readonly LayerNorm norm1;
    private readonly SelfAttention attn;
    private readonly LayerNorm norm2;
    private readonly Mlp mlp;

    // kernel: SelfAttention's, shared by the blocks of one stack (null: explicit always);
    // precision: the model's matmul precision, shared by its blocks (null: the model's own dtype throughout);
    // attentionChunk: SelfAttention's queryChunk (0: off, -1: by map size)
    public Block(int dim, int heads, int hidden, double dropout, double eps, AttentionKernel? kernel = null,
        ComputePrecision? precision = null, int attentionChunk = 0) : base(nameof(Block))
    {
        norm1 = LayerNorm(dim, eps);
        attn = new SelfAttention(dim, heads, dropout, kernel, precision, attentionChunk);
        norm2 = LayerNorm(dim, eps);
        mlp = new Mlp(dim, hidden, dropout, precision);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        // x: (B, N, C). The block's intermediates are released as soon as it returns (autograd keeps
        // what backward needs by itself), so a no-grad forward holds one block's activations, not all.
        using var scope = NewDisposeScope();
        var y = x + attn.forward(norm1.forward(x));
        return (y + mlp.forward(norm2.forward(y))).MoveToOuterDisposeScope();
    }
}

/// <summary>fc1 - GELU - dropout - fc2 - dropout (timm's Mlp).</summary>
public sealed class Mlp : Module<Tensor, Tensor>
{
    private readonly Linear fc1;
    private readonly FastDropout drop1;
    private readonly Linear fc2;
    private readonly FastDropout drop2;
    private readonly ComputePrecision precision;

    public Mlp(int dim, int hidden, double dropout, ComputePrecision? precision = null) : base(nameof(Mlp))
    {
        this.precision = precision ?? new ComputePrecision();
        fc1 = Linear(dim, hidden);
        drop1 = new FastDropout(dropout);
        fc2 = Linear(hidden, dim);
        drop2 = new FastDropout(dropout);
        RegisterComponents();
    }

    // x: (B, N, C) -> (B, N, C). The two Linear matmuls in the model's precision; the hidden activation (B, N, hidden),
    // the block's largest, stays in it through GELU and dropout (as torch.autocast runs them): no cast back and forth.
    // The output too stays in the matmul dtype; the block's residual add promotes it (see SelfAttention.forward).
    public override Tensor forward(Tensor x)
    {
        var h = drop1.forward(functional.gelu(precision.LinearLow(fc1, x)));          // (B, N, hidden), matmul dtype
        return drop2.forward(precision.LinearLow(fc2, h));                            // (B, N, C), matmul dtype
    }
}
