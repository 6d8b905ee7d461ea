using MetaMae.Evaluation;
using MetaMae.Model;
using MetaMae.Training;
using static TorchSharp.torch;

namespace MetaMae;

/// <summary>Conveniences for library users: features of new samples, saving and loading weights.</summary>
public static class MetaMaeModelExtensions
{
    /// <summary>
    /// Frozen features (N, D) of raw samples (N, ..spec.RawShape): batched, in eval mode, with no
    /// gradient, on the CPU. The same features a linear probe uses (<see cref="LinearProbe.Features(MetaMaeModel, Tensor, int)"/>).
    /// </summary>
    public static Tensor ExtractFeatures(this MetaMaeModel model, Tensor rawX, int batch = 256)
    {
        if (batch < 1) throw new ArgumentException($"batch must be >= 1 (got {batch})");
        model.Spec.CheckBatch(rawX, "samples");
        return LinearProbe.Features(model, rawX, batch);
    }

    /// <summary>Frozen features of a kind (<see cref="FeatureKind"/>): (N, D), or (N, L, D) for tokens; as above.</summary>
    public static Tensor ExtractFeatures(this MetaMaeModel model, Tensor rawX, FeatureKind kind, int batch = 256)
    {
        if (batch < 1) throw new ArgumentException($"batch must be >= 1 (got {batch})");
        model.Spec.CheckBatch(rawX, "samples");
        return FeatureExtraction.Extract(model, rawX, kind, batch);
    }

    /// <summary>Saves the model and its run configuration as a checkpoint (no optimizer state); load it with
    /// <see cref="Checkpoint.LoadModel(string, Device?)"/>.</summary>
    public static void Save(this MetaMaeModel model, string path, RunConfig config, int step = 0) =>
        Checkpoint.Save(path, model, null, config, step, double.NaN);
}
