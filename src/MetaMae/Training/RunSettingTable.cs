using System.Globalization;
using System.Text.Json.Nodes;
using MetaMae.Objectives;

namespace MetaMae.Training;

/// <summary>What <c>--resume</c> may do with a setting.</summary>
public enum OnResume
{
    /// <summary>The setting defines the run: a resume keeps the stored value (a different explicit value is an error).
    /// </summary>
    DefinesRun,
    /// <summary>A resume may change it: the budget, the cadence of logs and checkpoints, the learning rate (a run
    /// stopped by a NaN continues with a smaller one) and the precision (weights and optimizer state are float32 in
    /// both).</summary>
    MayChange,
}

/// <summary>
/// One user-settable run setting, defined once (issue 30): its key (the plan row setting; the CLI flag is
/// <see cref="Flag"/>), its help text (with the default and where it comes from), what a resume may do with it,
/// whether plan rows may set it, and how it is read from and written to <see cref="RunOverrides"/> and a stored
/// <see cref="RunConfig"/>. The CLI's flags, the plan keys, the resume checks and <see cref="RunConfig.SameRunAs"/>
/// are made from <see cref="RunSettingTable.All"/>; where a default comes from (Table 8, the algorithm, the option
/// records) is <see cref="RunSettings.Resolve"/>.
/// </summary>
public abstract class RunSetting(string key, string help, OnResume resume, bool inPlans)
{
    /// <summary>The plan row's setting key ("mask_ratio").</summary>
    public string Key { get; } = key;
    /// <summary>The CLI flag ("--mask-ratio").</summary>
    public string Flag => "--" + Key.Replace('_', '-');
    /// <summary>The flag's help text.</summary>
    public string Help { get; } = help;
    public OnResume Resume { get; } = resume;
    /// <summary>Whether a plan row's "settings" may give it (the plan itself sets steps and the cadences).</summary>
    public bool InPlans { get; } = inPlans;

    /// <summary>Whether the stored run uses the setting (a resume checks only those: lambda is 0 outside MetaMAE).
    /// </summary>
    public virtual bool UsedBy(RunConfig c) => true;

    /// <summary>The stored run's value as the CLI spells it (resume messages).</summary>
    public abstract string StoredText(RunConfig c);

    /// <summary>o with this setting read from a plan row's JSON value; a bad value is a DataFormatException naming where.
    /// </summary>
    public abstract RunOverrides ReadJson(RunOverrides o, JsonNode? value, string where);

    /// <summary>c with this setting at a fixed value: two runs that differ only in the <see cref="OnResume.MayChange"/>
    /// settings compare equal after it (<see cref="RunConfig.SameRunAs"/>).</summary>
    public abstract RunConfig Neutral(RunConfig c);

    /// <summary>c with the value v (of the setting's type).</summary>
    public abstract RunConfig Store(RunConfig c, object v);

    /// <summary>A value as the CLI and config.json spell it.</summary>
    public static string Text(object? v) => v switch
    {
        null => "",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        Enum e => EnumText(e),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => v.ToString() ?? "",
    };

    private static string EnumText(Enum e) =>
        (string)typeof(EnumNames<>).MakeGenericType(e.GetType()).GetMethod("Of")!.Invoke(null, [e])!;
}

