using System.Diagnostics;
using System.Runtime.InteropServices;
using MetaMae.Training;
using TorchSharp;
using Xunit.Abstractions;
using static MetaMae.Tests.CliTests;
using MetaMae.IO;

namespace MetaMae.Tests;

/// <summary>
/// What a pretraining run survives, through the real `metamae` process: SIGINT / SIGTERM (stop after the
/// step, checkpoint, resume bit-identically), a second signal, --resume of the run the folder holds (never
/// defaults), a full disk and a read-only folder, and a NaN loss continued with a smaller --lr.
/// </summary>
public class RunFaultTests(ITestOutputHelper output)
{
    [DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int sig);

    private const int SIGINT = 2, SIGTERM = 15;

    // a tiny run long enough to be signalled mid-way (about 3 s at 1 thread)
    private static readonly string[] Tiny =
        ["pretrain", "--preset", "tiny", "--batch", "16", "--seed", "4", "--threads", "1", "--log-every", "1"];

    private static string[] Args(string dir, params string[] more) => [.. Tiny, "--out", dir, .. more];

    /// <summary>Starts metamae; returns the process and its stderr lines as they come.</summary>
    private static (Process P, List<string> Err, Thread Done) Start(string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "MetaMae.Cli.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        var err = new List<string>();
        var done = new Thread(() =>
        {
            string? line;
            while ((line = p.StandardError.ReadLine()) is not null) lock (err) err.Add(line);
        });
        done.Start();
        _ = p.StandardOutput.ReadToEndAsync();
        return (p, err, done);
    }

