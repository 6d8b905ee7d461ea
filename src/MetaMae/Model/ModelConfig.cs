namespace MetaMae.Model;

/// <summary>
/// Shape of the network. Defaults are the paper's (Table 7 and reference-notes.md); each line
/// says where a value comes from. Use <see cref="Paper"/> or <see cref="Tiny"/>.
/// </summary>
public sealed record ModelConfig
{
    /// <summary>Encoder width: 256 in DABS and the paper.</summary>
    public int EncDim { get; init; } = 256;
    /// <summary>Encoder blocks: 12, as DABS.</summary>
    public int EncDepth { get; init; } = 12;
    /// <summary>Encoder heads: 8 (head dim 32).</summary>
    public int EncHeads { get; init; } = 8;
    /// <summary>Encoder MLP hidden width: 512 (d_ff in Table 7).</summary>
    public int EncMlp { get; init; } = 512;
    /// <summary>Decoder width: fixed at 128 in the paper.</summary>
    public int DecDim { get; init; } = 128;
    /// <summary>Decoder blocks n: 2, 4 or 6 per dataset (Table 8); 0 = a linear decoder on an encoder that sees every
    /// token (DABS-style MAE).</summary>
    public int DecDepth { get; init; } = 4;
    /// <summary>Decoder heads: 4.</summary>
    public int DecHeads { get; init; } = 4;
    /// <summary>Decoder MLP hidden width: 256.</summary>
    public int DecMlp { get; init; } = 256;
    /// <summary>Dropout p of the encoder (input, attention projection, MLP): 0 or 0.1 (Table 8).</summary>
    public double Dropout { get; init; } = 0.0;
    /// <summary>Projector hidden width: 1024 (the paper's Table 7 prints 1028, the code uses 1024).</summary>
    public int ProjHidden { get; init; } = 1024;
    /// <summary>Projector output width: 128.</summary>
    public int ProjDim { get; init; } = 128;
    /// <summary>LayerNorm epsilon, as timm's ViT (1e-6).</summary>
    public double LayerNormEps { get; init; } = 1e-6;

    /// <summary>The paper's architecture.</summary>
    public static ModelConfig Paper => new();

    /// <summary>A small model of the same family for tests and quick runs (2 x 64 encoder).</summary>
    public static ModelConfig Tiny => new()
    {
        EncDim = 64, EncDepth = 2, EncHeads = 4, EncMlp = 128,
        DecDim = 32, DecDepth = 2, DecHeads = 2, DecMlp = 64,
        ProjHidden = 128, ProjDim = 32,
    };

    /// <summary>The CPU-scale model between tiny and paper (4 x 128 encoder, 2 x 64 decoder): twice tiny's width and
    /// depth, a sixteenth of the paper's encoder parameters. Chosen by measurement (results/preset-choice/, MAE on
    /// dna-splice, 3 seeds): at 8000 steps (13 min on 2 cores) its features reach the raw-input probe, 0.956 vs 0.954,
    /// and beat tiny's by +0.064 [+0.025, +0.104]; untrained they already probe at 0.87 against tiny's 0.80.</summary>
    public static ModelConfig Small => new()
    {
        EncDim = 128, EncDepth = 4, EncHeads = 4, EncMlp = 256,
        DecDim = 64, DecDepth = 2, DecHeads = 2, DecMlp = 128,
        ProjHidden = 512, ProjDim = 64,
    };

    public static IReadOnlyList<string> PresetNames { get; } = ["paper", "small", "tiny"];

    public static ModelConfig FromPreset(string name) => name switch
    {
        "paper" => Paper,
        "small" => Small,
        "tiny" => Tiny,
        _ => throw new ArgumentException($"unknown preset '{name}' (expected one of: {string.Join(", ", PresetNames)})"),
    };

    public void Validate()
    {
        if (EncDim % EncHeads != 0) throw new ArgumentException($"encoder width {EncDim} is not divisible by {EncHeads} heads");
        if (DecDim % DecHeads != 0) throw new ArgumentException($"decoder width {DecDim} is not divisible by {DecHeads} heads");
        if (EncDim % 4 != 0 || DecDim % 4 != 0) throw new ArgumentException("widths must be multiples of 4 (2D sin-cos positions)");
        if (DecDepth < 0) throw new ArgumentException($"decoder depth must be >= 0 (got {DecDepth})");
        if (Dropout is < 0 or >= 1) throw new ArgumentException($"dropout must be in [0, 1) (got {Dropout})");
    }
}
