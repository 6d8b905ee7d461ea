namespace MetaMae.Cli;

/// <summary>The options commands share (one declaration each), and the sets of them commands take.</summary>
internal static class CliOptions
{
    /// <summary>The run settings' flags (<see cref="RunSettingTable"/>), each with how it reads a parse; filled by the
    /// Flag methods below as the fields are made, so this comes first.</summary>
    internal static readonly List<SettingFlag> SettingFlags = [];

    internal static readonly Option<string?> DatasetOpt =
        new("--dataset") { Description = "Shipped dataset (see 'metamae datasets'); default dna-splice" };
    internal static readonly Option<string?> DataDir = new("--data-dir")
    {
        Description = "Folder holding the shipped datasets (default: data/ beside the program, or METAMAE_DATA)",
    };
    internal static readonly Option<string> Algo = new Option<string>("--algo")
    {
        Description = "Objective",
        DefaultValueFactory = _ => Algorithms.MetaMae,
    }.AcceptOnlyFromAmong([.. Algorithms.Trainable]);
    internal static readonly Option<string> Preset = new Option<string>("--preset")
    {
        Description = "Model size: paper (12x256 encoder), small (4x128, the CPU scale) or tiny (2x64, for tests)",
        DefaultValueFactory = _ => "paper",
    }.AcceptOnlyFromAmong([.. ModelConfig.PresetNames]);
    internal static readonly Option<Recipe> RecipeOpt = new("--recipe")
    {
        Description = "Defaults of the run: paper (Table 8 and the paper's optimiser: constant lr 1e-4) or cpu (the " +
                      "measured CPU recipe: small preset, batch 32, warm-up + cosine at 1e-3, 4000 steps, MetaMAE at the " +
                      "paper's inner-loss scaling with alpha 1); flags given explicitly override either [default: paper]",
        DefaultValueFactory = _ => Recipe.Paper,
        HelpName = "paper|cpu",
        CustomParser = r =>
        {
            switch (r.Tokens[0].Value)
            {
                case "paper": return Recipe.Paper;
                case "cpu": return Recipe.Cpu;
                default:
                    r.AddError($"--recipe must be paper or cpu (got '{r.Tokens[0].Value}')");
                    return Recipe.Paper;
            }
        },
    };
    internal static readonly Option<int?> Steps = Flag(RunSettingTable.Steps);
    internal static readonly Option<int?> Batch = Flag(RunSettingTable.Batch);
    internal static readonly Option<long> Seed = new("--seed")
    {
        Description = "Seed of init, batches, masks, dropout and the probe",
        DefaultValueFactory = _ => 0,
    };
    internal static readonly Option<string?> Out = new("--out") { Description = "Output folder (default runs/DATASET-ALGO-PRESET-sSEED)" };
    internal static readonly Option<int?> Threads = new("--threads") { Description = "CPU threads for libtorch (default: all cores)" };
    internal static readonly Option<string> DeviceOpt = new("--device")
    {
        Description = "cpu, or cuda with a CUDA build of TorchSharp",
        DefaultValueFactory = _ => "cpu",
    };
    internal static readonly Option<string?> PrecisionOpt = Bind(RunSettingTable.Precision,
        new Option<string?>(RunSettingTable.Precision.Flag) { Description = RunSettingTable.Precision.Help }
            .AcceptOnlyFromAmong([.. MetaMae.Model.ComputePrecision.Names, MetaMae.Model.ComputePrecision.Auto]),
        // auto is resolved for the device here (and the choice printed), so a run stores what it ran in
        (p, opt) => CliRuns.PrecisionOf(p, CliRuns.ParseDevice(p.GetValue(DeviceOpt)!)),
        (o, v) => o with { Precision = (Precision?)v });
    internal static readonly Option<bool> Json = new("--json") { Description = "Print one JSON object as the last line of stdout" };
    // DABS datasets a user downloaded (docs/dabs-datasets.md)
    internal static readonly Option<string?> DabsRoot = new("--root")
    {
        Description = "Folder holding downloaded DABS datasets; --dataset then names one of them " +
            "(see 'metamae datasets --root DIR')",
    };
    internal static readonly Option<int> MaxPerSplit = new("--max-per-split")
    {
        Description = "With --root: read at most N samples per split (0 = all)",
        DefaultValueFactory = _ => 0,
    };
    // MetaMAE switches (defaults: the dataset preset, i.e. Table 8)
    internal static readonly Option<double?> MaskRatio = Flag(RunSettingTable.MaskRatio);
    internal static readonly Option<double?> Alpha = Flag(RunSettingTable.Alpha);
    internal static readonly Option<double?> Lambda = Flag(RunSettingTable.Lambda);
    internal static readonly Option<double?> R = Flag(RunSettingTable.NearbyRatio);
    internal static readonly Option<int?> InnerSteps = Flag(RunSettingTable.InnerSteps);
    internal static readonly Option<bool> FirstOrder = Bind(RunSettingTable.FirstOrder,
        new Option<bool>(RunSettingTable.FirstOrder.Flag) { Description = RunSettingTable.FirstOrder.Help },
        (p, opt) => p.GetValue(opt), (o, v) => o with { FirstOrder = (bool?)v });
    internal static readonly Option<int?> DecoderDepth = Flag(RunSettingTable.DecoderDepth);
    internal static readonly Option<double?> Dropout = Flag(RunSettingTable.Dropout);
    internal static readonly Option<double?> Temperature = Flag(RunSettingTable.Temperature);
    internal static readonly Option<double?> Lr = Flag(RunSettingTable.Lr);
    // pretrain: the cadences default to TrainOptions' (a plan's are its steps / 4 and / 10)
    internal static readonly Option<int> SaveEvery = Flag(RunSettingTable.SaveEvery, new TrainOptions().SaveEvery);
    internal static readonly Option<bool> Resume = new("--resume") { Description = "Continue the run in --out from its checkpoint" };
    internal static readonly Option<int> Accumulate = new("--accumulate")
    {
        Description = "Split each batch into K micro-batches run one after the other (gradient accumulation); " +
            "under mpirun, per process",
        DefaultValueFactory = _ => 1,
    };
    internal static readonly Option<int> LogEvery = Flag(RunSettingTable.LogEvery, new TrainOptions().LogEvery);
    // probe
    internal static readonly Option<string?> CheckpointOpt =
        new("--checkpoint") { Description = "A checkpoint.safetensors written by pretrain" };
    internal static readonly Option<bool> RandomInit =
        new("--random-init") { Description = "Probe an untrained encoder (the baseline row)" };
    internal static readonly Option<int> ProbeEpochs =
        new("--probe-epochs")
        {
            Description = "Linear-probe epochs", DefaultValueFactory = _ => new ProbeOptions().Epochs,
        };
    internal static readonly Option<int?> ProbeMaxIterations = new("--probe-max-iterations")
    {
        Description = $"Converged probe: L-BFGS iteration cap per fit (default {new ProbeOptions().MaxIterations}); a fit that "
            + "stops at it says so",
    };
    internal static readonly Option<string?> ProbeProtocolOpt = new Option<string?>("--probe")
    {
        Description = "Linear probe: converged (L-BFGS logistic / ridge regression, L2 chosen on validation; the default) or paper "
            + $"(Adam 1e-4, {new ProbeOptions().Epochs} epochs; --probe-epochs or --probe-batch imply it)",
    }.AcceptOnlyFromAmong([.. EnumNames<ProbeProtocol>.All]);
    internal static readonly Option<bool> RawInput =
        new("--raw-input") { Description = "Probe the raw input itself, no encoder (the reference row)" };
    internal static readonly Option<string> FeaturesOpt = new Option<string>("--features")
    {
        Description = "Features: mean (mean of the encoder's token outputs, the paper's probe), cls (the CLS output) or tokens "
            + "(every token's output; a probe concatenates them, which keeps position: L x D features)",
        DefaultValueFactory = _ => "mean",
    }.AcceptOnlyFromAmong(FeatureExtraction.Names);
    internal static readonly Option<string> LabelFraction = new("--label-fraction")
    {
        Description = "Probe with this fraction of the training labels (a stratified subset seeded by --seed, the same rows for every "
            + "encoder and the raw input), e.g. 0.1; 1 = all. A list (0.1,1) probes each on the same frozen features",
        DefaultValueFactory = _ => "1",
    };

