using System.Diagnostics;
using MetaMae.Data;
using MetaMae.Distributed;
using MetaMae.Objectives;
using MetaMae.Training;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MetaMae.Tests;

/// <summary>
/// Gradient accumulation and data-parallel pretraining over MPI give the weights of one
/// process at the same global batch (MAE, contrast off); a killed rank ends the job instead of hanging.
/// </summary>
public class DataParallelTests(ITestOutputHelper output)
{
    private const double Tolerance = 1e-5;

    private static double MaxAbsDiff(IReadOnlyDictionary<string, Tensor> a, IReadOnlyDictionary<string, Tensor> b)
    {
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        double max = 0;
        foreach (var (k, t) in a)
        {
            if (!t.is_floating_point()) continue;
            using var d = (t.to(ScalarType.Float64) - b[k].to(ScalarType.Float64)).abs().max();
            max = Math.Max(max, d.ToDouble());
        }
        return max;
    }

    private static Dictionary<string, Tensor> ModelTensors(string checkpoint)
    {
        var ck = Checkpoint.Load(checkpoint);
        return ck.Tensors.Where(kv => kv.Key.StartsWith("model.")).ToDictionary(kv => kv.Key, kv => kv.Value);
    }

    [Fact]
    public void ShardsDrawTheRowsOfTheWholeBatch()
    {
        using var g1 = new Generator().manual_seed(5);
        using var whole = Masking.Random(8, 20, 0.5, g1, CPU, ScalarType.Float32);
        using var wholeSupport = whole.Support(new Modalities.SequenceSpec(1, 20, 1), 0.5, g1);
        for (int start = 0; start < 8; start += 2)
        {
            using var g2 = new Generator().manual_seed(5);
            var rng = new BatchRandom(g2, start, 8);
            using var part = Masking.Random(2, 20, 0.5, rng, CPU, ScalarType.Float32);
            using var partSupport = part.Support(new Modalities.SequenceSpec(1, 20, 1), 0.5, rng);
            Assert.True(T.Same(part.Mask, whole.Mask.narrow(0, start, 2)), $"mask rows {start}..{start + 2}");
            Assert.True(T.Same(partSupport, wholeSupport.narrow(0, start, 2)), $"support rows {start}..{start + 2}");
        }
    }

    [Fact]
    public void AccumulationGivesTheWeightsOfTheWholeBatch()
    {
        var data = Catalog.Load("dna-splice").Train.X;
        var cfg = TrainingTests.Config("mae", 4);
        var one = Pretrainer.Run(data, cfg, Tmp.Dir("acc1"));
        var two = Pretrainer.Run(data, cfg, Tmp.Dir("acc2"), parallel: new DataParallel(Accumulate: 2));
        var four = Pretrainer.Run(data, cfg, Tmp.Dir("acc4"), parallel: new DataParallel(Accumulate: 4));
        var w1 = one.Model.state_dict();
        double d2 = MaxAbsDiff(w1, two.Model.state_dict()), d4 = MaxAbsDiff(w1, four.Model.state_dict());
        output.WriteLine($"max abs weight difference after 4 steps: accumulate 2 {d2:E2}, accumulate 4 {d4:E2}");
        Assert.True(d2 < Tolerance, $"accumulate 2: max abs difference {d2}");
        Assert.True(d4 < Tolerance, $"accumulate 4: max abs difference {d4}");
        // and the weights did move (the comparison is not of two untrained models)
        using var init = Pretrainer.CreateModel(cfg, CPU);
        Assert.True(MaxAbsDiff(w1, init.state_dict()) > 1e-4);
        for (int i = 0; i < 4; i++) Assert.Equal(one.Losses[i].Loss, two.Losses[i].Loss, 5);
    }

    [Fact]
    public void BatchThatDoesNotDivideIsAClearError()
    {
        var data = Catalog.Load("dna-splice").Train.X;
        var e = Assert.Throws<ArgumentException>(() =>
            Pretrainer.Run(data, TrainingTests.Config("mae", 2), Tmp.Dir("acc-bad"), parallel: new DataParallel(Accumulate: 3)));
        Assert.Contains("--batch 16", e.Message);
        Assert.Contains("--accumulate 3", e.Message);
        var (code, _, err) = CliTests.Metamae("pretrain", "--preset", "tiny", "--batch", "8", "--accumulate", "3", "--steps", "1", "--out", Tmp.Dir("acc-bad-cli"));
        Assert.Equal(2, code);
        Assert.StartsWith("error: --batch 8 does not divide", err.Trim());
    }

    private static readonly string[] TinyMae = ["--dataset", "dna-splice", "--preset", "tiny", "--algo", "mae", "--batch", "8", "--threads", "1"];

