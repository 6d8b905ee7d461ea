namespace MetaMae.Cli;

/// <summary>The options commands share (one declaration each), and the sets of them commands take.</summary>
internal static class CliOptions
{
    internal static readonly TrainOptions DefaultTrain = new();
    internal static readonly ObjectiveOptions DefaultObjective = new();
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
    internal static readonly Option<int?> Steps = new("--steps") { Description = $"Pretraining steps (default {DefaultTrain.Steps})" };
    internal static readonly Option<int?> Batch = new("--batch") { Description = "Pretraining batch (default: the dataset preset's)" };
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
    internal static readonly Option<string?> PrecisionOpt = new Option<string?>("--precision")
    {
        Description = $"Matmul precision: fp32 (default), bf16 (bfloat16 matmuls, float32 weights, optimizer, LayerNorm, " +
                      "softmax and losses; needs a CPU with avx512_bf16 or amx_bf16) or auto (bf16 where the CPU has " +
                      "it, else fp32; the choice is printed and stored)",
    }.AcceptOnlyFromAmong([.. MetaMae.Model.ComputePrecision.Names, MetaMae.Model.ComputePrecision.Auto]);
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
    internal static readonly Option<double?> MaskRatio = new("--mask-ratio") { Description = "Fraction of tokens masked" };
    internal static readonly Option<double?> Alpha = new("--alpha") { Description = "Inner step size of the latent adaptation" };
    internal static readonly Option<double?> Lambda = new("--lambda") { Description = "Weight of the task-contrastive loss (0 = off)" };
    internal static readonly Option<double?> R = new("--r") { Description = $"Nearby-S ratio r (default {DefaultObjective.NearbyRatio})" };
    internal static readonly Option<int?> InnerSteps =
        new("--inner-steps") { Description = $"Latent adaptation steps (default {DefaultObjective.InnerSteps})" };
    internal static readonly Option<bool> FirstOrder =
        new("--first-order") { Description = "Detach the inner gradient (first-order adaptation)" };
    internal static readonly Option<int?> DecoderDepth =
        new("--decoder-depth") { Description = "Decoder blocks n (0 = linear decoder, encoder sees every token)" };
    internal static readonly Option<double?> Dropout = new("--dropout") { Description = "Encoder dropout p" };
    internal static readonly Option<double?> Temperature = new("--temperature")
    {
        Description = $"NT-Xent temperature (default {DefaultObjective.Temperature}; e-Mix and Capri bring their own)",
    };
    internal static readonly Option<double?> Lr = new("--lr") { Description = $"AdamW learning rate (default {DefaultTrain.Lr})" };
    // pretrain
    internal static readonly Option<int> SaveEvery = new("--save-every")
    {
        Description = "Checkpoint every N steps (0 = only at the end)",
        DefaultValueFactory = _ => 100,
    };
    internal static readonly Option<bool> Resume = new("--resume") { Description = "Continue the run in --out from its checkpoint" };
    internal static readonly Option<int> Accumulate = new("--accumulate")
    {
        Description = "Split each batch into K micro-batches run one after the other (gradient accumulation); " +
            "under mpirun, per process",
        DefaultValueFactory = _ => 1,
    };
    internal static readonly Option<int> LogEvery =
        new("--log-every") { Description = "Progress line every N steps", DefaultValueFactory = _ => 20 };
    // probe
    internal static readonly Option<string?> CheckpointOpt =
        new("--checkpoint") { Description = "A checkpoint.safetensors written by pretrain" };
    internal static readonly Option<bool> RandomInit =
        new("--random-init") { Description = "Probe an untrained encoder (the baseline row)" };
    internal static readonly Option<int> ProbeEpochs =
        new("--probe-epochs") { Description = "Linear-probe epochs", DefaultValueFactory = _ => 100 };
    internal static readonly Option<int?> ProbeMaxIterations = new("--probe-max-iterations")
    {
        Description = $"Converged probe: L-BFGS iteration cap per fit (default {new ProbeOptions().MaxIterations}); a fit that "
            + "stops at it says so",
    };
    internal static readonly Option<string?> ProbeProtocolOpt = new Option<string?>("--probe")
    {
        Description = "Linear probe: converged (L-BFGS logistic / ridge regression, L2 chosen on validation; the default) or paper "
            + "(Adam 1e-4, 100 epochs; --probe-epochs or --probe-batch imply it)",
    }.AcceptOnlyFromAmong("converged", "paper");
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
    internal static readonly Option<InnerLossScaling?> InnerLossOpt = Choice<InnerLossScaling>("--inner-loss",
        "Inner (support) loss scaling: reference (the authors' code: per-sample mean over support tokens, default) or " +
        "paper (Eq. 1: per-sample sum over support tokens)");
    internal static readonly Option<InnerDistance?> DistanceOpt = Choice<InnerDistance>("--distance",
        "d of the inner loss for continuous tokens: mse (mean of squares over a token's values, default), sq-l2 " +
        "(sum of squares) or l2 (the norm); token inputs use cross-entropy, the outer loss mse");
    internal static readonly Option<string?> LrScheduleOpt = new Option<string?>("--lr-schedule")
    {
        Description = "Learning-rate schedule: constant (the paper's, default) or cosine (to 0 at the last step, " +
                      "as the MAE reference)",
    }.AcceptOnlyFromAmong(TrainOptions.LrSchedules);
    internal static readonly Option<int?> WarmupStepsOpt = new("--warmup-steps")
    {
        Description = "Linear learning-rate warm-up over the first N steps (default 0)",
    };

    internal static readonly Option<ProjectorBatchNorm?> ProjectorBnOpt = Choice<ProjectorBatchNorm>("--projector-bn",
        "Task-contrast projector's BatchNorm: per-view (the authors' code: each view's own batch statistics, default) " +
        "or joint (both views at once, as before issue 34)");
    internal static readonly Option<int?> MinVisibleOpt = new("--min-visible")
    {
        Description = "Fewest visible tokens per sample for mae / metamae (default 1: the mask ratio alone decides, " +
                      "as the paper; Table 8's ratios leave 1-2 visible on grids of 9-16 tokens)",
    };

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
