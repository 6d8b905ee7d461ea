using MetaMae.Modalities;
using static TorchSharp.torch;

namespace MetaMae.Data;

public enum TaskKind { Classification, Regression, TokenClassification }

/// <summary>One split: raw inputs X (N, ..spec.RawShape) and labels (class ids) or regression targets.</summary>
/// <summary>For per-token tasks, TokenLabels[i][t] is the class of token t of sample i, or -1 where it has none (padding).</summary>
public sealed class Split(Tensor x, long[]? labels, float[]? targets = null, long[][]? tokenLabels = null)
{
    public long[][]? TokenLabels { get; } = tokenLabels;
    public Tensor X { get; } = x;
    public long[]? Labels { get; } = labels;
    public float[]? Targets { get; } = targets;
    public int Count => (int)X.shape[0];
    /// <summary>Sample ids (an id column, a FASTA header, a file name, or the data line), or null when the reader names none.</summary>
    public string[]? Ids { get; internal set; }

    /// <summary>The rows at the given indices (a new split).</summary>
    public Split Take(IReadOnlyList<int> idx)
    {
        using var ix = tensor(idx.Select(i => (long)i).ToArray());
        return new Split(X.index_select(0, ix), Labels is null ? null : idx.Select(i => Labels[i]).ToArray(),
            Targets is null ? null : idx.Select(i => Targets[i]).ToArray(),
            TokenLabels is null ? null : idx.Select(i => TokenLabels[i]).ToArray())
        { Ids = Ids is null ? null : idx.Select(i => Ids[i]).ToArray() };
    }
}

/// <summary>A dataset: its input spec, a train and a test split, and class names (empty for regression or unlabeled data).</summary>
public sealed class Dataset(string name, InputSpec spec, Split train, Split? test, string[] classNames,
    TaskKind task = TaskKind.Classification)
{
    public string Name { get; } = name;
    public InputSpec Spec { get; } = spec;
    public Split Train { get; } = train;
    public Split? Test { get; } = test;
    public string[] ClassNames { get; } = classNames;
    public TaskKind Task { get; } = task;
    /// <summary>What the reader left out, imputed or chose for users' own data (null for shipped datasets).</summary>
    public DataReport? Report { get; internal set; }
    public bool IsLabeled => Train.Labels is not null || Train.Targets is not null || Train.TokenLabels is not null;
}
