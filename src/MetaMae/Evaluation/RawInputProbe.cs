using MetaMae.Data;
using MetaMae.Modalities;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MetaMae.Evaluation;

/// <summary>
/// The raw-input reference row (issue 17, point 3): the same linear probe on the input itself instead of an
/// encoder's features. Continuous inputs are flattened (the probe standardises them); discrete tokens are
/// one-hot over the vocabulary, with the padding id's column dropped so padding positions are all zeros.
/// A multi-input sample concatenates its inputs' raw features. Per-token tasks use each token's own raw
/// features (its one-hot, or its patch values).
/// </summary>
public static class RawInputProbe
{
    /// <summary>Raw per-token features (N, L, W) float32: a token's one-hot (pad column dropped) or its patch values.</summary>
    public static Tensor TokenFeatures(InputSpec spec, Tensor rawX)
    {
        if (spec is MultiInputSpec)
            throw new NotSupportedException("per-token raw features of a multi-input spec (no per-token task has one)");
        using var scope = NewDisposeScope();
        var tokens = spec.Patchify(spec.IsDiscrete ? rawX : rawX.to(ScalarType.Float32));   // (N, L) ids or (N, L, P)
        if (spec is TokenSpec ts) return OneHot(tokens, ts).MoveToOuterDisposeScope();
        return tokens.to(ScalarType.Float32).MoveToOuterDisposeScope();
    }

    /// <summary>Raw features (N, D) float32 of whole samples: the per-token features flattened (per input, concatenated).</summary>
    public static Tensor Features(InputSpec spec, Tensor rawX)
    {
        using var scope = NewDisposeScope();
        long n = rawX.shape[0];
        if (spec is MultiInputSpec m)
        {
            var parts = new List<Tensor>();
            foreach (var (_, _, input, ro, rl) in m.Segments)
            {
                var seg = rawX.narrow(1, ro, rl).reshape([n, .. input.RawShape]);         // (N, ..input raw shape)
                if (input.IsDiscrete) seg = seg.round().to(ScalarType.Int64);
                parts.Add(Features(input, seg));
            }
            return cat(parts, 1).MoveToOuterDisposeScope();
        }
        return TokenFeatures(spec, rawX).reshape(n, -1).MoveToOuterDisposeScope();     // (N, L * W)
    }

    /// <summary>ids (N, L) to one-hot (N, L, V') float32; V' = V, or V - 1 without the padding id's column.</summary>
    private static Tensor OneHot(Tensor ids, TokenSpec spec)
    {
        var oh = functional.one_hot(ids.to(ScalarType.Int64), spec.Vocab).to(ScalarType.Float32);   // (N, L, V)
        if (spec.PadId is not int pad) return oh;
        var keep = tensor(Enumerable.Range(0, spec.Vocab).Where(v => v != pad).Select(v => (long)v).ToArray());
        return oh.index_select(2, keep);                                                      // (N, L, V - 1)
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
            return TokenProbe.RunOnFeatures(tTrain, tTest, ds, o with { Features = FeatureKind.Mean }) with { Features = "raw" };
        }
        using var fTrain = Features(ds.Spec, ds.Train.X);
        using var fTest = Features(ds.Spec, ds.Test.X);
        return LinearProbe.RunOnFeatures(fTrain, ds.Train, fTest, ds.Test, ds.Task, ds.ClassNames.Length, o) with { Features = "raw" };
    }
}
