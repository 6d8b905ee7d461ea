using MetaMae.Modalities;
using static TorchSharp.torch;

namespace MetaMae.Objectives;

/// <summary>
/// A random masking of a batch. mask: (B, L), 1 = masked (query), 0 = visible.
/// keepIds: (B, keep) visible positions in shuffled order; idsRestore: (B, L) its inverse.
/// Observed: (B, L), 0 = a missing token (see <see cref="Data.Missing"/>), or null when none is missing.
/// </summary>
public sealed record Masking(Tensor KeepIds, Tensor IdsRestore, Tensor Mask) : IDisposable
{
    public int Keep => (int)KeepIds.shape[1];

    /// <summary>(B, L) 1 = observed, 0 = missing; null when no token is missing.</summary>
    public Tensor? Observed { get; private init; }

    /// <summary>Reconstruction targets (B, L): the masked tokens that are observed (a missing token never is one).</summary>
    public Tensor Query { get; private init; } = Mask;

    /// <summary>Tokens kept per sample: int(L * (1 - ratio)), as the authors' code, raised to minVisible
    /// (<see cref="ObjectiveOptions.MinVisible"/>; 1, the authors', changes nothing).</summary>
    public static int KeepCount(int tokens, double maskRatio, int minVisible = 1)
    {
        if (maskRatio is <= 0 or >= 1) throw new ArgumentException($"mask ratio must be in (0, 1) (got {maskRatio})");
        int keep = (int)(tokens * (1 - maskRatio));
        if (minVisible > 1) keep = Math.Max(keep, minVisible);           // 1: the ratio alone, a ratio keeping none refused
        if (minVisible > 1 && keep >= tokens)
            throw new ArgumentException($"--min-visible {minVisible} leaves no masked token out of {tokens}");
        if (keep < 1) throw new ArgumentException($"mask ratio {maskRatio} leaves no visible token out of {tokens}");
        if (keep >= tokens) throw new ArgumentException($"mask ratio {maskRatio} masks no token out of {tokens}");
        return keep;
    }

    /// <summary>Per sample, uniform random: argsort of uniform noise, the first `keep` are visible. With observed
    /// (B, L) (0 = missing), missing tokens sort last, i.e. are masked first; the same noise is drawn either way.</summary>
    public static Masking Random(long batch, int tokens, double maskRatio, BatchRandom gen, Device device, ScalarType dtype,
        Tensor? observed = null, int minVisible = 1)
    {
        int keep = KeepCount(tokens, maskRatio, minVisible);
        using var scope = NewDisposeScope();
        var noise = gen.Rand(batch, tokens).to(device);   // drawn on CPU: same numbers on every device and every sharding
        if (observed is not null) noise = noise + 2 * (1 - observed.to(noise.dtype));   // noise in [0, 1): missing -> [2, 3)
        var order = argsort(noise, 1);
        var restore = argsort(order, 1);
        var keepIds = order[.., ..keep];
        var mask = ones(batch, tokens, dtype: dtype, device: device);
        mask[.., ..keep] = 0;
        mask = gather(mask, 1, restore);
        if (observed is null)
            return new Masking(keepIds.MoveToOuterDisposeScope(), restore.MoveToOuterDisposeScope(), mask.MoveToOuterDisposeScope());
        var obs = (observed > 0.5).to(dtype);                                 // (B, L) 1 = observed
        return new Masking(keepIds.MoveToOuterDisposeScope(), restore.MoveToOuterDisposeScope(), mask.MoveToOuterDisposeScope())
        {
            Observed = obs.MoveToOuterDisposeScope(), Query = (mask * obs).MoveToOuterDisposeScope(),
        };
    }

    /// <summary>
    /// Support set of MetaMAE: every visible token, plus each Nearby-S token (a masked token
    /// adjacent to a visible one) kept independently with probability r. (B, L) 0/1. Missing tokens are never in it.
    /// </summary>
    public Tensor Support(InputSpec spec, double r, BatchRandom gen)
    {
        using var scope = NewDisposeScope();
        var near = spec.NearbyMasked(Mask);
        var u = gen.Rand(Mask.shape[0], Mask.shape[1]).to(Mask.device);
        var extra = near * (u < r).to(Mask.dtype);
        var s = 1 - Mask + extra;
        return (Observed is null ? s : s * Observed).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        KeepIds.Dispose();
        IdsRestore.Dispose();
        Mask.Dispose();
        if (Observed is not null) { Observed.Dispose(); Query.Dispose(); }
    }
}
