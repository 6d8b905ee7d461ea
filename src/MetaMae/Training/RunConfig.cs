using System.Text.Json.Nodes;
using System.Text.Json;
using System.Text.Json.Serialization;
using MetaMae.Modalities;
using MetaMae.Model;
using MetaMae.Objectives;

namespace MetaMae.Training;

/// <summary>The learning-rate schedule (config.json "lr_schedule", the flag --lr-schedule).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<LrSchedule>))]
public enum LrSchedule
{
    /// <summary>The paper's: no schedule (after the warm-up, if any).</summary>
    [JsonStringEnumMemberName("constant")] Constant,
    /// <summary>The MAE reference's: after the warm-up, half a cosine from Lr down to 0 at the last of Steps.</summary>
    [JsonStringEnumMemberName("cosine")] Cosine,
}

/// <summary>Optimisation settings of a pretraining run (paper Appendix A).</summary>
public sealed record TrainOptions
{
    /// <summary>Optimizer steps (the paper: 100k; CPU runs use far fewer).</summary>
    public int Steps { get; init; } = 1000;
    /// <summary>Batch size (per dataset, Table 8).</summary>
    public int Batch { get; init; } = 64;
    /// <summary>AdamW learning rate 1e-4, no schedule.</summary>
    public double Lr { get; init; } = 1e-4;
    /// <summary>AdamW weight decay 1e-4.</summary>
    public double WeightDecay { get; init; } = 1e-4;
    /// <summary>Seed of initialisation, batches, masks and dropout.</summary>
    public long Seed { get; init; } = 0;
    /// <summary>Write a checkpoint every N steps (0 = only at the end). 100: a killed run loses at most 100 steps, and
    /// at the paper preset's ~1 step/s a checkpoint every ~2 minutes costs well under 1% of the run. (Plans write one
    /// at each quarter of their budget, their unit of resumption.)</summary>
    public int SaveEvery { get; init; } = 100;
    /// <summary>Report progress every N steps (and measure the latent adaptation and the gradient shares on those
    /// steps, which costs extra passes: 20 keeps that to a few % of a run; the losses do not depend on it). Plans log
    /// each tenth of their budget.</summary>
    public int LogEvery { get; init; } = 20;
    /// <summary>Learning-rate schedule: constant (default: the paper's, no schedule) or cosine (the MAE reference's).
    /// </summary>
    public LrSchedule LrSchedule { get; init; } = LrSchedule.Constant;
    /// <summary>Linear warm-up from Lr / N to Lr over the first N steps, with either schedule (0: none, as the paper).</summary>
    public int WarmupSteps { get; init; } = 0;

    /// <summary>
    /// Matmul precision of the training steps (Model/ComputePrecision.cs): "fp32" (default: exact, the pinned losses
    /// are float32; why bf16 is not the default: ComputePrecision.Auto) or "bf16" (bfloat16 matmuls from 2^25
    /// multiply-adds on, float32 weights, optimizer, LayerNorm, softmax and losses; refused on a CPU without native
    /// bf16). Weights are float32 either way, so a resume may change it, like the learning rate. Features are
    /// extracted in float32 whatever the run trained in (Pretrainer.CreateTrainingModel).
    /// </summary>
    public Precision Precision { get; init; } = Precision.Fp32;

    /// <summary>
    /// The learning rate of the step with 0-based index `step`: a function of the step and the settings
    /// alone, so a resumed run uses the rates an uninterrupted one would. Constant without warm-up is Lr exactly.
    /// </summary>
    public double LrAt(int step)
    {
        if (step < WarmupSteps) return Lr * (step + 1) / WarmupSteps;
        if (LrSchedule != LrSchedule.Cosine) return Lr;
        double progress = (double)(step - WarmupSteps) / Math.Max(1, Steps - WarmupSteps);   // [0, 1)
        return Lr * 0.5 * (1 + Math.Cos(Math.PI * progress));
    }

    public void Validate()
    {
        if (Steps < 1) throw new ArgumentException($"--steps must be >= 1 (got {Steps})");
        if (Batch < 2) throw new ArgumentException($"--batch must be >= 2 (got {Batch}); the task contrast needs two samples");
        if (Lr <= 0 || double.IsNaN(Lr)) throw new ArgumentException($"--lr must be > 0 (got {Lr})");
        if (WeightDecay < 0) throw new ArgumentException($"--weight-decay must be >= 0 (got {WeightDecay})");
        if (SaveEvery < 0) throw new ArgumentException($"--save-every must be >= 0 (got {SaveEvery})");
        if (LogEvery < 1) throw new ArgumentException($"log interval must be >= 1 (got {LogEvery})");
        if (!Enum.IsDefined(LrSchedule))
            throw new ArgumentException($"--lr-schedule must be one of {string.Join(", ", EnumNames<LrSchedule>.All)} " +
                                        $"(got {(int)LrSchedule})");
        if (!Enum.IsDefined(Precision))
            throw new ArgumentException($"--precision must be one of {string.Join(", ", Model.ComputePrecision.Names)} " +
                                        $"(got {(int)Precision})");
        if (WarmupSteps < 0) throw new ArgumentException($"--warmup-steps must be >= 0 (got {WarmupSteps})");
        if (LrSchedule == LrSchedule.Cosine && WarmupSteps >= Steps)
            throw new ArgumentException($"--warmup-steps ({WarmupSteps}) must be below --steps ({Steps}) with --lr-schedule cosine");
    }
}

/// <summary>Everything that defines a pretraining run; stored in each checkpoint.</summary>
public sealed record RunConfig(string Algo, string Dataset, InputSpec Spec, ModelConfig Model, ObjectiveOptions Objective,
    TrainOptions Train)
{
    public static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = false,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Parses and validates a stored configuration; anything malformed is an InvalidDataException naming source.</summary>
    public static RunConfig FromJson(string json, string source)
    {
        RunConfig c;
        try
        {
            c = JsonSerializer.Deserialize<RunConfig>(json, Json)
                ?? throw new InvalidDataException($"{source}: empty run configuration");
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or InvalidOperationException or ArgumentException)
        {
            throw new InvalidDataException($"{source}: the run configuration is not valid ({e.Message})");
        }
        if (c.Spec is null || c.Model is null || c.Objective is null || c.Train is null || c.Algo is null || c.Dataset is null)
            throw new InvalidDataException($"{source}: the run configuration lacks a part (algo, dataset, spec, model, objective, train)");
        try { c.Spec.Validate(); c.Model.Validate(); }
        catch (ArgumentException e) { throw new InvalidDataException($"{source}: the run configuration is not valid ({e.Message})"); }
        // stored before issue 34 made the projector run once per view: those runs trained with joint statistics
        if (JsonNode.Parse(json)?["objective"]?["projector_batch_norm"] is null)
            c = c with { Objective = c.Objective with { ProjectorBatchNorm = ProjectorBatchNorm.Joint } };
        return c;
    }

    /// <summary>
    /// Same run except the settings a resume may change (<see cref="OnResume.MayChange"/>: the step budget, the
    /// logging/checkpoint cadence, the learning rate and the precision). Under the cosine schedule the budget is its
    /// horizon, so the resumed run must keep it (see Pretrainer).
    /// </summary>
    public bool SameRunAs(RunConfig o) => Neutral(this) == Neutral(o);

    /// <summary>c with every setting a resume may change (<see cref="RunSettingTable"/>) at a fixed value.</summary>
    private static RunConfig Neutral(RunConfig c) =>
        RunSettingTable.All.Where(s => s.Resume == OnResume.MayChange).Aggregate(c, (r, s) => s.Neutral(r));
}