/// <summary>A setting of a value type (number, switch or choice).</summary>
public sealed class RunSetting<T>(string key, string help, OnResume resume, bool inPlans,
    Func<RunOverrides, T?> get, Func<RunOverrides, T?, RunOverrides> set,
    Func<RunConfig, T> stored, Func<RunConfig, T, RunConfig> store, Func<RunConfig, bool>? usedBy = null)
    : RunSetting(key, help, resume, inPlans) where T : struct
{
    /// <summary>The value in o (null: not given).</summary>
    public T? Get(RunOverrides o) => get(o);
    /// <summary>o with the value (null: not given).</summary>
    public RunOverrides Set(RunOverrides o, T? v) => set(o, v);
    /// <summary>The stored run's value.</summary>
    public T Stored(RunConfig c) => stored(c);
    /// <summary>c with the value.</summary>
    public RunConfig Store(RunConfig c, T v) => store(c, v);

    public override bool UsedBy(RunConfig c) => usedBy?.Invoke(c) ?? true;
    public override string StoredText(RunConfig c) => Text(stored(c));
    public override RunConfig Neutral(RunConfig c) => store(c, default);
    public override RunConfig Store(RunConfig c, object v) => store(c, (T)v);

    public override RunOverrides ReadJson(RunOverrides o, JsonNode? v, string where)
    {
        var jv = v as JsonValue;
        object value = default(T) switch
        {
            double => jv is not null && jv.TryGetValue<double>(out var d) ? d
                : throw new Data.DataFormatException($"{where} must be a number"),
            int => jv is not null && jv.TryGetValue<int>(out var i) ? i
                : throw new Data.DataFormatException($"{where} must be an integer"),
            bool => jv is not null && jv.TryGetValue<bool>(out var b) ? b
                : throw new Data.DataFormatException($"{where} must be true or false"),
            Enum => ParseChoice(jv, where),
            _ => throw new NotSupportedException($"{Key}: a setting of type {typeof(T).Name}"),
        };
        return set(o, (T)value);
    }

    private static object ParseChoice(JsonValue? jv, string where)
    {
        var names = (string[])typeof(EnumNames<>).MakeGenericType(typeof(T)).GetProperty("All")!.GetValue(null)!;
        if (jv is null || !jv.TryGetValue<string>(out var t) || !names.Contains(t))
            throw new Data.DataFormatException($"{where} must be one of: {string.Join(", ", names)}");
        return Enum.GetValues(typeof(T)).GetValue(Array.IndexOf(names, t))!;
    }
}

/// <summary>
/// Every run setting a user may give, once (issue 30): the CLI's flags for pretrain / run, the keys of a plan row's
/// "settings", what a resume may change, and what <see cref="RunConfig.SameRunAs"/> ignores all come from here.
/// Defaults: <see cref="RunSettings.Resolve"/> (Table 8's row for the dataset, then the algorithm's, then the option
/// records <see cref="TrainOptions"/>, <see cref="ObjectiveOptions"/>, <see cref="Model.ModelConfig"/>).
/// </summary>
public static class RunSettingTable
{
    private static readonly TrainOptions T0 = new();
    private static readonly ObjectiveOptions O0 = new();

