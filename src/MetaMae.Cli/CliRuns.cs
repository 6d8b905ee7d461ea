using MetaMae.Experiments;
using MetaMae.Runtime;
namespace MetaMae.Cli;

/// <summary>What the training commands share: device and threads, the run configuration from the options, the dataset
/// source, pictures.</summary>
internal static class CliRuns
{
    internal static Device Setup(ParseResult p)
    {
        // mpirun: cores shared by its local ranks
        int threads = p.GetValue(Threads) ?? Math.Max(1, Environment.ProcessorCount / DistributedCli.LocalRanks());
        CpuMath.Configure(threads);
        return ParseDevice(p.GetValue(DeviceOpt)!);
    }

    /// <summary>--precision of a command that only extracts features (probe, embed): set on the model, fp32 by default
    /// whatever the checkpoint was trained in; bf16 is refused on a CPU without it.</summary>
    internal static void SetPrecision(ParseResult p, MetaMae.Model.MetaMaeModel model, Device device)
    {
        var precision = PrecisionOf(p, device) ?? Precision.Fp32;
        MetaMae.Model.ComputePrecision.EnsureSupported(precision, device);
        model.Precision = precision;
    }

    /// <summary>--device: cpu, or cuda[:N] where a CUDA build of TorchSharp is in use.</summary>
    /// <summary>--precision as given, with auto resolved for the device and the choice printed; null when not given.
    /// </summary>
    internal static Precision? PrecisionOf(ParseResult p, Device device)
    {
        var given = p.GetValue(PrecisionOpt);
        if (given is null) return null;
        var chosen = MetaMae.Model.ComputePrecision.Resolve(given, device);
        if (given != MetaMae.Model.ComputePrecision.Auto) return chosen;
        Console.Error.WriteLine($"precision: auto -> {EnumNames<Precision>.Of(chosen)} (" + (chosen == Precision.Bf16
            ? "this CPU has native bfloat16 matmuls)" : "no native bfloat16 matmuls here)"));
        return chosen;
    }

    internal static Device ParseDevice(string d)
    {
        if (d == "cpu") return CPU;
        if (d.StartsWith("cuda"))
        {
            if (!cuda.is_available())
                throw new ArgumentException($"--device {d}: CUDA is not available (this build uses TorchSharp-cpu; " +
                    "swap in TorchSharp-cuda-linux)");
            return new Device(d);
        }
        throw new ArgumentException($"--device must be cpu or cuda[:N] (got '{d}')");
    }

    internal static (Dataset, RunConfig, string, Table8Row) Resolve(ParseResult p, string? checkpointSubdir = null)
    {
        // --resume continues the stored run of --out (Resume.cs); without --out, that of the default folder below
        if (p.GetValue(Resume) && p.GetValue(Out) is string resumeDir) return CliResume.ResolveResumed(p, resumeDir, checkpointSubdir);
        var name = p.GetValue(DatasetOpt) ?? "dna-splice";
        var ds = LoadData(p, ref name, out var preset);
        var algo = p.GetValue(Algo)!;
        bool cpu = p.GetValue(RecipeOpt) == Recipe.Cpu;
        var presetName = cpu && p.GetResult(Preset) is not { Implicit: false } ? CpuRecipe.Preset : p.GetValue(Preset)!;
        long seed = p.GetValue(Seed);
        var user = SettingFlags.Aggregate(new RunOverrides(), (o, f) => f.Read(p, o)) with
        {
            Batch = ByoCli.DefaultBatch(p.GetValue(Batch), preset.Batch, ds.Train.Count),
        };
        // --recipe cpu: the recipe's values where the user gave none (the batch at most the training samples)
        if (cpu) user = CpuRecipe.Fill(user with { Batch = p.GetValue(Batch) }, algo, ds.Train.Count);
        var cfg = RunSettings.Resolve(algo, name, ds.Spec, preset, presetName, seed, user);
        var outDir = p.GetValue(Out) ?? Path.Combine("runs", $"{ByoCli.SafeRunName(p, name)}-{algo}-{presetName}-s{seed}");
        if (p.GetValue(Resume)) return CliResume.ResolveResumed(p, outDir, checkpointSubdir);
        return (ds, cfg, outDir, preset);
    }

    /// <summary>The shipped dataset NAME, a DABS dataset under --root, or the user's --data (named byo:FILE).</summary>
    internal static Dataset LoadData(ParseResult p, ref string name, out Table8Row preset)
    {
        var source = SourceOf(p, name);
        var (ds, pr) = source.Load();
        if (source is OwnDataSource own) ByoCli.ReportByo(ds, own.Options.Modality, pr);
        name = ds.Name;
        preset = pr;
        return ds;
    }