    private static Process StartMpirun(int ranks, string[] args)
    {
        var psi = new ProcessStartInfo("mpirun") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "--allow-run-as-root", "--oversubscribe", "-np", ranks.ToString(), "dotnet", Path.Combine(AppContext.BaseDirectory, "MetaMae.Cli.dll") })
            psi.ArgumentList.Add(a);
        foreach (var a in args) psi.ArgumentList.Add(a);
        return Process.Start(psi)!;
    }

    [MpiFact]
    public void TwoRanksGiveTheWeightsOfOneProcess()
    {
        string single = Tmp.Dir("mpi-1"), mpi = Tmp.Dir("mpi-2"), acc = Tmp.Dir("mpi-acc");
        Assert.Equal(0, CliTests.Metamae(["pretrain", .. TinyMae, "--steps", "4", "--out", single]).Code);
        Assert.Equal(0, CliTests.Metamae(["pretrain", .. TinyMae, "--steps", "4", "--accumulate", "2", "--out", acc]).Code);
        using (var p = StartMpirun(2, ["pretrain", .. TinyMae, "--steps", "2", "--save-every", "2", "--out", mpi]))
        {
            var err = p.StandardError.ReadToEndAsync();
            var stdout = p.StandardOutput.ReadToEnd();
            Assert.True(p.WaitForExit(240_000), "mpirun did not finish in 240 s");
            Assert.True(p.ExitCode == 0, stdout + err.Result);
            Assert.Single(stdout.Split('\n'), l => l.Contains("pretrained mae on dna-splice"));      // only rank 0 reports
        }
        using (var p = StartMpirun(2, ["pretrain", "--out", mpi, "--resume", "--steps", "4", "--threads", "1"]))   // resume with the same N
        {
            var err = p.StandardError.ReadToEndAsync();
            var stdout = p.StandardOutput.ReadToEnd();
            Assert.True(p.WaitForExit(240_000), "mpirun --resume did not finish in 240 s");
            Assert.True(p.ExitCode == 0, stdout + err.Result);
            Assert.Contains("resuming from step 2", stdout + err.Result);
        }
        var w1 = ModelTensors(Path.Combine(single, Checkpoint.FileName));
        double dMpi = MaxAbsDiff(w1, ModelTensors(Path.Combine(mpi, Checkpoint.FileName)));
        double dAcc = MaxAbsDiff(w1, ModelTensors(Path.Combine(acc, Checkpoint.FileName)));
        output.WriteLine($"max abs weight difference after 4 steps: 2 ranks {dMpi:E2}, accumulate 2 {dAcc:E2}");
        Assert.True(dMpi < Tolerance, $"2 ranks: max abs difference {dMpi}");
        Assert.True(dAcc < Tolerance, $"accumulate 2: max abs difference {dAcc}");
        Assert.Equal(5, File.ReadAllLines(Path.Combine(mpi, "metrics.csv")).Length);   // header + 4 steps, written once
    }

    [MpiFact]
    public void AKilledRankEndsTheJobWithAnError()
    {
        string dir = Tmp.Dir("mpi-kill"), metrics = Path.Combine(dir, "metrics.csv");
        using var p = StartMpirun(2, ["pretrain", .. TinyMae, "--steps", "100000", "--log-every", "1", "--out", dir]);
        var err = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEndAsync();
        int victim = 0;
        var clock = Stopwatch.StartNew();
        while (victim == 0 && clock.Elapsed < TimeSpan.FromSeconds(120) && !p.HasExited)
        {
            Thread.Sleep(500);
            if (!File.Exists(metrics) || new FileInfo(metrics).Length < 100) continue;     // a few steps done
            victim = RankPid(p.Id, 1);
        }
        Assert.True(victim != 0, "rank 1 was not found running");
        Process.GetProcessById(victim).Kill();   // SIGKILL
        var killed = Stopwatch.StartNew();
        bool ended = p.WaitForExit(60_000);
        if (!ended) p.Kill(entireProcessTree: true);
        Assert.True(ended, "mpirun still runs 60 s after rank 1 was killed");
        output.WriteLine($"mpirun exited with {p.ExitCode} {killed.Elapsed.TotalSeconds:F1} s after rank 1 was killed");
        Assert.NotEqual(0, p.ExitCode);
        Assert.Matches("(?i)killed|signal|exited", err.Result + stdout.Result);
    }

    /// <summary>The pid of the given MPI rank among the descendants of mpirun (read from OMPI_COMM_WORLD_RANK).</summary>
    private static int RankPid(int root, int rank)
    {
        var todo = new Queue<int>([root]);
        while (todo.Count > 0)
        {
            int pid = todo.Dequeue();
            foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
            {
                var children = Path.Combine(task, "children");
                if (!File.Exists(children)) continue;
                foreach (var c in File.ReadAllText(children).Split(' ', StringSplitOptions.RemoveEmptyEntries)) todo.Enqueue(int.Parse(c));
            }
            if (pid == root) continue;
            try
            {
                var env = File.ReadAllText($"/proc/{pid}/environ").Split('\0');
                if (env.Contains($"OMPI_COMM_WORLD_RANK={rank}")) return pid;
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return 0;
    }
}

/// <summary>A fact that is reported as skipped, with the reason, when Open MPI's mpirun is not installed.</summary>
public sealed class MpiFactAttribute : FactAttribute
{
    public static readonly bool HasMpirun = (Environment.GetEnvironmentVariable("PATH") ?? "")
        .Split(':', StringSplitOptions.RemoveEmptyEntries).Any(d => File.Exists(Path.Combine(d, "mpirun")));

    public MpiFactAttribute()
    {
        if (!HasMpirun) Skip = "mpirun (Open MPI) is not installed (Debian: apt-get install openmpi-bin); the data-parallel runs over MPI are not tested";
    }
}