    public static readonly RunSetting<int> DecoderDepth = new("decoder_depth",
        "Decoder blocks n (0 = linear decoder, encoder sees every token)", OnResume.DefinesRun, true,
        o => o.DecoderDepth, (o, v) => o with { DecoderDepth = v },
        c => c.Model.DecDepth, (c, v) => c with { Model = c.Model with { DecDepth = v } });
    public static readonly RunSetting<double> Dropout = new("dropout", "Encoder dropout p", OnResume.DefinesRun, true,
        o => o.Dropout, (o, v) => o with { Dropout = v },
        c => c.Model.Dropout, (c, v) => c with { Model = c.Model with { Dropout = v } });
    public static readonly RunSetting<double> Alpha = new("alpha", "Inner step size of the latent adaptation",
        OnResume.DefinesRun, true, o => o.Alpha, (o, v) => o with { Alpha = v },
        c => c.Objective.Alpha, (c, v) => c with { Objective = c.Objective with { Alpha = v } });
    public static readonly RunSetting<double> Lambda = new("lambda", "Weight of the task-contrastive loss (0 = off)",
        OnResume.DefinesRun, true, o => o.Lambda, (o, v) => o with { Lambda = v },
        c => c.Objective.Lambda, (c, v) => c with { Objective = c.Objective with { Lambda = v } },
        usedBy: c => Algorithms.Get(c.Algo).Adapts);   // other algorithms store lambda 0 whatever was given
    public static readonly RunSetting<double> NearbyRatio = new("r", $"Nearby-S ratio r (default {O0.NearbyRatio})",
        OnResume.DefinesRun, true, o => o.NearbyRatio, (o, v) => o with { NearbyRatio = v },
        c => c.Objective.NearbyRatio, (c, v) => c with { Objective = c.Objective with { NearbyRatio = v } });
    public static readonly RunSetting<int> InnerSteps = new("inner_steps",
        $"Latent adaptation steps (default {O0.InnerSteps})", OnResume.DefinesRun, true,
        o => o.InnerSteps, (o, v) => o with { InnerSteps = v },
        c => c.Objective.InnerSteps, (c, v) => c with { Objective = c.Objective with { InnerSteps = v } });
    public static readonly RunSetting<bool> FirstOrder = new("first_order",
        "Detach the inner gradient (first-order adaptation)", OnResume.DefinesRun, true,
        o => o.FirstOrder, (o, v) => o with { FirstOrder = v },
        c => !c.Objective.SecondOrder, (c, v) => c with { Objective = c.Objective with { SecondOrder = !v } });
    public static readonly RunSetting<double> MaskRatio = new("mask_ratio", "Fraction of tokens masked",
        OnResume.DefinesRun, true, o => o.MaskRatio, (o, v) => o with { MaskRatio = v },
        c => c.Objective.MaskRatio, (c, v) => c with { Objective = c.Objective with { MaskRatio = v } });
    public static readonly RunSetting<double> Temperature = new("temperature",
        $"NT-Xent temperature (default {O0.Temperature}; e-Mix and Capri bring their own)", OnResume.DefinesRun, true,
        o => o.Temperature, (o, v) => o with { Temperature = v },
        c => c.Objective.Temperature, (c, v) => c with { Objective = c.Objective with { Temperature = v } });
    public static readonly RunSetting<double> Lr = new("lr", $"AdamW learning rate (default {T0.Lr})",
        OnResume.MayChange, true, o => o.Lr, (o, v) => o with { Lr = v },
        c => c.Train.Lr, (c, v) => c with { Train = c.Train with { Lr = v } });
    public static readonly RunSetting<int> Batch = new("batch", "Pretraining batch (default: the dataset preset's)",
        OnResume.DefinesRun, true, o => o.Batch, (o, v) => o with { Batch = v },
        c => c.Train.Batch, (c, v) => c with { Train = c.Train with { Batch = v } });
    public static readonly RunSetting<InnerLossScaling> InnerLoss = new("inner_loss",
        "Inner (support) loss scaling: reference (the authors' code: per-sample mean over support tokens, default) or " +
        "paper (Eq. 1: per-sample sum over support tokens)", OnResume.DefinesRun, true,
        o => o.InnerLoss, (o, v) => o with { InnerLoss = v },
        c => c.Objective.InnerLoss, (c, v) => c with { Objective = c.Objective with { InnerLoss = v } });
    public static readonly RunSetting<InnerDistance> Distance = new("distance",
        "d of the inner loss for continuous tokens: mse (mean of squares over a token's values, default), sq-l2 " +
        "(sum of squares) or l2 (the norm); token inputs use cross-entropy, the outer loss mse", OnResume.DefinesRun, true,
        o => o.Distance, (o, v) => o with { Distance = v },
        c => c.Objective.Distance, (c, v) => c with { Objective = c.Objective with { Distance = v } });
    public static readonly RunSetting<LrSchedule> Schedule = new("lr_schedule",
        "Learning-rate schedule: constant (the paper's, default) or cosine (to 0 at the last step, as the MAE reference)",
        OnResume.DefinesRun, true, o => o.LrSchedule, (o, v) => o with { LrSchedule = v },
        c => c.Train.LrSchedule, (c, v) => c with { Train = c.Train with { LrSchedule = v } });
    public static readonly RunSetting<int> WarmupSteps = new("warmup_steps",
        $"Linear learning-rate warm-up over the first N steps (default {T0.WarmupSteps})", OnResume.DefinesRun, true,
        o => o.WarmupSteps, (o, v) => o with { WarmupSteps = v },
        c => c.Train.WarmupSteps, (c, v) => c with { Train = c.Train with { WarmupSteps = v } });
    public static readonly RunSetting<ProjectorBatchNorm> ProjectorBn = new("projector_bn",
        "Task-contrast projector's BatchNorm: per-view (the authors' code: each view's own batch statistics, default) " +
        "or joint (both views at once, as before issue 34)", OnResume.DefinesRun, true,
        o => o.ProjectorBatchNorm, (o, v) => o with { ProjectorBatchNorm = v },
        c => c.Objective.ProjectorBatchNorm, (c, v) => c with { Objective = c.Objective with { ProjectorBatchNorm = v } });
    public static readonly RunSetting<int> MinVisible = new("min_visible",
        $"Fewest visible tokens per sample for mae / metamae (default {O0.MinVisible}: the mask ratio alone decides, " +
        "as the paper; Table 8's ratios leave 1-2 visible on grids of 9-16 tokens)", OnResume.DefinesRun, true,
        o => o.MinVisible, (o, v) => o with { MinVisible = v },
        c => c.Objective.MinVisible, (c, v) => c with { Objective = c.Objective with { MinVisible = v } });
    // set by the plan itself (steps, eval steps) or by the command line only
    public static readonly RunSetting<int> Steps = new("steps", $"Pretraining steps (default {T0.Steps})",
        OnResume.MayChange, false, o => o.Steps, (o, v) => o with { Steps = v },
        c => c.Train.Steps, (c, v) => c with { Train = c.Train with { Steps = v } });
    public static readonly RunSetting<int> SaveEvery = new("save_every", "Checkpoint every N steps (0 = only at the end)",
        OnResume.MayChange, false, o => o.SaveEvery, (o, v) => o with { SaveEvery = v },
        c => c.Train.SaveEvery, (c, v) => c with { Train = c.Train with { SaveEvery = v } });
    public static readonly RunSetting<int> LogEvery = new("log_every", "Progress line every N steps",
        OnResume.MayChange, false, o => o.LogEvery, (o, v) => o with { LogEvery = v },
        c => c.Train.LogEvery, (c, v) => c with { Train = c.Train with { LogEvery = v } });
    public static readonly RunSetting<Model.Precision> Precision = new("precision",
        "Matmul precision: fp32 (default), bf16 (bfloat16 matmuls, float32 weights, optimizer, LayerNorm, " +
        "softmax and losses; needs a CPU with avx512_bf16 or amx_bf16) or auto (bf16 where the CPU has " +
        "it, else fp32; the choice is printed and stored). Training runs extract their features in float32 either " +
        "way; probe and embed extract in the precision given",
        OnResume.MayChange, false,
        o => o.Precision, (o, v) => o with { Precision = v },
        c => c.Train.Precision, (c, v) => c with { Train = c.Train with { Precision = v } });

