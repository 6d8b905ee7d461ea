using MetaMae.Modalities;
using static TorchSharp.torch;

namespace MetaMae.Objectives;

/// <summary>
/// A random masking of a batch. mask: (B, L), 1 = masked (query), 0 = visible.
/// keepIds: (B, keep) visible positions in shuffled order; idsRestore: (B, L) its inverse.
/// </summary>
public sealed record Masking(Tensor KeepIds, Tensor IdsRestore, Tensor Mask) : IDisposable
{
    public int Keep => (int)KeepIds.shape[1];

    /// <summary>Tokens kept per sample: int(L * (1 - ratio)), as the authors' code.</summary>
    public static int KeepCount(int tokens, double maskRatio)
    {
        if (maskRatio is <= 0 or >= 1) throw new ArgumentException($"mask ratio must be in (0, 1) (got {maskRatio})");
        int keep = (int)(tokens * (1 - maskRatio));
        if (keep < 1) throw new ArgumentException($"mask ratio {maskRatio} leaves no visible token out of {tokens}");
        if (keep >= tokens) throw new ArgumentException($"mask ratio {maskRatio} masks no token out of {tokens}");
        return keep;
    }

    /// <summary>Per sample, uniform random: argsort of uniform noise, the first `keep` are visible.</summary>
    public static Masking Random(long batch, int tokens, double maskRatio, BatchRandom gen, Device device, ScalarType dtype)
    {
        int keep = KeepCount(tokens, maskRatio);
        using var scope = NewDisposeScope();
        var noise = gen.Rand(batch, tokens).to(device);   // drawn on CPU: same numbers on every device and every sharding
        var order = argsort(noise, 1);
        var restore = argsort(order, 1);
        var keepIds = order[.., ..keep];
        var mask = ones(batch, tokens, dtype: dtype, device: device);
        mask[.., ..keep] = 0;
        mask = gather(mask, 1, restore);
        return new Masking(keepIds.MoveToOuterDisposeScope(), restore.MoveToOuterDisposeScope(), mask.MoveToOuterDisposeScope());
    }

    /// <summary>
    /// Support set of MetaMAE: every visible token, plus each Nearby-S token (a masked token
    /// adjacent to a visible one) kept independently with probability r. (B, L) 0/1.
    /// </summary>
    public Tensor Support(InputSpec spec, double r, BatchRandom gen)
    {
        using var scope = NewDisposeScope();
        var near = spec.NearbyMasked(Mask);
        var u = gen.Rand(Mask.shape[0], Mask.shape[1]).to(Mask.device);
        var extra = near * (u < r).to(Mask.dtype);
        return (1 - Mask + extra).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        KeepIds.Dispose();
        IdsRestore.Dispose();
        Mask.Dispose();
    }
}