    /// <summary>The fractions of --label-fraction, in the order given: each in (0, 1], none twice.</summary>
    internal static double[] LabelFractions(ParseResult p) => ParseLabelFractions(p.GetValue(LabelFraction)!);

    /// <summary>A --label-fraction list (every command that takes one): each in (0, 1], none twice.</summary>
    internal static double[] ParseLabelFractions(string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var values = parts.Select(t => double.TryParse(t, System.Globalization.NumberStyles.Float,
            System.Globalization.CultureInfo.InvariantCulture, out double v) ? v : double.NaN).ToArray();
        if (values.Length == 0 || values.Any(v => !(v > 0 && v <= 1)))
            throw new ArgumentException(
                $"--label-fraction must be in (0, 1]: a fraction or a list of them, e.g. 0.1,1 (got '{text}')");
        if (values.Distinct().Count() != values.Length)
            throw new ArgumentException($"--label-fraction lists a fraction twice ('{text}')");
        return values;
    }
    internal static readonly Option<int?> ProbeBatch =
        new("--probe-batch") { Description = "Linear-probe batch (default: the dataset preset's)" };
    // bring your own data (Data/ByoData.cs)
    internal static readonly Option<string?> DataOpt = new("--data")
    {
        Description = "Your own data: a CSV / FASTA file or a folder of class subfolders (needs --modality)",
    };
    internal static readonly Option<string?> ModalityOpt = new Option<string?>("--modality")
    {
        Description = "Modality of --data",
    }.AcceptOnlyFromAmong(ByoData.Modalities);
    internal static readonly Option<string?> LabelColumn =
        new("--label-column") { Description = "Label column of a --data CSV (default 'label' if present)" };
    internal static readonly Option<string> SplitColumn = new("--split-column")
    {
        Description = "Split column (train/test) of a --data CSV; without one a seeded stratified 80/20 split",
        DefaultValueFactory = _ => "split",
    };
    internal static readonly Option<string?> AlphabetOpt =
        new("--alphabet") { Description = "Symbols of --modality sequence (default: inferred)" };
    internal static readonly Option<int?> PatchOpt =
        new("--patch") { Description = "Patch length (series) or side (image, audio) for --data" };
    internal static readonly Option<string?> ImageShapeOpt =
        new("--image-shape")
        {
            Description = "--modality image from a CSV of pixel columns (one row per image, 8-bit values): 28x28 (grey), " +
                          "3x32x32 (channel first) or 32x32x3:channels-last",
        };
    /// <summary>The options that describe --data, shared by every command that reads a dataset.</summary>
    internal static Option[] DataOptions =>
        [DataOpt, ModalityOpt, LabelColumn, SplitColumn, AlphabetOpt, PatchOpt, ImageShapeOpt, LengthOpt];
    internal static readonly Option<int?> LengthOpt =
        new("--length") { Description = "Sequence length (crop / pad) or series window for --data" };

