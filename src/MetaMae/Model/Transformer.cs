using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MetaMae.Model;

/// <summary>
/// Multi-head self-attention written out as softmax(QK^T / sqrt(d)) V. libtorch's fused
/// scaled_dot_product_attention has no second derivative on CPU, and MetaMAE differentiates
/// through the decoder's gradient. qkv has no bias (DABS); the output projection has one.
/// </summary>
public sealed class SelfAttention : Module<Tensor, Tensor>
{
    private readonly Linear qkv;
    private readonly Linear proj;
    private readonly Dropout projDrop;
    private readonly int heads;
    private readonly double scale;

    public SelfAttention(int dim, int heads, double dropout) : base(nameof(SelfAttention))
    {
        this.heads = heads;
        scale = 1.0 / Math.Sqrt(dim / heads);
        qkv = Linear(dim, 3 * dim, hasBias: false);
        proj = Linear(dim, dim);
        projDrop = Dropout(dropout);
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        // x: (B, N, C)
        long b = x.shape[0], n = x.shape[1], c = x.shape[2];
        using var qkvT = qkv.forward(x).view(b, n, 3, heads, c / heads).permute(2, 0, 3, 1, 4); // (3, B, H, N, hd)
        var q = qkvT[0];
        var k = qkvT[1];
        var v = qkvT[2];
        var attn = functional.softmax(matmul(q, k.transpose(-1, -2)).mul_(scale), -1); // (B, H, N, N)
        var y = matmul(attn, v).transpose(1, 2).reshape(b, n, c);                       // (B, N, C)
        return projDrop.forward(proj.forward(y));
    }
}

/// <summary>Pre-LayerNorm transformer block: x + Attn(LN(x)); x + MLP(LN(x)), GELU MLP.</summary>
public sealed class Block : Module<Tensor, Tensor>
{
    private readonly LayerNorm norm1;
    private readonly SelfAttention attn;
    private readonly LayerNorm norm2;
    private readonly Mlp mlp;

    public Block(int dim, int heads, int hidden, double dropout, double eps) : base(nameof(Block))
    {
        norm1 = LayerNorm(dim, eps);
        attn = new SelfAttention(dim, heads, dropout);
        norm2 = LayerNorm(dim, eps);
        mlp = new Mlp(dim, hidden, dropout);
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
    private readonly Dropout drop1;
    private readonly Linear fc2;
    private readonly Dropout drop2;

    public Mlp(int dim, int hidden, double dropout) : base(nameof(Mlp))
    {
        fc1 = Linear(dim, hidden);
        drop1 = Dropout(dropout);
        fc2 = Linear(hidden, dim);
        drop2 = Dropout(dropout);
        RegisterComponents();
    }

    // x: (B, N, C) -> (B, N, C)
    public override Tensor forward(Tensor x) => drop2.forward(fc2.forward(drop1.forward(functional.gelu(fc1.forward(x)))));
}
