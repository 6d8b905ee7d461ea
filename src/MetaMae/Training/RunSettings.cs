using MetaMae.Data;
using MetaMae.Modalities;
using MetaMae.Model;
using MetaMae.Objectives;

namespace MetaMae.Training;

/// <summary>
/// What a user may set on a run (CLI flags, an experiment plan's row settings). Null means "not
/// given": the value then comes from the algorithm's defaults, else the dataset's Table 8 preset,
/// else the option records' own defaults (TrainOptions, ObjectiveOptions, ModelConfig).
/// </summary>
public sealed record RunOverrides
{
    public int? Steps { get; init; }
    public int? Batch { get; init; }
    public double? Lr { get; init; }
    public int? SaveEvery { get; init; }
    public int? LogEvery { get; init; }
    public double? MaskRatio { get; init; }
    public double? Alpha { get; init; }
    public double? Lambda { get; init; }
    public double? NearbyRatio { get; init; }
    public int? InnerSteps { get; init; }
    public bool? FirstOrder { get; init; }
    public double? Temperature { get; init; }
    public int? DecoderDepth { get; init; }
    public double? Dropout { get; init; }
    public InnerLossScaling? InnerLoss { get; init; }
    public InnerDistance? Distance { get; init; }
    public LrSchedule? LrSchedule { get; init; }
    public int? WarmupSteps { get; init; }
    public Precision? Precision { get; init; }
    public ProjectorBatchNorm? ProjectorBatchNorm { get; init; }
    public int? MinVisible { get; init; }
}

/// <summary>
/// The one resolver of a run's configuration: dataset preset (Table 8), then the algorithm's
/// defaults (<see cref="Algorithms.Defaults"/>), then the user's overrides. The CLI, the
/// random-init probe, import and experiment plans all build their RunConfig here.
/// </summary>
public static class RunSettings
{
    /// <param name="algo">An --algo name, or <see cref="Algorithms.RandomInit"/> (the encoder is all that matters).</param>
    /// <param name="dataset">The dataset's name, recorded in the configuration.</param>
    /// <param name="spec">The dataset's input spec.</param>
    /// <param name="preset">The dataset's Table 8 preset.</param>
    /// <param name="modelPreset">paper, small or tiny (<see cref="ModelConfig.PresetNames"/>).</param>
    /// <param name="seed">The run's seed.</param>
    /// <param name="user">What the user set; null = nothing.</param>
    public static RunConfig Resolve(string algo, string dataset, InputSpec spec, Table8Row preset, string modelPreset,
        long seed, RunOverrides? user = null)
    {
        var o = user ?? new RunOverrides();
        var a = Algorithms.Get(algo);
        var model = ModelConfig.FromPreset(modelPreset) with
        {
            DecDepth = o.DecoderDepth ?? preset.DecoderDepth,
            Dropout = o.Dropout ?? preset.Dropout,
        };
        var d = Algorithms.Defaults(algo, preset);
        var obj = d with
        {
            MaskRatio = o.MaskRatio ?? d.MaskRatio,
            Alpha = o.Alpha ?? d.Alpha,
            Lambda = a.Adapts ? o.Lambda ?? d.Lambda : 0,
            NearbyRatio = o.NearbyRatio ?? d.NearbyRatio,
            InnerSteps = o.InnerSteps ?? d.InnerSteps,
            SecondOrder = o.FirstOrder is bool fo ? !fo : d.SecondOrder,
            Temperature = o.Temperature ?? d.Temperature,
            InnerLoss = o.InnerLoss ?? d.InnerLoss,
            Distance = o.Distance ?? d.Distance,
            ProjectorBatchNorm = o.ProjectorBatchNorm ?? d.ProjectorBatchNorm,
            MinVisible = o.MinVisible ?? d.MinVisible,
        };
        var t = new TrainOptions();
        var train = t with
        {
            Steps = o.Steps ?? t.Steps, Batch = o.Batch ?? preset.Batch, Lr = o.Lr ?? t.Lr, Seed = seed,
            SaveEvery = o.SaveEvery ?? t.SaveEvery, LogEvery = o.LogEvery ?? t.LogEvery,
            LrSchedule = o.LrSchedule ?? t.LrSchedule, WarmupSteps = o.WarmupSteps ?? t.WarmupSteps,
            Precision = o.Precision ?? t.Precision,
        };
        return new RunConfig(algo, dataset, spec, model, obj, train);
    }
}
