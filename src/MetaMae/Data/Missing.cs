using static TorchSharp.torch;

namespace MetaMae.Data;

/// <summary>Policy for missing cells of a user's table (`--missing`).</summary>
public enum MissingPolicy
{
    /// <summary>Pretraining treats a missing cell as masked; features impute the training mean (the default).</summary>
    Mask,
    /// <summary>A missing cell is an error naming file, line and field (the strict behaviour before missing cells were
    /// supported).</summary>
    Error,
}

/// <summary>
/// Missing cells, decided in this one place.
/// <para>Representation: a missing cell is NaN in a dataset's raw inputs X. Tables are standardised with the
/// observed training values of each feature, so 0 is the training mean.</para>
/// <para>Pretraining (MetaMAE and MAE, a natural fit for a masked auto-encoder): a token holding a NaN is never a
/// reconstruction target and never in the support set, and it is hidden from the encoder like a masked token:
/// <see cref="Objectives.Masking.Random"/> puts missing tokens first among the masked ones, so the number of
/// visible tokens (and the mask ratio) is unchanged. Only when a sample has more missing tokens than the mask
/// ratio hides does a missing token stay visible, with the value 0 (the training mean).</para>
/// <para>Features (probe, embed): NaN becomes 0, the training mean (<see cref="Impute"/>).</para>
/// </summary>
public static class Missing
{
    /// <summary>Cell texts that mean "missing": empty, NA, N/A, NaN, nan, ? (after trimming spaces).</summary>
    public static readonly string[] Markers = ["", "NA", "N/A", "NaN", "nan", "?"];

    public static bool IsMissing(string cell) => Array.IndexOf(Markers, cell.Trim()) >= 0;

    /// <summary>tokens (B, L, P) float -> observed (B, L) as 1/0 of dtype, or null when no token holds a NaN
    /// (discrete tokens never do).</summary>
    public static Tensor? Observed(Tensor tokens, ScalarType dtype)
    {
        if (!tokens.is_floating_point()) return null;
        using var scope = NewDisposeScope();
        var nan = tokens.isnan().reshape(tokens.shape[0], tokens.shape[1], -1).any(-1);   // (B, L)
        if (!nan.any().item<bool>()) return null;
        return nan.logical_not().to(dtype).MoveToOuterDisposeScope();
    }

    /// <summary>x with every NaN replaced by 0 (the training mean of standardised data); x itself when discrete.</summary>
    public static Tensor Impute(Tensor x) => x.is_floating_point() ? x.nan_to_num(0) : x;
}