    private static void WaitFor(List<string> err, string text, Process p, int seconds = 120)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed.TotalSeconds < seconds)
        {
            lock (err) if (err.Any(l => l.Contains(text))) return;
            if (p.HasExited) break;
            Thread.Sleep(20);
        }
        lock (err) Assert.Fail($"'{text}' did not appear in the run's stderr:\n{string.Join("\n", err)}");
    }

    private static Dictionary<string, torch.Tensor> Tensors(string dir) =>
        SafeTensors.Load(Path.Combine(dir, Checkpoint.FileName)).Tensors;

    private static void AssertSameCheckpoint(string a, string b)
    {
        var x = Tensors(a);
        var y = Tensors(b);
        Assert.Equal(x.Keys.Order(), y.Keys.Order());
        foreach (var (k, v) in x) Assert.True(T.Same(v, y[k]), $"'{k}' differs from the uninterrupted run");
    }

    private static int CheckpointStep(string dir)
    {
        using var ck = Checkpoint.Load(Path.Combine(dir, Checkpoint.FileName));
        return ck.Step;
    }

    private static string[] TempFiles(string dir) => Directory.GetFiles(dir, "*.tmp", SearchOption.AllDirectories);

    /// <summary>The 30-step run the signalled runs must end with the weights of (one run for both signals).</summary>
    private static readonly Lazy<(int Code, string Err, string Dir)> Uninterrupted = new(() =>
    {
        var full = Tmp.Dir("sig-full");
        var f = Metamae(Args(full, "--steps", "30", "--save-every", "25"));
        return (f.Code, f.Err, full);
    });

    [Theory]
    [InlineData(SIGINT, 130)]
    [InlineData(SIGTERM, 143)]
    public void ASignalledRunCheckpointsItsStepAndResumesBitIdentically(int signal, int exitCode)
    {
        var (fullCode, fullErr, full) = Uninterrupted.Value;
        Assert.True(fullCode == 0, fullErr);

        var dir = Tmp.Dir("sig");
        var (p, err, done) = Start(Args(dir, "--steps", "30", "--save-every", "25"));
        WaitFor(err, "step 8/30", p);
        Assert.Equal(0, kill(p.Id, signal));
        Assert.True(p.WaitForExit(60_000), "the signalled run did not end in 60 s");
        done.Join();
        string log = string.Join("\n", err);
        output.WriteLine(log[Math.Max(0, log.Length - 600)..]);
        Assert.Equal(exitCode, p.ExitCode);
        Assert.Contains("stopping at the end of the current step", log);
        Assert.Contains("continue with: metamae pretrain", log);
        int step = CheckpointStep(dir);
        Assert.InRange(step, 8, 29);
        // metrics.csv ends with the checkpointed step, in whole rows
        var rows = File.ReadAllLines(Path.Combine(dir, "metrics.csv")).Skip(1).Select(l => int.Parse(l.Split(',')[0])).ToList();
        Assert.Equal(Enumerable.Range(1, step), rows);
        Assert.Empty(TempFiles(dir));

        var r = Metamae(Args(dir, "--steps", "30", "--save-every", "25", "--resume"));   // the original command, --resume added
        Assert.True(r.Code == 0, r.Err);
        Assert.Contains($"resuming from step {step}", r.Err);
        AssertSameCheckpoint(full, dir);
    }

    [Fact]
    public void ASecondSignalExitsAtOnceAndTheLastCheckpointRemains()
    {
        var dir = Tmp.Dir("sig2");
        var (p, err, done) = Start(Args(dir, "--steps", "100000", "--save-every", "5"));
        try
        {
            WaitFor(err, "checkpoint at step 5", p);
            Assert.Equal(0, kill(p.Id, SIGTERM));
            WaitFor(err, "SIGTERM received", p);
            Assert.Equal(0, kill(p.Id, SIGTERM));
            Assert.True(p.WaitForExit(30_000), "a second SIGTERM did not end the run within 30 s");
        }
        finally
        {
            if (!p.HasExited) p.Kill();                                           // never leave a 100,000-step run behind
        }
        done.Join();
        Assert.Equal(143, p.ExitCode);
        // whichever checkpoint was last written in full is loadable
        Assert.InRange(CheckpointStep(dir), 5, 100000);
    }

    [Fact]
    public void ResumeContinuesTheStoredRunAndNamesAConflictingOption()
    {
        var dir = Tmp.Dir("resume-cfg");
        var a = Metamae(Args(dir, "--steps", "4", "--save-every", "2"));
        Assert.True(a.Code == 0, a.Err);

        // the original command unchanged, with --resume (a scheduler's re-submit): fine
        var same = Metamae(Args(dir, "--steps", "6", "--save-every", "2", "--resume"));
        Assert.True(same.Code == 0, same.Err);
        Assert.Contains("resuming from step 4", same.Err);

        // a conflicting value: one error line naming the option and both values
        var seed = Metamae([.. Args(dir, "--steps", "8", "--resume").Select(a => a == "4" ? "5" : a)]);
        Assert.Equal(2, seed.Code);
        var line = Assert.Single(seed.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: ", line);
        Assert.Contains("--seed 5 (the run has 4)", line);
        var preset = Metamae("pretrain", "--out", dir, "--resume", "--steps", "8", "--preset", "paper");
        Assert.Equal(2, preset.Code);
        Assert.Contains("--preset paper (the run has tiny)", preset.Err);

        // a folder with no run is refused, not filled with a default run
        var empty = Tmp.Dir("resume-none");
        var none = Metamae("pretrain", "--out", empty, "--resume", "--steps", "3");
        Assert.Equal(2, none.Code);
        Assert.Contains("holds no run", none.Err);
        Assert.False(File.Exists(Path.Combine(empty, "config.json")));
    }

    [Fact]
    public void ARunStoppedBeforeItsFirstCheckpointResumesItsOwnSettingsFromStepZero()
    {
        var whole = Tmp.Dir("first-whole");
        Assert.Equal(0, Metamae(Args(whole, "--steps", "5")).Code);

        // killed before any checkpoint: config.json and metrics.csv, no checkpoint
        var dir = Tmp.Dir("first");
        Assert.Equal(0, Metamae(Args(dir, "--steps", "2")).Code);
        File.Delete(Path.Combine(dir, Checkpoint.FileName));
        var r = Metamae("pretrain", "--out", dir, "--resume", "--steps", "5", "--threads", "1");   // the README's way
        Assert.True(r.Code == 0, r.Err);
        Assert.Contains("starting the run of its config.json from step 0", r.Err);
        using (var ck = Checkpoint.Load(Path.Combine(dir, Checkpoint.FileName)))
        {
            Assert.Equal(4, ck.Config.Train.Seed);                           // not the default seed 0 ...
            Assert.Equal(64, ck.Config.Model.EncDim);                           // ... nor the paper preset
        }
        AssertSameCheckpoint(whole, dir);
    }

    [MountFact]
    public void AFullDiskStopsWithOneErrorAndKeepsThePreviousCheckpoint()
    {
        // 2 MiB holds one checkpoint of this model (1.26 MB) but not a second beside it (written, then renamed)
        var dir = Tmp.Dir("enospc");
        MountFactAttribute.Tmpfs(dir, "2M", () =>
        {
            var run = Path.Combine(dir, "run");
            var r = Metamae(Args(run, "--steps", "8", "--save-every", "2"));
            output.WriteLine(r.Err);
            Assert.Equal(1, r.Code);
            var errors = r.Err.Split('\n').Where(l => l.StartsWith("error:")).ToList();
            var line = Assert.Single(errors);
            Assert.Contains(Path.Combine(run, Checkpoint.FileName), line);
            Assert.Contains("(ENOSPC)", line);
            Assert.DoesNotContain("   at ", r.Err);                               // no stack trace
            Assert.DoesNotContain("Unhandled", r.Err);
            Assert.Equal(2, CheckpointStep(run));
            Assert.Empty(TempFiles(run));
        });
    }

    [MountFact]
    public void AReadOnlyFolderStopsWithOneErrorAndTheCheckpointStaysLoadable()
    {
        var dir = Tmp.Dir("erofs");
        MountFactAttribute.Tmpfs(dir, "8M", () =>
        {
            var run = Path.Combine(dir, "run");
            Assert.Equal(0, Metamae(Args(run, "--steps", "2")).Code);
            MountFactAttribute.Sh($"mount -o remount,ro '{dir}'");
            var r = Metamae(Args(run, "--steps", "4", "--resume"));
            Assert.Equal(1, r.Code);
            var line = Assert.Single(r.Err.Split('\n'), l => l.StartsWith("error:"));
            Assert.Contains(run, line);
            Assert.Contains("(EROFS)", line);
            Assert.Equal(2, CheckpointStep(run));
        });
    }

    /// <summary>
    /// Permission denied (EACCES): a new --out inside a folder the user may not write, and a resumed run whose folder
    /// was made read-only for the user. One error line naming the path, exit 1, the checkpoint untouched. Root may
    /// write anywhere, so as root the CLI runs as nobody (setpriv); as another user, chmod alone denies it.
    /// </summary>
    [OtherUserFact]
    public void APermissionDeniedFolderStopsWithOneErrorAndTheCheckpointStaysLoadable()
    {
        bool root = Environment.UserName == "root";
        var dir = Tmp.Dir("eacces");
        var run = Path.Combine(dir, "run");
        Assert.Equal(0, Metamae(Args(run, "--steps", "2")).Code);                    // as the test's own user
        var before = File.ReadAllBytes(Path.Combine(run, Checkpoint.FileName));
        MountFactAttribute.Sh($"chmod 555 '{dir}' '{run}'");
        try
        {
            foreach (var (args, path) in new[] { (Args(Path.Combine(dir, "new"), "--steps", "2"), Path.Combine(dir, "new")),
                                                (Args(run, "--steps", "4", "--resume"), run) })
            {
                var r = root ? AsNobody(args) : Metamae(args);
                Assert.Equal(1, r.Code);
                var line = Assert.Single(r.Err.Split('\n'), l => l.StartsWith("error:"));
                Assert.Contains(path, line);
                Assert.Contains("EACCES", line);
                Assert.DoesNotContain("   at ", r.Err);
            }
            Assert.Equal(before, File.ReadAllBytes(Path.Combine(run, Checkpoint.FileName)));
        }
        finally { MountFactAttribute.Sh($"chmod 755 '{dir}' '{run}'"); }
    }

    // the CLI as user nobody (65534), with a HOME it may write
    private static (int Code, string Out, string Err) AsNobody(string[] args)
    {
        var psi = new System.Diagnostics.ProcessStartInfo("/usr/bin/setpriv")
            { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.Environment["HOME"] = psi.Environment["DOTNET_CLI_HOME"] = Path.GetTempPath();
        foreach (var a in new[] { "--reuid=65534", "--regid=65534", "--clear-groups", "dotnet",
                     Path.Combine(AppContext.BaseDirectory, "MetaMae.Cli.dll") }.Concat(args)) psi.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, output, err.Result);
    }

    [Fact]
    public void ANaNLossKeepsTheLastGoodCheckpointAndResumeWithASmallerLrContinues()
    {
        var dir = Tmp.Dir("nan");
        Assert.Equal(0, Metamae(Args(dir, "--steps", "4", "--save-every", "2")).Code);
        var ckpt = Path.Combine(dir, Checkpoint.FileName);
        var good = File.ReadAllBytes(ckpt);

        // the run diverges between checkpoints: it stops with a message, the step-4 checkpoint untouched
        var bad = Metamae(Args(dir, "--steps", "40", "--save-every", "100", "--lr", "100", "--resume"));
        Assert.Equal(1, bad.Code);
        Assert.Matches("the loss is NaN|holds NaN or infinity after the optimizer step", bad.Err);
        Assert.Equal(good, File.ReadAllBytes(ckpt));

        var ok = Metamae(Args(dir, "--steps", "12", "--save-every", "2", "--lr", "1e-5", "--resume"));
        Assert.True(ok.Code == 0, ok.Err);
        Assert.Contains("resuming from step 4", ok.Err);
        Assert.Contains("--lr 1E-05 replaces the run's 0.0001", ok.Err);
        using var ck = Checkpoint.Load(ckpt);
        Assert.Equal(12, ck.Step);
        Assert.Equal(1e-5, ck.Config.Train.Lr);
    }

    [Fact]
    public void ACheckpointIsNeverWrittenFromNonFiniteWeights()
    {
        // checkpoints every step while diverging: the overflow is caught when saving, the last finite one kept
        var dir = Tmp.Dir("nan-every");
        var bad = Metamae(Args(dir, "--steps", "40", "--save-every", "1", "--lr", "100"));
        Assert.Equal(1, bad.Code);
        Assert.Single(bad.Err.Split('\n'), l => l.StartsWith("error:"));
        if (File.Exists(Path.Combine(dir, Checkpoint.FileName)))
            foreach (var (k, v) in Tensors(dir))
                if (v.is_floating_point()) Assert.True(v.isfinite().all().item<bool>(), $"checkpoint tensor '{k}' is not finite");
    }
}

