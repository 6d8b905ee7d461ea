using System.Globalization;
using System.Runtime.InteropServices;

namespace MetaMae.Cli;

/// <summary>
/// `--resume` continues the run stored in the output folder: its checkpoint's configuration, or, for a
/// run stopped before its first checkpoint, its config.json (from step 0). The original command may be
/// given again unchanged: an option equal to the stored run's value is fine, a different one is an error
/// naming the option and both values. Only --steps, --save-every, --log-every, --lr and --precision may change.
/// A folder holding no run is refused; defaults are never substituted for the stored settings.
/// </summary>
internal static class CliResume
{
    /// <summary>The stored run of dir (for `run`, of dir/subdir): its configuration and the file it came from.</summary>
    static (RunConfig Config, string Source) StoredRun(string dir, string? subdir)
    {
        var runDir = subdir is null ? dir : Path.Combine(dir, subdir);
        var ck = Path.Combine(runDir, Checkpoint.FileName);
        if (File.Exists(ck))
        {
            using var c = Checkpoint.Load(ck);
            return (c.Config, ck);
        }
        var cj = Path.Combine(runDir, "config.json");
        if (File.Exists(cj))
        {
            try { return (RunConfig.FromJson(File.ReadAllText(cj), cj), cj); }
            catch (System.Text.Json.JsonException e) { throw new InvalidDataException($"{cj}: not a run configuration ({e.Message})"); }
        }
        throw new ArgumentException($"--resume: {runDir} holds no run (no {Checkpoint.FileName} and no config.json); " +
                                    "drop --resume to start one there");
    }

    /// <summary>The stored run's configuration with the options a resume may change; a conflicting option is an error.</summary>
    static RunConfig ResumedConfig(ParseResult p, RunConfig stored, string source)
    {
        static string F(object? v) => v switch
        {
            double d => d.ToString("R", CultureInfo.InvariantCulture),
            InnerLossScaling e => EnumNames<InnerLossScaling>.Of(e),
            InnerDistance e => EnumNames<InnerDistance>.Of(e),
            ProjectorBatchNorm e => EnumNames<ProjectorBatchNorm>.Of(e),
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            bool b => b ? "true" : "false",
            _ => v?.ToString() ?? "",
        };
        var o = stored.Objective;
        var conflicts = new List<string>();
        // an option that defines the run, given explicitly, must have the stored run's value
        void Check<T>(Option<T> opt, object stored)
        {
            if (p.GetResult(opt) is not { Implicit: false }) return;
            string given = F(p.GetValue(opt)), has = F(stored);
            if (given != has) conflicts.Add($"{opt.Name} {given} (the run has {has})");
        }
        Check(Algo, stored.Algo); Check(Preset, PresetName(stored.Model)); Check(Batch, stored.Train.Batch);
        Check(Seed, stored.Train.Seed); Check(MaskRatio, o.MaskRatio); Check(Alpha, o.Alpha); Check(R, o.NearbyRatio);
        Check(InnerSteps, o.InnerSteps); Check(FirstOrder, !o.SecondOrder); Check(DecoderDepth, stored.Model.DecDepth);
        Check(Dropout, stored.Model.Dropout); Check(Temperature, o.Temperature);
        if (stored.Algo == Algorithms.MetaMae) Check(Lambda, o.Lambda);   // other algorithms store lambda 0 whatever was given
        if (p.GetValue(DataOpt) is null) Check(DatasetOpt, stored.Dataset);
        Check(InnerLossOpt, o.InnerLoss); Check(DistanceOpt, o.Distance);
        Check(LrScheduleOpt, stored.Train.LrSchedule); Check(WarmupStepsOpt, stored.Train.WarmupSteps);
        Check(ProjectorBnOpt, o.ProjectorBatchNorm); Check(MinVisibleOpt, o.MinVisible);
        if (conflicts.Count > 0)
            throw new ArgumentException($"--resume continues the run of {source}, whose settings differ from the command's: " +
                                        $"{string.Join("; ", conflicts)}. Give the run's values or drop those options " +
                                        "(only --steps, --save-every, --log-every, --lr and --precision may change)");
        int Given(Option<int> opt, int storedValue) => p.GetResult(opt) is { Implicit: false } ? p.GetValue(opt) : storedValue;
        double lr = p.GetValue(Lr) ?? stored.Train.Lr;
        if (lr != stored.Train.Lr)
            Console.Error.WriteLine($"resume: --lr {F(lr)} replaces the run's {F(stored.Train.Lr)} from here on");
        var precision = PrecisionOf(p, ParseDevice(p.GetValue(DeviceOpt)!)) ?? stored.Train.Precision;
        if (precision != stored.Train.Precision)
            Console.Error.WriteLine($"resume: --precision {precision} replaces the run's {stored.Train.Precision} from here on");
        return stored with
        {
            Train = stored.Train with
            {
                Steps = p.GetValue(Steps) ?? stored.Train.Steps, SaveEvery = Given(SaveEvery, stored.Train.SaveEvery),
                LogEvery = Given(LogEvery, stored.Train.LogEvery), Lr = lr, Precision = precision,
            },
        };
    }

