using System.Text.Json.Nodes;
using MetaMae.Data;
using MetaMae.Evaluation;
using MetaMae.Experiments;
using MetaMae.Modalities;
using static TorchSharp.torch;

namespace MetaMae.Tests;

/// <summary>Probes at a fraction of the labels, on other features than the mean, and plans that compare rows in pairs (issue 17.4, 17.7).</summary>
public class LabelEfficiencyTests
{
    private static Split Labels(params int[] perClass)
    {
        var y = perClass.SelectMany((n, c) => Enumerable.Repeat((long)c, n)).ToArray();
        return new Split(zeros(y.Length, 2), y);
    }

    [Fact]
    public void TheLabelSubsetIsStratifiedSeededAndKeepsTwoOfEveryClass()
    {
        var train = Labels(500, 100, 3);
        var a = LinearProbe.LabelSubset(train, 0.1, 7);
        Assert.Equal(50, a.Count(i => train.Labels![i] == 0));
        Assert.Equal(10, a.Count(i => train.Labels![i] == 1));
        Assert.Equal(2, a.Count(i => train.Labels![i] == 2));            // ceil(0.3) = 1, raised to 2: one to train, one to validate
        Assert.Equal(a, LinearProbe.LabelSubset(train, 0.1, 7));        // same seed, same rows (every encoder sees them)
        Assert.NotEqual(a, LinearProbe.LabelSubset(train, 0.1, 8));
        Assert.Equal(Enumerable.Range(0, train.Count), LinearProbe.LabelSubset(train, 1, 7));

        // the carve draws train and validation from the subset only, disjoint
        var (tr, va) = LinearProbe.Carve(train, new ProbeOptions { LabelFraction = 0.1, Seed = 7 });
        Assert.Equal(a, tr.Concat(va).Order());
        Assert.Empty(tr.Intersect(va));
        Assert.Throws<ArgumentException>(() => new ProbeOptions { LabelFraction = 0 }.Validate());
        Assert.Throws<ArgumentException>(() => new ProbeOptions { LabelFraction = 1.5 }.Validate());
    }

    [Fact]
    public void FewerLabelsGiveAWorseProbeOnAHardProblemAndTheResultSaysHowMany()
    {
        // 20-dimensional, 4 noisy classes: 5% of 2,000 labels (100) fit worse than all of them
        manual_seed(3);
        var w = randn(20, 4);
        var x = randn(3000, 20);
        var y = (x.matmul(w) + 1.5 * randn(3000, 4)).argmax(1).data<long>().ToArray();
        var train = new Split(x[..2000], y[..2000]);
        var test = new Split(x[2000..], y[2000..]);
        ProbeResult At(double f) => LinearProbe.RunOnFeatures(train.X, train, test.X, test, TaskKind.Classification, 4,
            new ProbeOptions { LabelFraction = f, Seed = 1 });
        var few = At(0.05);
        var all = At(1);
        Assert.InRange(few.TrainCount + few.ValidationCount, 100, 104);   // ceil per class
        Assert.Equal(2000, all.TrainCount + all.ValidationCount);
        Assert.True(all.Test > few.Test, $"all labels {all.Test} vs 5% {few.Test}");
        Assert.Equal(0.05, few.LabelFraction);
        Assert.Contains("0.05 of the labels", few.Describe());
    }

    [Fact]
    public void ProbeFeaturesOfEachKindHaveTheirWidthAndTheCliReportsThem()
    {
        var ds = Catalog.Load("digits");
        using var model = Training.Pretrainer.CreateModel(Training.RunSettings.Resolve("metamae", "digits", ds.Spec,
            Catalog.Entries.First(e => e.Name == "digits").Preset, "tiny", 0), CPU);
        var some = ds.Train.X[..10];
        using var mean = LinearProbe.Features(model, some, FeatureKind.Mean, 8);
        using var cls = LinearProbe.Features(model, some, FeatureKind.Cls, 8);
        using var tok = LinearProbe.Features(model, some, FeatureKind.Tokens, 8);
        long d = model.Config.EncDim, l = ds.Spec.NumTokens;
        Assert.Equal([10, d], mean.shape);
        Assert.Equal([10, d], cls.shape);
        Assert.Equal([10, l * d], tok.shape);
        Assert.False(mean.allclose(cls));

        var (code, output, err) = CliTests.Metamae("probe", "--random-init", "--dataset", "digits", "--preset", "tiny", "--features", "cls",
            "--label-fraction", "0.2", "--threads", "2", "--json");
        Assert.True(code == 0, err);
        var j = JsonNode.Parse(output.Trim().Split('\n')[^1])!;
        Assert.Equal("cls", (string)j["features"]!);
        Assert.Equal(0.2, (double)j["label_fraction"]!);
        Assert.InRange((int)j["probe_train_samples"]!, 0.2 * ds.Train.Count, 0.2 * ds.Train.Count + 20);
        Assert.Contains("cls features", output);

        var bad = CliTests.Metamae("probe", "--random-init", "--dataset", "digits", "--preset", "tiny", "--label-fraction", "0");
        Assert.NotEqual(0, bad.Code);
        Assert.Contains("--label-fraction must be in (0, 1]", bad.Err);
    }