    internal static readonly Option<string> Format = new Option<string>("--format")
    {
        Description = "Export format: safetensors (weights with the PyTorch reference names), pt (the same " +
            "weights as a PyTorch state dict for torch.load) or onnx (the frozen encoder plus the --features step " +
            "as one ONNX graph, opset 17, dynamic batch axis)",
        DefaultValueFactory = _ => "safetensors",
    }.AcceptOnlyFromAmong(ExportFormats.Names);
    internal static readonly Option<string> Parts = new("--parts")
    {
        Description = "Comma list of encoder, decoder, projector (or all)",
        DefaultValueFactory = _ => "encoder",
    };
    internal static readonly Option<string?> OnnxOpt = new("--onnx")
    {
        Description = "An encoder exported with export --format onnx: features through ONNX Runtime instead of a checkpoint",
    };
    internal static readonly Option<string?> In = new("--in")
    {
        Description = "A safetensors file or a PyTorch state dict (.pt, torch.save) with reference " +
            "(timm/MAE-style) names",
    };
    internal static readonly Option<string?> Like =
        new("--like") { Description = "A checkpoint whose model (spec and sizes) the imported file fits" };
    internal static readonly Option<int> Samples = new("--samples") { Description = "Samples to draw", DefaultValueFactory = _ => 4 };
    internal static readonly Option<int> TbImages = new("--tb-images")
    {
        Description = "Every N steps, write input / masked / reconstruction images of 4 test samples to " +
            "DIR/tensorboard/reconstructions (0 = off)",
        DefaultValueFactory = _ => 0,
    };


    // inner-loss scaling, inner distance, learning-rate schedule: defaults in ObjectiveOptions / TrainOptions
    internal static readonly Option<InnerLossScaling?> InnerLossOpt = ChoiceFlag(RunSettingTable.InnerLoss);
    internal static readonly Option<InnerDistance?> DistanceOpt = ChoiceFlag(RunSettingTable.Distance);
    internal static readonly Option<LrSchedule?> LrScheduleOpt = ChoiceFlag(RunSettingTable.Schedule);
    internal static readonly Option<int?> WarmupStepsOpt = Flag(RunSettingTable.WarmupSteps);
    internal static readonly Option<ProjectorBatchNorm?> ProjectorBnOpt = ChoiceFlag(RunSettingTable.ProjectorBn);
    internal static readonly Option<int?> MinVisibleOpt = Flag(RunSettingTable.MinVisible);