    /// <summary>The stored run's data, loaded again; it must be the same data as the run was trained on.</summary>
    static (Dataset, DatasetPreset) ResumedData(ParseResult p, RunConfig cfg, string source)
    {
        var name = cfg.Dataset;
        var ds = LoadData(p, ref name, out var preset);
        if (name != cfg.Dataset)
            throw new ArgumentException($"--resume continues the run of {source} on '{cfg.Dataset}', not on '{name}' (--data)");
        if (ds.Spec != cfg.Spec)
            throw new ArgumentException($"--resume: the data now reads as '{ds.Spec.Describe()}' but the run of {source} was " +
                                        $"trained on '{cfg.Spec.Describe()}' (check --patch, --length, --alphabet)");
        return (ds, preset);
    }

    /// <summary>Resolve for --resume: the run of --out (or of the default folder the options name).</summary>
    internal static (Dataset, RunConfig, string, DatasetPreset) ResolveResumed(ParseResult p, string outDir, string? subdir)
    {
        var (stored, source) = StoredRun(outDir, subdir);
        var cfg = ResumedConfig(p, stored, source);
        var (ds, preset) = ResumedData(p, cfg, source);
        return (ds, cfg, outDir, preset);
    }

    /// <summary>The command line as given (set by Cli.Execute), for the resume hint.</summary>
    internal static string[] CommandLine { get; set; } = [];

    /// <summary>The command that continues this run: the one given, with --resume added.</summary>
    internal static string ResumeCommand()
    {
        static string Q(string a) =>
            a.Length > 0 && a.All(ch => char.IsLetterOrDigit(ch) || "-_./:=,+@".Contains(ch)) ? a
                : "'" + a.Replace("'", "'\\''") + "'";
        var args = CommandLine.Contains("--resume") ? CommandLine : [.. CommandLine, "--resume"];
        return "metamae " + string.Join(" ", args.Select(Q));
    }
}

/// <summary>
/// Ctrl-C (SIGINT) or SIGTERM during pretraining: the run stops at the end of the current step, writes
/// that step's checkpoint and the process exits 130 / 143. A second signal exits at once (the runtime's
/// default action); the last checkpoint written remains. Not installed under mpirun with several ranks
/// (ranks would stop at different steps and wait for each other).
/// </summary>
internal sealed class GracefulStop : IDisposable
{
    private readonly CancellationTokenSource cts = new();
    private readonly List<PosixSignalRegistration> registrations = [];
    private int received;

    /// <summary>The signal that stopped the run (the exit code is 128 + its number).</summary>
    public static PosixSignal? Signal { get; private set; }

    public CancellationToken Token => cts.Token;

    public GracefulStop()
    {
        if (MetaMae.Distributed.Mpi.LaunchedSize() > 1) return;
        registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle));
        registrations.Add(PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle));
    }

    public static int ExitCode => Signal == PosixSignal.SIGTERM ? 143 : 130;

    private void Handle(PosixSignalContext c)
    {
        if (Interlocked.Increment(ref received) > 1) { c.Cancel = false; return; }   // second signal: exit now
        c.Cancel = true;
        Signal = c.Signal;
        Console.Error.WriteLine($"{c.Signal} received: stopping at the end of the current step and saving a checkpoint " +
                                "(signal again to exit at once; the last checkpoint written remains)");
        cts.Cancel();
    }

    public void Dispose()
    {
        foreach (var r in registrations) r.Dispose();
        cts.Dispose();
    }
}
