using System.Globalization;
using System.Text.Json.Nodes;
using MetaMae.Training;

namespace MetaMae.Tests;

/// <summary>The early sign of a collapsing MetaMAE run (AdaptationWatch), against the runs it was read from.</summary>
public class AdaptationWatchTests
{
    private static StepMetrics Row(int step, double recon, double gain) =>
        new(step, recon, recon, double.NaN, double.NaN, 0.05, gain, 0);

    [Fact]
    public void TheWatchFiresOnceOnThreeLoggedStepsAboveOnePercentInTheFirstQuarter()
    {
        var w = new AdaptationWatch(4000);
        Assert.False(w.Observe(Row(20, 1.4, 0.1)));                 // start-up: left out
        Assert.False(w.Observe(Row(40, 1.4, 0.1)));
        Assert.False(w.Observe(Row(60, 1.4, 0.02)));
        Assert.False(w.Observe(Row(80, 1.4, 0.02)));                // two logged steps: not yet a window
        Assert.False(w.Observe(Row(90, 1.4, double.NaN)));          // not a logging step: no measurement
        Assert.True(w.Observe(Row(100, 1.4, 0.02)));                // mean 1.43% of the reconstruction loss
        Assert.Equal(100, w.Step);
        Assert.Equal(0.02 / 1.4, w.RelativeGain, 9);
        Assert.False(w.Observe(Row(120, 1.4, 0.05)));               // once
        Assert.Contains("at step 100 the latent adaptation already lowers the support loss by 1.4% of", w.Warning());

        var late = new AdaptationWatch(4000);
        foreach (var s in new[] { 1020, 1040, 1060 }) Assert.False(late.Observe(Row(s, 1.3, 0.05)));   // after 1000
        var low = new AdaptationWatch(4000);
        foreach (var s in new[] { 60, 80, 100, 120 }) Assert.False(low.Observe(Row(s, 1.4, 0.013)));  // 0.93%
        Assert.Null(low.Step);
    }