    [Fact]
    public void RowsThatDifferInTheProbeShareOnePretrainingAndPairsGetAnInterval()
    {
        var dir = Tmp.Dir("bench-pairs");
        var path = Path.Combine(dir, "plan.json");
        File.WriteAllText(path, """
            {"name": "pairs", "kind": "in-domain", "preset": "tiny", "steps": 3, "seeds": [0, 1, 2], "datasets": ["dna-splice"],
             "rows": [{"label": "MAE", "algo": "mae", "settings": {"batch": 8}},
                      {"label": "MAE 10%", "algo": "mae", "settings": {"batch": 8, "label_fraction": 0.1}},
                      {"label": "Random 10%", "algo": "random-init", "settings": {"label_fraction": 0.1}},
                      {"label": "Raw 10%", "algo": "raw-input", "settings": {"label_fraction": 0.1, "features": "mean"}}],
             "pairs": [{"a": "MAE 10%", "b": "Random 10%"}, {"a": "MAE", "b": "MAE 10%"}]}
            """);
        var plan = ExperimentPlan.Load(path);
        Assert.Equal("MAE", plan.PretrainingOf(plan.Rows[1]).Label);
        var results = ExperimentSuite.Run(plan, dir, plots: MetaMae.Cli.ExperimentPlots.Instance);
        Assert.Equal(12, results.Count);
        // the 10% row reused the MAE row's pretraining: no pretraining folder of its own
        Assert.False(Directory.Exists(Path.Combine(dir, "cells", "mae_10", "dna-splice", "s0", "pretrain")));
        Assert.Contains("differs from 'MAE' in its probe only", File.ReadAllText(Path.Combine(dir, "cells", "mae_10", "dna-splice", "s0", "log.txt")));
        var md = File.ReadAllText(Path.Combine(dir, "pairs.md"));
        var line = md.Split('\n').Single(l => l.StartsWith("| MAE 10% - Random 10% |"));
        var d = ExperimentSuite.PairedDifference(results, plan.Pairs[0], "dna-splice")!.Value;
        Assert.Equal(3, d.N);
        Assert.True(d.Lo < d.Mean && d.Mean < d.Hi);
        // the interval is the Student t one: mean ± t(0.975, 2) s / sqrt(3), t = 4.303
        var diffs = new[] { 0L, 1, 2 }.Select(s => results.Single(r => r.Row == "MAE 10%" && r.Seed == s).Test
            - results.Single(r => r.Row == "Random 10%" && r.Seed == s).Test).ToArray();
        var (m, sd) = ExperimentSuite.MeanStd(diffs);
        Assert.Equal(m + 4.3027 * sd / Math.Sqrt(3), d.Hi, 3);
        Assert.Contains("(n=3)", line);
        Assert.True(new FileInfo(Path.Combine(dir, "pairs-pairs.png")).Length > 1000);
    }

    [Theory]
    [InlineData("MAE, token features", "Random init, token features", "MAE - Random init | token features")]
    [InlineData("MetaMAE (paper scaling), 10% labels", "MAE, 10% labels", "MetaMAE (paper scaling) - MAE | 10% labels")]
    [InlineData("MAE, token features", "Raw input", "MAE, token features - Raw input")]
    [InlineData("MAE, tokens, 10% labels", "MAE, 10% labels", "MAE, tokens, 10% labels - MAE, 10% labels")]
    [InlineData("MAE", "Random init", "MAE - Random init")]
    public void ThePairsPlotWritesSharedQualifiersOnce(string a, string b, string expected) =>
        Assert.Equal(expected, MetaMae.Cli.ExperimentPlots.PairLabel(new PlanPair(a, b)));

    [Theory]
    [InlineData(new[] { 0.90, 0.92, 0.91 }, new[] { 0.88, 0.895, 0.895 }, true)] // +0.02, +0.025, +0.015: excludes 0
    [InlineData(new[] { 0.90, 0.92, 0.91 }, new[] { 0.91, 0.89, 0.90 }, false)]  // -0.01, +0.03, +0.01: straddles 0
    [InlineData(new[] { 0.90, 0.93 }, new[] { 0.88, 0.90 }, false)]              // excludes 0, but only two seeds
    [InlineData(new[] { 0.90, 0.93, 0.95 }, new[] { 0.88, 0.91, 0.93 }, false)]  // +0.02 on every seed (to rounding)
    public void APairIsSignificantOnlyWithThreeSeedsAndAnIntervalOfSomeWidth(double[] a, double[] b, bool expected)
    {
        var results = a.Select((t, s) => Cell("A", s, t)).Concat(b.Select((t, s) => Cell("B", s, t))).ToList();
        var d = ExperimentSuite.PairedDifference(results, new PlanPair("A", "B"), "ds")!.Value;
        Assert.Equal(a.Length, d.N);
        Assert.True(d.Lo > 0 || !expected);
        Assert.Equal(expected, ExperimentSuite.Significant(d));
    }

    private static CellResult Cell(string row, long seed, double test) =>
        new(row, "ds", seed, "accuracy", test, test, 0, [], false);

    [Theory]
    [InlineData("""{"label": "x", "algo": "mae", "settings": {"label_fraction": 0}}""", "label_fraction")]
    [InlineData("""{"label": "x", "algo": "mae", "settings": {"features": "max"}}""", "features")]
    public void BadProbeSettingsAreRejected(string row, string mentions)
    {
        var dir = Tmp.Dir("bench-bad-probe");
        var path = Path.Combine(dir, "plan.json");
        File.WriteAllText(path, $$"""{"name": "b", "kind": "in-domain", "steps": 3, "seeds": [0], "datasets": ["dna-splice"], "rows": [{{row}}]}""");
        var e = Assert.Throws<DataFormatException>(() => ExperimentPlan.Load(path));
        Assert.Contains(mentions, e.Message);
        File.WriteAllText(path, """{"name": "b", "kind": "in-domain", "steps": 3, "seeds": [0], "datasets": ["dna-splice"], "rows": [{"label": "x", "algo": "mae"}], "pairs": [{"a": "x", "b": "y"}]}""");
        Assert.Contains("names row 'y'", Assert.Throws<DataFormatException>(() => ExperimentPlan.Load(path)).Message);
    }
}