    /// <summary>The flag of a setting: an optional value, null when not given (the default is then the run's).
    /// </summary>
    static Option<T?> Flag<T>(RunSetting<T> s) where T : struct => Bind(s,
        new Option<T?>(s.Flag) { Description = s.Help }, (p, opt) => p.GetValue(opt), (o, v) => s.Set(o, (T?)v));

    /// <summary>The flag of a setting whose command-line default is fixed (the cadences): always a value.</summary>
    static Option<T> Flag<T>(RunSetting<T> s, T cliDefault) where T : struct => Bind(s,
        new Option<T>(s.Flag) { Description = s.Help, DefaultValueFactory = _ => cliDefault },
        (p, opt) => p.GetValue(opt), (o, v) => s.Set(o, (T?)v));

    /// <summary>The flag of a choice setting: its names from <see cref="EnumNames{T}"/>.</summary>
    static Option<T?> ChoiceFlag<T>(RunSetting<T> s) where T : struct, Enum => Bind(s, Choice<T>(s.Flag, s.Help),
        (p, opt) => p.GetValue(opt), (o, v) => s.Set(o, (T?)v));

    /// <summary>Registers opt as the flag of s: read gives its value in a parse, set puts a value into overrides.
    /// </summary>
    static O Bind<O>(RunSetting s, O opt, Func<ParseResult, O, object?> read,
        Func<RunOverrides, object?, RunOverrides> set) where O : Option
    {
        SettingFlags.Add(new SettingFlag(s, opt, (p, o) => set(o, read(p, opt)),
            p => p.GetResult(opt) is { Implicit: false } ? read(p, opt) : null));
        return opt;
    }

    /// <summary>An optional flag whose values are an enum's names (<see cref="EnumNames{T}"/>): one spelling of each
    /// choice, checked by the parser.</summary>
    static Option<T?> Choice<T>(string name, string description) where T : struct, Enum => new Option<T?>(name)
    {
        Description = description,
        HelpName = string.Join("|", EnumNames<T>.All),
        CustomParser = r =>
        {
            try { return EnumNames<T>.Parse(r.Tokens[0].Value, name); }
            catch (ArgumentException e) { r.AddError(e.Message); return null; }
        },
    };

    /// <summary>The flags above, for the training commands; they define a run (a resume may not change them).</summary>
    internal static Option[] AdaptationFlags =>
        [InnerLossOpt, DistanceOpt, LrScheduleOpt, WarmupStepsOpt, ProjectorBnOpt, MinVisibleOpt];

    internal static Command WithCommon(Command c, bool training)
    {
        foreach (var o in new Option[]
                 { DatasetOpt, DataDir, DabsRoot, MaxPerSplit, Preset, Seed, Out, Threads, DeviceOpt, PrecisionOpt, Json })
            c.Add(o);
        foreach (var o in DataOptions) c.Add(o);
        foreach (var o in ByoCli.ByoTableOptions) c.Add(o);
        if (training)
            foreach (var o in new Option[]
                         {
                             Algo, Steps, Batch, MaskRatio, Alpha, Lambda, R, InnerSteps, FirstOrder, DecoderDepth, Dropout,
                             Temperature, Lr, LogEvery, RecipeOpt,
                         }
                         .Concat(AdaptationFlags))
                c.Add(o);
        return c;
    }
}

/// <summary>Which defaults a run starts from (--recipe).</summary>
internal enum Recipe
{
    /// <summary>Table 8's values and the paper's optimiser (constant lr 1e-4).</summary>
    Paper,
    /// <summary>The measured CPU recipe (<see cref="MetaMae.Experiments.CpuRecipe"/>).</summary>
    Cpu,
}

/// <summary>A run setting's command-line flag: Read puts the parse's value (given or the flag's default) into the
/// overrides; Given is the value when the flag was given explicitly, else null (what --resume checks).</summary>
internal sealed record SettingFlag(RunSetting Setting, Option Option,
    Func<ParseResult, RunOverrides, RunOverrides> Read, Func<ParseResult, object?> Given);