    /// <summary>The first command's runs under folder, by seed folder: whether the watch warned over their metrics.csv,
    /// and MetaMAE's, the raw input's test accuracy with 10% and with all of the labels.</summary>
    private static List<(string Run, bool Warned, double Tenth, double All, double RawTenth)> Runs(string folder)
    {
        var runs = new List<(string, bool, double, double, double)>();
        foreach (var run in Directory.GetDirectories(Path.Combine(Repo.Root, folder), "s*").Order())
        {
            var result = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "result.json")))!;
            double Test(string encoder, double fraction) => result["rows"]!.AsArray().Single(r =>
                (string?)r!["encoder"] == encoder && (double)r["label_fraction"]! == fraction)!["test"]!.GetValue<double>();
            var lines = File.ReadAllLines(Path.Combine(run, "pretrain", "metrics.csv"));
            var head = lines[0].Split(',').ToList();
            int step = head.IndexOf("step"), recon = head.IndexOf("reconstruction"), gain = head.IndexOf("inner_gain");
            var w = new AdaptationWatch(4000);
            foreach (var f in lines.Skip(1).Select(l => l.Split(',')))
                w.Observe(Row(int.Parse(f[step], CultureInfo.InvariantCulture),
                    double.Parse(f[recon], CultureInfo.InvariantCulture),
                    f[gain] == "" ? double.NaN : double.Parse(f[gain], CultureInfo.InvariantCulture)));
            runs.Add((Path.GetFileName(run), w.Step is not null, Test("metamae", 0.1), Test("metamae", 1),
                Test("raw_input", 0.1)));
        }
        return runs;
    }

    private static string Table(IEnumerable<(string Run, bool Warned, double Tenth, double All, double RawTenth)> runs) =>
        string.Join("; ", runs.Select(r =>
            $"{r.Run} warned {r.Warned} {r.Tenth:F4} / {r.All:F4} (raw {r.RawTenth:F4})"));

    /// <summary>The first command at the CPU recipe's alpha 1, at fp32 and at bf16, seeds 0-9 (the rule was set on
    /// seeds 0-6 and committed before seeds 7-9 finished): in each precision and at each label fraction, every run the
    /// watch warned on scored below every run it did not warn on.</summary>
    [Fact]
    public void OnTheFirstCommandsSeedsEveryWarnedRunScoresBelowEveryOther()
    {
        foreach (var folder in new[] { "results/first-command", "results/precision-parity/dna-splice/bf16" })
        {
            var runs = Runs(folder);
            var (warned, other) = (runs.Where(r => r.Warned).ToList(), runs.Where(r => !r.Warned).ToList());
            Assert.True(runs.Count >= 5 && warned.Count >= 1 && other.Count >= 1, $"{folder}: {Table(runs)}");
            Assert.True(warned.Max(r => r.Tenth) < other.Min(r => r.Tenth),
                $"{folder}, 10% of the labels: {Table(runs)}");
            Assert.True(warned.Max(r => r.All) < other.Min(r => r.All), $"{folder}, all labels: {Table(runs)}");
        }
    }

    /// <summary>The same command at alpha 0.1 (the paper's Genomics value; the README's first command since
    /// 2026-12-07), the same seeds: the watch stays silent on every run, every run's features beat the raw input with
    /// 10% of the labels, and every seed the watch warned on at alpha 1 scores higher at alpha 0.1, at both label
    /// fractions.</summary>
    [Fact]
    public void AtThePapersAlphaForDnaNoSeedWarnsOrFails()
    {
        var small = Runs("results/first-command/alpha-0.1");
        var large = Runs("results/first-command").ToDictionary(r => r.Run);
        Assert.True(small.Count >= 5, Table(small));
        Assert.All(small, r => Assert.False(r.Warned, Table(small)));
        Assert.All(small, r => Assert.True(r.Tenth > r.RawTenth, $"below the raw input: {Table(small)}"));
        var rescued = small.Where(r => large[r.Run].Warned).ToList();
        Assert.True(rescued.Count >= 3, Table(small));
        Assert.All(rescued, r => Assert.True(r.Tenth > large[r.Run].Tenth && r.All > large[r.Run].All, Table(small)));
    }

    private sealed class Notes(CancellationTokenSource stop) : ITrainingMonitor
    {
        public readonly List<string> Lines = [];
        public void OnStart(RunConfig c, int s, string m) { }
        public void OnStep(StepReport r) { }
        public void OnCheckpoint(int s, string p) { }
        public void OnNote(string line)
        {
            Lines.Add(line);
            if (line.Contains("latent adaptation")) stop.Cancel();          // seen: no need to train on
        }
    }

    /// <summary>The watch is wired into the pretraining loop: a run whose inner step lowers the support loss by several
    /// % from the start (satellite, tiny preset, alpha 1 at the paper's scaling: 1-8% of the reconstruction loss over
    /// the first 60 steps, measured 2026-12-07) warns through the monitors at the first step the rule allows, step 53
    /// (logging every step, 50 left out, a window of 3). The test stops the run there (a stop request, as Ctrl-C).</summary>
    [Fact]
    public void APretrainingRunWarnsThroughItsMonitorsWhenTheAdaptationTakesOver()
    {
        var sat = MetaMae.Data.Catalog.Load("satellite");
        var preset = MetaMae.Data.Catalog.Get("satellite").Preset;
        var cfg = new RunConfig("metamae", "satellite", sat.Spec, preset.Apply(MetaMae.Model.ModelConfig.Tiny),
            preset.Objective(true) with { Alpha = 1, InnerLoss = MetaMae.Objectives.InnerLossScaling.Paper },
            new TrainOptions { Steps = 4 * 60, Batch = 32, Seed = 0, LogEvery = 1 });
        using var stop = new CancellationTokenSource();
        var notes = new Notes(stop);
        var e = Assert.Throws<RunStoppedException>(() => Pretrainer.Run(sat.Train.X, cfg, Tmp.Dir("watch-wired"),
            monitor: new CombinedMonitor(notes, new StopAfter(60, stop)), stop: stop.Token));
        var warned = notes.Lines.Where(l => l.Contains("latent adaptation")).ToList();
        Assert.True(warned.Count == 1, $"stopped after step {e.Step}; notes: {string.Join(" | ", notes.Lines)}");
        Assert.StartsWith("warning: at step 53 the latent adaptation", warned[0]);
        Assert.Equal(53, e.Step);                                          // the stop came right after that step
    }

    private sealed class StopAfter(int step, CancellationTokenSource stop) : ITrainingMonitor
    {
        public void OnStart(RunConfig c, int s, string m) { }
        public void OnStep(StepReport r) { if (r.Step == step) stop.Cancel(); }
        public void OnCheckpoint(int s, string p) { }
    }
}