/// <summary>
/// A fact about permissions: root may write anywhere, so as root it needs to run the CLI as user nobody (setpriv) and
/// nobody must be able to read the build; skipped with the reason where that is not so. As any other user it runs.
/// </summary>
public sealed class OtherUserFactAttribute : FactAttribute
{
    private static readonly Lazy<string?> Why = new(() =>
    {
        if (Environment.UserName != "root") return null;
        if (!File.Exists("/usr/bin/setpriv")) return "running as root without /usr/bin/setpriv (util-linux)";
        var dll = Path.Combine(AppContext.BaseDirectory, "MetaMae.Cli.dll");
        try { MountFactAttribute.Sh($"/usr/bin/setpriv --reuid=65534 --regid=65534 --clear-groups test -r '{dll}'"); return null; }
        catch (Exception e) { return $"user nobody cannot read {dll} ({e.Message})"; }
    });

    public OtherUserFactAttribute()
    {
        if (Why.Value is string why) Skip = $"permission denied cannot be tested here: {why}";
    }
}

/// <summary>A fact that needs `mount -t tmpfs` (root, or a container that allows it); skipped with the reason otherwise.</summary>
public sealed class MountFactAttribute : FactAttribute
{
    private static readonly Lazy<string?> Why = new(() =>
    {
        var d = Tmp.Dir("mount-probe");
        try
        {
            Sh($"mount -t tmpfs -o size=64k tmpfs '{d}'");
            Sh($"umount '{d}'");
            return null;
        }
        catch (Exception e) { return e.Message; }
    });

    public MountFactAttribute()
    {
        if (Why.Value is string why) Skip = $"mounting a size-limited tmpfs is not permitted here ({why}); disk-full and read-only output are not tested";
    }

    public static void Sh(string command)
    {
        var psi = new ProcessStartInfo("/bin/sh") { RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(command);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEnd();
        if (!p.WaitForExit(30_000)) { p.Kill(); throw new TimeoutException($"'{command}' did not end in 30 s"); }
        if (p.ExitCode != 0) throw new InvalidOperationException($"'{command}' failed ({p.ExitCode}): {err.Trim()}");
    }

    /// <summary>Runs body with a tmpfs of the given size mounted on dir; unmounted afterwards, whatever happens.</summary>
    public static void Tmpfs(string dir, string size, Action body)
    {
        Sh($"mount -t tmpfs -o size={size} tmpfs '{dir}'");
        try { body(); }
        finally { Sh($"umount '{dir}'"); }
    }
}