    /// <summary>Every setting: what a resume may change first, then the optimiser's, the model's and the objective's.
    /// </summary>
    public static readonly RunSetting[] All =
    [
        Steps, SaveEvery, LogEvery, Lr, Precision, Batch, Schedule, WarmupSteps, DecoderDepth, Dropout,
        MaskRatio, Alpha, Lambda, NearbyRatio, InnerSteps, FirstOrder, Temperature, InnerLoss, Distance, ProjectorBn,
        MinVisible,
    ];

    /// <summary>The settings a resume may change that alter the arithmetic of the steps to come: a resume that changes
    /// one says so (the budget and the cadences change nothing of a step).</summary>
    public static readonly RunSetting[] AlterSteps = [Lr, Precision];

    /// <summary>The keys a plan row's "settings" may give (besides the model size and the probe's own).</summary>
    public static string[] PlanKeys => All.Where(s => s.InPlans).Select(s => s.Key).ToArray();

    /// <summary>The setting of a key, or null.</summary>
    public static RunSetting? Find(string key) => All.FirstOrDefault(s => s.Key == key);

    /// <summary>The flags a resume may change, as a sentence fragment ("--steps, ... and --precision").</summary>
    public static string MayChangeFlags()
    {
        var f = All.Where(s => s.Resume == OnResume.MayChange).Select(s => s.Flag).ToArray();
        return f.Length < 2 ? string.Concat(f) : string.Join(", ", f[..^1]) + " and " + f[^1];
    }
}
