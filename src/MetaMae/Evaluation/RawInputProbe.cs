using MetaMae.Data;
using MetaMae.Modalities;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MetaMae.Evaluation;

/// <summary>
/// The raw-input reference row (issue 17, point 3): the same linear probe on the input itself instead of an
/// encoder's features. Continuous inputs are flattened (the probe standardises them), missing cells (NaN) imputed with
/// the training mean as the encoder rows impute them (<see cref="Missing.Impute"/>); discrete tokens are one-hot over the
/// vocabulary, with the padding id's column dropped so padding positions are all zeros, or, where that one-hot would be
/// wider than <see cref="MaxOneHotColumns"/> (a caption over a 30k word-piece vocabulary), a bag of words over the ids
/// the training split uses. A multi-input sample concatenates its inputs' raw features. Per-token tasks use each
/// token's own raw features (its one-hot, or its patch values).
/// </summary>
public static class RawInputProbe
{
    /// <summary>The features a raw-input probe reports (ProbeResult.Features): the input itself, no encoder.</summary>
    public const string FeatureName = "raw";

    /// <summary>
    /// The widest positional one-hot (length x vocabulary columns) of one token input that the raw row keeps: 65,536
    /// (protein-families: 128 x 25 = 3,200). Wider inputs become a bag of words: emoji-captions' caption is 32 x 30,521 =
    /// 976,672 columns one-hot, 6.0 GB in float32 for its 1,524 training samples before the probe's float64 copies, and
    /// the process was killed by the kernel.
    /// </summary>
    public const long MaxOneHotColumns = 1L << 16;

    /// <summary>Whether a token input's raw features are a bag of words (its positional one-hot is too wide).</summary>
    public static bool IsBagOfWords(TokenSpec ts) => (long)ts.Length * (ts.Vocab - (ts.PadId is null ? 0 : 1)) > MaxOneHotColumns;

    /// <summary>
    /// Per input (one entry for a single spec), the ids a bag-of-words input counts: those that occur in trainX (padding
    /// excluded), sorted; null for an input that is not a bag of words.
    /// </summary>
    public static long[]?[] Vocabulary(InputSpec spec, Tensor trainX)
    {
        var inputs = spec is MultiInputSpec m ? m.Inputs.ToArray() : [spec];
        var result = new long[]?[inputs.Length];
        for (int i = 0; i < inputs.Length; i++)
        {
            if (inputs[i] is not TokenSpec ts || !IsBagOfWords(ts)) continue;
            using var scope = NewDisposeScope();
            var ids = Segment(spec, trainX, i).to(ScalarType.Int64).flatten();
            result[i] = ids.unique().Item1.data<long>().ToArray().Where(v => v != ts.PadId).ToArray();
        }
        return result;
    }

    /// <summary>Input i's raw values of a batch (N, ..input raw shape), ids rounded to int64; the batch itself for one
    /// input.</summary>
    private static Tensor Segment(InputSpec spec, Tensor rawX, int i)
    {
        if (spec is not MultiInputSpec m) return rawX;
        var (_, _, input, ro, rl) = m.Segments[i];
        var seg = rawX.narrow(1, ro, rl).reshape([rawX.shape[0], .. input.RawShape]);
        return input.IsDiscrete ? seg.round().to(ScalarType.Int64) : seg;
    }
    /// <summary>Raw per-token features (N, L, W) float32: a token's one-hot (pad column dropped) or its patch values.</summary>
    public static Tensor TokenFeatures(InputSpec spec, Tensor rawX)
    {
        if (spec is MultiInputSpec)
            throw new NotSupportedException("per-token raw features of a multi-input spec (no per-token task has one)");
        using var scope = NewDisposeScope();
        var tokens = spec.Patchify(spec.IsDiscrete ? rawX : rawX.to(ScalarType.Float32));   // (N, L) ids or (N, L, P)
        if (spec is TokenSpec ts) return OneHot(tokens, ts).MoveToOuterDisposeScope();
        return Missing.Impute(tokens.to(ScalarType.Float32)).MoveToOuterDisposeScope();      // NaN: the training mean, 0
    }

