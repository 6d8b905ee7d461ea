using System.Text.Json.Serialization;
using TorchSharp;
using static TorchSharp.torch;

namespace MetaMae.Modalities;

/// <summary>
/// What one input of a sample looks like, and how it becomes tokens. The model builds its token
/// embedding, reconstruction head, position table and Nearby-S neighbourhood from this alone:
/// no dataset or modality names appear in model or objective code (the DABS idea).
/// </summary>
/// <remarks>
/// A raw batch has shape (B, ..RawShape) (float32 for continuous inputs, int64 for tokens).
/// <see cref="Patchify"/> turns it into tokens: (B, L, P) float values per token, or (B, L) ids.
/// </remarks>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "kind")]
[JsonDerivedType(typeof(SequenceSpec), "sequence")]
[JsonDerivedType(typeof(GridSpec), "grid")]
[JsonDerivedType(typeof(TabularSpec), "tabular")]
[JsonDerivedType(typeof(TokenSpec), "tokens")]
[JsonDerivedType(typeof(MultiInputSpec), "multi")]
public abstract record InputSpec
{
    /// <summary>Shape of one raw sample, without the batch axis.</summary>
    [JsonIgnore] public abstract long[] RawShape { get; }

    /// <summary>Token grid (rows, cols): (1, L) for 1D inputs. Positions and Nearby-S follow it.</summary>
    [JsonIgnore] public abstract (int Rows, int Cols) TokenGrid { get; }

    /// <summary>Number of tokens L.</summary>
    [JsonIgnore] public int NumTokens => TokenGrid.Rows * TokenGrid.Cols;

    /// <summary>True for discrete tokens (embedding table, cross-entropy); false for real values.</summary>
    [JsonIgnore] public abstract bool IsDiscrete { get; }

    /// <summary>Values per token P (continuous), or the vocabulary size (discrete).</summary>
    [JsonIgnore] public abstract int TokenWidth { get; }

    /// <summary>Raw batch (B, ..RawShape) to tokens (B, L, P) or (B, L).</summary>
    public abstract Tensor Patchify(Tensor raw);

    /// <summary>Tokens back to the raw batch; exact inverse of <see cref="Patchify"/>.</summary>
    public abstract Tensor Unpatchify(Tensor tokens);

    /// <summary>One line for listings, e.g. "1D 52x320, patch 5 -> 64 tokens x 260".</summary>
    public abstract string Describe();

    /// <summary>Throws a clear error when the spec cannot work (patch does not divide, ...).</summary>
    public abstract void Validate();

    /// <summary>Checks that a raw batch has the shape this spec expects.</summary>
    public void CheckBatch(Tensor raw, string what = "batch")
    {
        var want = RawShape;
        var got = raw.shape;
        if (got.Length != want.Length + 1 || !got.Skip(1).SequenceEqual(want))
            throw new ArgumentException(
                $"{what}: expected shape (B, {string.Join(", ", want)}) for {Describe()}, got ({string.Join(", ", got)})");
    }

    /// <summary>
    /// Nearby-S: masked tokens adjacent to a visible one on the token grid (1D: i-1 and i+1;
    /// 2D: the 4-neighbour cross). mask: (B, L) with 1 = masked. Returns (B, L) 0/1 of mask's dtype.
    /// </summary>
    public virtual Tensor NearbyMasked(Tensor mask)
    {
        var (rows, cols) = TokenGrid;
        using var scope = NewDisposeScope();
        long b = mask.shape[0];
        var vis = (1 - mask).view(b, rows, cols);
        var near = zeros_like(vis);
        if (cols > 1)
        {
            near[.., .., 1..] += vis[.., .., ..^1];   // left neighbour visible
            near[.., .., ..^1] += vis[.., .., 1..];   // right neighbour visible
        }
        if (rows > 1)
        {
            near[.., 1.., ..] += vis[.., ..^1, ..];   // upper neighbour visible
            near[.., ..^1, ..] += vis[.., 1.., ..];   // lower neighbour visible
        }
        var result = ((near > 0) & (mask.view(b, rows, cols) > 0)).to(mask.dtype).view(b, rows * cols);
        return result.MoveToOuterDisposeScope();
    }
}

/// <summary>A 1D continuous sequence: channels x length, cut into patches of PatchLength steps.
/// A token holds PatchLength x Channels values, channel-last (time-major) order.</summary>
public sealed record SequenceSpec(int Channels, int Length, int PatchLength) : InputSpec
{
    [JsonIgnore] public override long[] RawShape => [Channels, Length];
    [JsonIgnore] public override (int Rows, int Cols) TokenGrid => (1, Length / PatchLength);
    [JsonIgnore] public override bool IsDiscrete => false;
    [JsonIgnore] public override int TokenWidth => Channels * PatchLength;

    public override Tensor Patchify(Tensor raw)
    {
        CheckBatch(raw);
        long b = raw.shape[0], l = Length / PatchLength;
        // (B, C, T) -> (B, C, L, p) -> (B, L, p, C) -> (B, L, p*C)
        return raw.view(b, Channels, l, PatchLength).permute(0, 2, 3, 1).reshape(b, l, TokenWidth);
    }

