using MetaMae.Model;
using MetaMae.Objectives;
using TorchSharp;
using static TorchSharp.torch;

namespace MetaMae.Evaluation;

/// <summary>A batch of samples masked and reconstructed: raw (N, ..spec), mask (N, L), support (N, L), predicted raw
/// values or ids pasted over the visible input (what `metamae show` and TensorBoard draw).</summary>
public sealed record MaskedReconstruction(Tensor Raw, Tensor Mask, Tensor Support, Tensor Predicted) : IDisposable
{
    public void Dispose() { Raw.Dispose(); Mask.Dispose(); Support.Dispose(); Predicted.Dispose(); }
}

/// <summary>Masked inference for pictures: the model's reconstruction of masked samples.</summary>
public static class Reconstructions
{
    /// <summary>
    /// Masks raw samples (N, ..spec) with the model's objective settings and reconstructs them
    /// from the amortised latent (no adaptation step): raw, mask (N, L), support (N, L: visible +
    /// drawn Nearby-S), predicted raw values (continuous) or ids (tokens), pasted over the visible input.
    /// </summary>
    public static MaskedReconstruction Of(MetaMaeModel model, Tensor raw, double maskRatio, double nearbyRatio, long seed)
    {
        var spec = model.Spec;
        using var _ = no_grad();
        using var scope = NewDisposeScope();
        model.eval();
        var tokens = spec.Patchify(spec.IsDiscrete ? raw : raw.to(ScalarType.Float32));
        using var gen = new Generator(device: CPU).manual_seed(seed);
        using var m = Masking.Random(raw.shape[0], spec.NumTokens, maskRatio, gen, CPU, ScalarType.Float32);
        var support = m.Support(spec, nearbyRatio, gen);
        var (latent, restore) = model.EncodeMasked(tokens, m);
        var pred = model.Decode(latent, restore);
        Tensor pasted;
        if (spec.IsDiscrete)
            pasted = where(m.Mask > 0, pred.argmax(-1), tokens);
        else
            pasted = spec.Unpatchify(where(m.Mask.unsqueeze(-1) > 0, pred, tokens));
        return new MaskedReconstruction(raw.clone().MoveToOuterDisposeScope(), m.Mask.clone().MoveToOuterDisposeScope(),
            support.MoveToOuterDisposeScope(), pasted.MoveToOuterDisposeScope());
    }
}
