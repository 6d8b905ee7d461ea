using System.Globalization;
using System.Runtime.InteropServices;

namespace MetaMae.Cli;

/// <summary>
/// `--resume` continues the run stored in the output folder: its checkpoint's configuration, or, for a
/// run stopped before its first checkpoint, its config.json (from step 0). The original command may be
/// given again unchanged: an option equal to the stored run's value is fine, a different one is an error
/// naming the option and both values. Only the settings RunSettingTable marks OnResume.MayChange may change.
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
        var conflicts = new List<string>();
        // an option that defines the run, given explicitly, must have the stored run's value
        void Check(Option opt, object? given, string has)
        {
            if (given is not null && RunSetting.Text(given) != has)
                conflicts.Add($"{opt.Name} {RunSetting.Text(given)} (the run has {has})");
        }
        object? Given<T>(Option<T> opt) => p.GetResult(opt) is { Implicit: false } ? p.GetValue(opt) : null;
        Check(Algo, Given(Algo), stored.Algo);
        Check(Preset, Given(Preset), PresetName(stored.Model));
        Check(Seed, Given(Seed), RunSetting.Text(stored.Train.Seed));
        if (p.GetValue(DataOpt) is null) Check(DatasetOpt, Given(DatasetOpt), stored.Dataset);
        foreach (var f in SettingFlags.Where(f => f.Setting.Resume == OnResume.DefinesRun && f.Setting.UsedBy(stored)))
            Check(f.Option, f.Given(p), f.Setting.StoredText(stored));
        if (conflicts.Count > 0)
            throw new ArgumentException($"--resume continues the run of {source}, whose settings differ from the command's: " +
                                        $"{string.Join("; ", conflicts)}. Give the run's values or drop those options " +
                                        $"(only {RunSettingTable.MayChangeFlags()} may change)");
        var cfg = stored;
        foreach (var f in SettingFlags.Where(f => f.Setting.Resume == OnResume.MayChange))
        {
            if (f.Given(p) is not { } v) continue;
            string was = f.Setting.StoredText(stored), now = RunSetting.Text(v);
            if (now != was && RunSettingTable.AlterSteps.Contains(f.Setting))
                Console.Error.WriteLine($"resume: {f.Setting.Flag} {now} replaces the run's {was} from here on");
            cfg = f.Setting.Store(cfg, v);
        }
        return cfg;
    }

    /// <summary>The stored run's data, loaded again; it must be the same data as the run was trained on.</summary>
    static (Dataset, Table8Row) ResumedData(ParseResult p, RunConfig cfg, string source)
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
    internal static (Dataset, RunConfig, string, Table8Row) ResolveResumed(ParseResult p, string outDir, string? subdir)
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