    /// <summary>
    /// Raw features (N, D) float32 of whole samples: the per-token features flattened (per input, concatenated); a
    /// bag-of-words input (<see cref="IsBagOfWords"/>) counts the ids of vocabulary[i] (<see cref="Vocabulary"/> of the
    /// training split; null: every id but the padding id).
    /// </summary>
    public static Tensor Features(InputSpec spec, Tensor rawX, long[]?[]? vocabulary = null)
    {
        using var scope = NewDisposeScope();
        long n = rawX.shape[0];
        var inputs = spec is MultiInputSpec m ? m.Inputs.ToArray() : [spec];
        var parts = new List<Tensor>();
        for (int i = 0; i < inputs.Length; i++)
        {
            var seg = Segment(spec, rawX, i);                                                // (N, ..input raw shape)
            parts.Add(inputs[i] is TokenSpec ts && IsBagOfWords(ts)
                ? BagOfWords(seg, ts, vocabulary?[i])                                          // (N, K)
                : TokenFeatures(inputs[i], seg).reshape(n, -1));                               // (N, L * W)
        }
        return (parts.Count == 1 ? parts[0] : cat(parts, 1)).MoveToOuterDisposeScope();
    }

    /// <summary>ids (N, L) to counts (N, K) float32 of the K ids in keep (default: every id but the padding id).</summary>
    private static Tensor BagOfWords(Tensor ids, TokenSpec spec, long[]? keep)
    {
        using var scope = NewDisposeScope();
        keep ??= Enumerable.Range(0, spec.Vocab).Where(v => v != spec.PadId).Select(v => (long)v).ToArray();
        var slot = full(spec.Vocab, keep.Length, ScalarType.Int64);                          // (V): an id's column, K = none
        slot.index_put_(arange(keep.Length, ScalarType.Int64), tensor(keep));
        var cols = slot.index_select(0, ids.to(ScalarType.Int64).flatten()).view(ids.shape[0], -1);   // (N, L)
        var counts = zeros(ids.shape[0], keep.Length + 1).scatter_add_(1, cols, ones(cols.shape));    // (N, K + 1)
        return counts.narrow(1, 0, keep.Length).contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>ids (N, L) to one-hot (N, L, V') float32; V' = V, or V - 1 without the padding id's column.</summary>
    private static Tensor OneHot(Tensor ids, TokenSpec spec)
    {
        var oh = functional.one_hot(ids.to(ScalarType.Int64), spec.Vocab).to(ScalarType.Float32);   // (N, L, V)
        if (spec.PadId is not int pad) return oh;
        var keep = tensor(Enumerable.Range(0, spec.Vocab).Where(v => v != pad).Select(v => (long)v).ToArray());
        return oh.index_select(2, keep);                                                      // (N, L, V - 1)
    }

    /// <summary>The raw-input probe at each label fraction, on one computation of the raw features (per-token tasks:
    /// per fraction). Results in the order of fractions.</summary>
    public static ProbeResult[] RunAtFractions(Dataset ds, ProbeOptions o, IReadOnlyList<double> fractions)
    {
        o.Validate();
        if (!ds.IsLabeled) throw new ArgumentException($"dataset '{ds.Name}' has no labels: nothing to probe");
        if (ds.Test is null) throw new ArgumentException($"dataset '{ds.Name}' has no test split");
        if (ds.Task == TaskKind.TokenClassification)
            return fractions.Select(f => Run(ds, o with { LabelFraction = f })).ToArray();
        var vocabulary = Vocabulary(ds.Spec, ds.Train.X);
        using var fTrain = Features(ds.Spec, ds.Train.X, vocabulary);
        using var fTest = Features(ds.Spec, ds.Test.X, vocabulary);
        return fractions.Select(f => LinearProbe.RunOnFeatures(fTrain, ds.Train, fTest, ds.Test, ds.Task, ds.ClassNames.Length,
            o with { LabelFraction = f }) with { Features = FeatureName }).ToArray();
    }

    /// <summary>The linear probe (options o, same split carve and protocol as an encoder's) on the raw input.</summary>
    public static ProbeResult Run(Dataset ds, ProbeOptions o)
    {
        o.Validate();
        if (!ds.IsLabeled) throw new ArgumentException($"dataset '{ds.Name}' has no labels: nothing to probe");
        if (ds.Test is null) throw new ArgumentException($"dataset '{ds.Name}' has no test split");
        if (ds.Task == TaskKind.TokenClassification)
        {
            using var tTrain = TokenFeatures(ds.Spec, ds.Train.X);
            using var tTest = TokenFeatures(ds.Spec, ds.Test.X);
            return TokenProbe.RunOnFeatures(tTrain, tTest, ds, o with { Features = FeatureKind.Mean }) with { Features = FeatureName };
        }
        var vocabulary = Vocabulary(ds.Spec, ds.Train.X);
        using var fTrain = Features(ds.Spec, ds.Train.X, vocabulary);
        using var fTest = Features(ds.Spec, ds.Test.X, vocabulary);
        return LinearProbe.RunOnFeatures(fTrain, ds.Train, fTest, ds.Test, ds.Task, ds.ClassNames.Length, o) with { Features = FeatureName };
    }
}
