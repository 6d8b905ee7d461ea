using MetaMae.Data;
using MetaMae.Model;
using static TorchSharp.torch;

namespace MetaMae.Evaluation;

/// <summary>
/// Per-token linear probe (secondary-structure-like tasks): per-token features of the frozen
/// encoder, one linear head shared by all positions, accuracy over labelled tokens only
/// (label -1 = padding / unlabelled, never trained on nor scored). The validation hold-out is
/// made of whole sequences, so no sequence has tokens on both sides.
/// </summary>
public static class TokenProbe
{
    /// <summary>Per-token features (N, L, D) on the CPU.</summary>
    public static Tensor Features(MetaMaeModel model, Tensor rawX, int batch = 256) =>
        LinearProbe.Batched(model, rawX, batch, model.TokenFeatures);

    /// <summary>Flattens the labelled tokens of the given samples: features (M, D) and a split whose labels are the
    /// token classes.</summary>
    public static (Tensor Features, Split Tokens) Flatten(Tensor feats, Split split, IReadOnlyList<int> samples, int classes, string what)
    {
        var lab = split.TokenLabels ?? throw new ArgumentException($"{what}: no per-token labels");
        long L = feats.shape[1];
        var rows = new List<long>();
        var y = new List<long>();
        foreach (var i in samples)
        {
            if (lab[i].Length != L)
                throw new ArgumentException($"{what}: sample {i} has {lab[i].Length} token labels, " +
                    $"the encoder gives {L} tokens");
            for (int t = 0; t < L; t++)
            {
                long c = lab[i][t];
                if (c == -1) continue;
                if (c < 0 || c >= classes)
                    throw new ArgumentException($"{what}: sample {i} token {t} has label {c}, expected -1 (padding) " +
                        $"or 0..{classes - 1}");
                rows.Add(i * L + t);
                y.Add(c);
            }
        }
        if (rows.Count == 0) throw new ArgumentException($"{what}: no labelled tokens");
        using var flat = feats.reshape(-1, feats.shape[2]);
        using var ix = tensor(rows.ToArray());
        var f = flat.index_select(0, ix);
        return (f, new Split(f, y.ToArray()));
    }

    public static ProbeResult Run(MetaMaeModel model, Dataset ds, ProbeOptions o)
    {
        o.Validate();
        if (ds.Task != TaskKind.TokenClassification) throw new ArgumentException($"dataset '{ds.Name}' is not a per-token task");
        if (ds.Test is null) throw new ArgumentException($"dataset '{ds.Name}' has no test split");
        using var fTrain = Features(model, ds.Train.X, o.FeatureBatch);
        using var fTest = Features(model, ds.Test.X, o.FeatureBatch);
        return RunOnFeatures(fTrain, fTest, ds, o);
    }

    /// <summary>The per-token probe on given per-token features (N, L, D) of the train and test splits.</summary>
    public static ProbeResult RunOnFeatures(Tensor fTrain, Tensor fTest, Dataset ds, ProbeOptions o)
    {
        if (ds.Task != TaskKind.TokenClassification) throw new ArgumentException($"dataset '{ds.Name}' is not a per-token task");
        if (ds.Test is null) throw new ArgumentException($"dataset '{ds.Name}' has no test split");
        int classes = ds.ClassNames.Length;
        // hold out whole sequences (unstratified), then flatten each side to its labelled tokens
        var seqs = new Split(ds.Train.X, null, new float[ds.Train.Count]);
        if (o.Features != FeatureKind.Mean)
            throw new ArgumentException($"dataset '{ds.Name}' is a per-token task: its probe reads each token's own " +
                "features, so --features does not apply");
        var (trSeq, vaSeq) = LinearProbe.Carve(seqs, o);                       // a label fraction keeps that share of the sequences
        var (fTr, tr) = Flatten(fTrain, ds.Train, trSeq, classes, $"{ds.Name} train");
        var (fVa, va) = Flatten(fTrain, ds.Train, vaSeq, classes, $"{ds.Name} train (validation)");
        var (fTe, te) = Flatten(fTest, ds.Test, Enumerable.Range(0, ds.Test.Count).ToArray(), classes, $"{ds.Name} test");
        using (fTr) using (fVa) using (fTe)
        {
            var n = tr.Count;
            using var all = cat([fTr, fVa], 0);
            var joined = new Split(all, tr.Labels!.Concat(va.Labels!).ToArray());
            var carve = (Enumerable.Range(0, n).ToArray(), Enumerable.Range(n, va.Count).ToArray());
            return LinearProbe.RunOnFeatures(all, joined, fTe, te, TaskKind.Classification, classes, o, carve: carve)
                with { Metric = "token_accuracy" };
        }
    }
}