    internal static DataSource SourceOf(ParseResult p, string name)
    {
        var path = p.GetValue(DataOpt);
        if (path is null && p.GetValue(DabsRoot) is string root)
            return new DabsSource(name, root, new DabsOptions { MaxPerSplit = p.GetValue(MaxPerSplit) });
        if (path is null && !name.StartsWith("byo:")) return new ShippedSource(name, p.GetValue(DataDir));
        if (path is null) throw new ArgumentException($"dataset '{name}' was your own data: pass it again with --data PATH --modality M");
        return new OwnDataSource(path, ByoOpts(p, path));
    }

    internal static ByoOptions ByoOpts(ParseResult p, string path) => new()
    {
        Modality = p.GetValue(ModalityOpt) ?? throw new ArgumentException($"--data {path} needs --modality " +
            $"({string.Join("|", ByoData.Modalities)})"),
        LabelColumn = p.GetValue(LabelColumn), SplitColumn = p.GetValue(SplitColumn)!,
        Alphabet = p.GetValue(AlphabetOpt), Patch = p.GetValue(PatchOpt), Length = p.GetValue(LengthOpt),
        ImageShape = p.GetValue(ImageShapeOpt),
        IdColumn = p.GetValue(ByoCli.IdColumn), IgnoreColumns = ByoCli.IgnoreList(p), Missing = ByoCli.MissingOf(p),
        DataDir = p.GetValue(DataDir),
    };

    /// <summary>--probe (default converged); --probe-epochs / --probe-batch set the paper probe and imply it;
    /// --probe-max-iterations sets the converged probe's cap.</summary>
    internal static ProbeOptions ProbeOpts(ParseResult p, Table8Row preset)
    {
        var paperOnly = new Option[] { ProbeEpochs, ProbeBatch }.Where(o => p.GetResult(o) is { Implicit: false })
            .Select(o => o.Name).ToList();
        var protocol = p.GetValue(ProbeProtocolOpt) is string s ? ProbeOptions.Parse(s, "--probe")
            : paperOnly.Count > 0 ? ProbeProtocol.Paper : ProbeProtocol.Converged;
        if (protocol == ProbeProtocol.Converged && paperOnly.Count > 0)
            throw new ArgumentException($"{string.Join(", ", paperOnly)} set the paper probe; drop them, or use --probe paper");
        int? cap = p.GetValue(ProbeMaxIterations);
        if (cap is not null && protocol == ProbeProtocol.Paper)
            throw new ArgumentException("--probe-max-iterations sets the converged probe's cap; drop it, or use --probe converged");
        var o = new ProbeOptions
        {
            Protocol = protocol, Epochs = p.GetValue(ProbeEpochs), Batch = p.GetValue(ProbeBatch) ?? preset.ProbeBatch,
            Seed = p.GetValue(Seed),
            Features = FeatureExtraction.Parse(p.GetValue(FeaturesOpt)!), LabelFraction = LabelFractions(p)[0],
        };
        return cap is int n ? o with { MaxIterations = n } : o;
    }

    /// <summary>The monitor of --tb-images N (null when off).</summary>
    internal static ITrainingMonitor? TbHook(ParseResult p, Dataset ds, RunConfig cfg, string runDir)
    {
        int every = p.GetValue(TbImages);
        if (every < 0) throw new ArgumentException($"--tb-images must be >= 0 (got {every})");
        if (every == 0) return null;
        var split = ds.Test ?? ds.Train;
        var raw = split.X.slice(0, 0, Math.Min(4, split.Count), 1);
        return new ReconstructionImages(raw, cfg, every, Path.Combine(runDir, "tensorboard", "reconstructions"));
    }

    /// <summary>--tb-images N: reconstructions of up to 4 samples for TensorBoard every N steps and at the last.</summary>
    private sealed class ReconstructionImages(TorchSharp.torch.Tensor raw, RunConfig cfg, int every, string dir)
        : ITrainingMonitor
    {
        private readonly TorchSharp.Modules.SummaryWriter tb = TorchSharp.torch.utils.tensorboard.SummaryWriter(dir);

        public void OnStepDone(StepMetrics m, MetaMae.Model.MetaMaeModel model)
        {
            if (m.Step % every != 0 && m.Step != cfg.Train.Steps) return;
            bool training = model.training;
            using (var r = Reconstructions.Of(model, raw, cfg.Objective.MaskRatio, cfg.Objective.NearbyRatio, seed: m.Step))
            using (var img = TensorBoardImages.Image(cfg.Spec, r))
                tb.add_img("reconstruction", img, m.Step);
            if (training) model.train();
        }
    }

    /// <summary>loss.png beside metrics.csv at the end of pretraining.</summary>
    internal static void PlotLoss(string runDir)
    {
        var png = Plots.LossCurve(Path.Combine(runDir, "metrics.csv"), Path.Combine(runDir, "loss.png"));
        Console.Error.WriteLine($"wrote {png}");
    }
}