    public override Tensor Unpatchify(Tensor tokens)
    {
        long b = tokens.shape[0], l = Length / PatchLength;
        return tokens.reshape(b, l, PatchLength, Channels).permute(0, 3, 1, 2).reshape(b, Channels, Length);
    }

    public override string Describe() =>
        $"1D {Channels}x{Length}, patch {PatchLength} -> {NumTokens} tokens x {TokenWidth} values";

    public override void Validate()
    {
        if (Channels < 1 || Length < 1 || PatchLength < 1)
            throw new ArgumentException($"sequence spec: channels, length and patch must be >= 1 (got {Channels}, " +
                $"{Length}, {PatchLength})");
        if (Length % PatchLength != 0)
            throw new ArgumentException($"sequence spec: patch length {PatchLength} must divide the length {Length}");
    }
}

/// <summary>A 2D continuous grid: channels x height x width, cut into PatchH x PatchW patches.
/// A token holds PatchH x PatchW x Channels values (MAE's 'nchpwq->nhwpqc' order).</summary>
public sealed record GridSpec(int Channels, int Height, int Width, int PatchH, int PatchW) : InputSpec
{
    [JsonIgnore] public override long[] RawShape => [Channels, Height, Width];
    [JsonIgnore] public override (int Rows, int Cols) TokenGrid => (Height / PatchH, Width / PatchW);
    [JsonIgnore] public override bool IsDiscrete => false;
    [JsonIgnore] public override int TokenWidth => Channels * PatchH * PatchW;

    public override Tensor Patchify(Tensor raw)
    {
        CheckBatch(raw);
        long b = raw.shape[0];
        var (gh, gw) = TokenGrid;
        // (B, C, gh, ph, gw, pw) -> (B, gh, gw, ph, pw, C)
        return raw.view(b, Channels, gh, PatchH, gw, PatchW).permute(0, 2, 4, 3, 5, 1)
                  .reshape(b, gh * gw, TokenWidth);
    }

    public override Tensor Unpatchify(Tensor tokens)
    {
        long b = tokens.shape[0];
        var (gh, gw) = TokenGrid;
        return tokens.reshape(b, gh, gw, PatchH, PatchW, Channels).permute(0, 5, 1, 3, 2, 4)
                     .reshape(b, Channels, Height, Width);
    }

    public override string Describe() =>
        $"2D {Channels}x{Height}x{Width}, patch {PatchH}x{PatchW} -> {TokenGrid.Rows}x{TokenGrid.Cols} tokens x {TokenWidth} values";

    public override void Validate()
    {
        if (Channels < 1 || Height < 1 || Width < 1 || PatchH < 1 || PatchW < 1)
            throw new ArgumentException("grid spec: all sizes must be >= 1");
        if (Height % PatchH != 0 || Width % PatchW != 0)
            throw new ArgumentException($"grid spec: patch {PatchH}x{PatchW} must divide the image {Height}x{Width}");
    }
}

/// <summary>Tabular features: one token per feature, one value per token.</summary>
public sealed record TabularSpec(int Features) : InputSpec
{
    [JsonIgnore] public override long[] RawShape => [Features];
    [JsonIgnore] public override (int Rows, int Cols) TokenGrid => (1, Features);
    [JsonIgnore] public override bool IsDiscrete => false;
    [JsonIgnore] public override int TokenWidth => 1;
    public override Tensor Patchify(Tensor raw) { CheckBatch(raw); return raw.unsqueeze(-1); }
    public override Tensor Unpatchify(Tensor tokens) => tokens.squeeze(-1);
    public override string Describe() => $"tabular {Features} features -> {Features} tokens x 1 value";

    public override void Validate()
    {
        if (Features < 1) throw new ArgumentException($"tabular spec: features must be >= 1 (got {Features})");
    }
}

/// <summary>A discrete token sequence: ids in [0, Vocab), fixed Length, optional padding id.
/// Padding positions are excluded from the reconstruction loss.</summary>
public sealed record TokenSpec(int Vocab, int Length, int? PadId = null) : InputSpec
{
    [JsonIgnore] public override long[] RawShape => [Length];
    [JsonIgnore] public override (int Rows, int Cols) TokenGrid => (1, Length);
    [JsonIgnore] public override bool IsDiscrete => true;
    [JsonIgnore] public override int TokenWidth => Vocab;
    public override Tensor Patchify(Tensor raw) { CheckBatch(raw); return raw; }
    public override Tensor Unpatchify(Tensor tokens) => tokens;
    public override string Describe() =>
        $"tokens, vocabulary {Vocab}, length {Length}{(PadId is int p ? $", padding id {p}" : "")}";

    public override void Validate()
    {
        if (Vocab < 2 || Length < 1)
            throw new ArgumentException($"token spec: vocabulary must be >= 2 and length >= 1 (got {Vocab}, {Length})");
        if (PadId is int p && (p < 0 || p >= Vocab))
            throw new ArgumentException($"token spec: padding id {p} is outside the vocabulary [0, {Vocab})");
    }
}
