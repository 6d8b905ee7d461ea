using System.Text.Json.Nodes;
using MetaMae.Evaluation;
using MetaMae.Experiments;

namespace MetaMae.Tests;

/// <summary>`metamae compare` (issue 31 items 3 and 5): end to end on a small table of the user's own, a resume after a
/// killed cell, the rule for data too small for a verdict, the choice of features and --budget.</summary>
public class CompareTests
{
    /// <summary>The tiny compare the CLI tests run: tiny preset, 3 steps, label fractions 0.5 and 1, one thread.</summary>
    private static (int Code, string Out, string Err) Compare(string table, string outDir, params string[] more) =>
        CliTests.Metamae(["compare", "--data", table, "--modality", "tabular", "--preset", "tiny", "--out", outDir,
            "--threads", "1", "--label-fraction", "0.5,1", .. more]);

    [Fact]
    public void ATinyCompareWritesTheTableTheJsonAndTheForestPlot()
    {
        var dir = Tmp.Dir("compare");
        var table = ExperimentSuiteTests.OwnTable(dir, rows: 400);              // 300 training rows, 100 test rows
        var outDir = Path.Combine(dir, "out");
        var (code, stdout, stderr) = Compare(table, outDir, "--seeds", "2", "--steps", "3");
        Assert.True(code == 0, stderr + stdout);
        Assert.Contains("3 pretraining steps; measured", stdout);            // the estimate, before the cells
        Assert.Contains("[16/16] MetaMAE, 100% labels | my-table | seed 1: ran", stdout);
        Assert.Contains("left", stdout);                                     // the ETA of the progress lines

        var md = File.ReadAllText(Path.Combine(outDir, "compare-summary.md"));
        foreach (var row in new[] { "Raw input", "Random init", "MAE", "MetaMAE" }) Assert.Contains($"| {row} |", md);
        foreach (var pair in new[] { "MAE - Raw input", "MAE - Random init", "MetaMAE - Raw input", "MetaMAE - Random init",
                     "MetaMAE - MAE" })
            Assert.Contains($"| {pair} |", md);
        Assert.Contains("test accuracy, 50% of the labels", md);
        Assert.Contains("**Verdict.**", md);
        Assert.Contains("(n=2; 2 distinct: no interval, no verdict)", md);   // 2 seeds: no interval, no verdict
        Assert.DoesNotContain(" * (n=", md);

        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "compare-results.json")))!;
        Assert.Equal(100, (int)json["test_rows"]!);
        var rows = json["rows"]!.AsArray();
        Assert.Equal(8, rows.Count);                                         // 4 features x 2 label fractions
        Assert.Equal(["raw_input", "random_init", "mae", "metamae"],
            rows.Select(r => (string)r!["encoder"]!).Distinct().ToArray());
        Assert.All(rows, r => Assert.Equal(2, (int)r!["seeds"]!));
        Assert.Equal(12, json["pairs"]!.AsArray().Count);                   // 6 comparisons x 2 label fractions
        Assert.All(json["pairs"]!.AsArray(), p => Assert.False((bool)p!["verdict"]!));
        Assert.All(json["choice"]!.AsArray(), c => Assert.Null(c!["encoder"]));
        Assert.Equal(3, json["sentences"]!.AsArray().Count);
        Assert.True(new FileInfo(Path.Combine(outDir, "compare-pairs.png")).Length > 1000);   // the forest plot
        Assert.True(File.Exists(Path.Combine(outDir, "compare.md")));                          // the suite's per-seed table
        Assert.Contains("On my-table, there is no verdict with 50% and 100% of the labels.", stdout);
    }

    [Fact]
    public void ResumeAfterAKilledCellRunsOnlyTheCellsThatHadNotFinished()
    {
        var dir = Tmp.Dir("compare-resume");
        var table = ExperimentSuiteTests.OwnTable(dir, rows: 160);
        var outDir = Path.Combine(dir, "out");
        var (code, stdout, stderr) = Compare(table, outDir, "--seeds", "2", "--steps", "4");
        Assert.True(code == 0, stderr + stdout);
        var before = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "compare-results.json")))!;

        // killed after MAE's pretraining for seed 1 (its checkpoint kept, no result), and before MetaMAE's seed 1 began
        // (the rows at 50% of the labels share the pretraining kept in the cell of the row at 100%)
        string Cell(CompareFeatures f, double fraction, int seed) =>
            Path.Combine(outDir, "cells", ExperimentPlan.Slug(Comparison.Label(f, fraction)), "my-table", $"s{seed}");
        File.Delete(Path.Combine(Cell(CompareFeatures.Mae, 0.5, 1), "result.json"));
        File.Delete(Path.Combine(Cell(CompareFeatures.MetaMae, 0.5, 1), "result.json"));
        Directory.Delete(Cell(CompareFeatures.MetaMae, 1, 1), recursive: true);

        // --resume with the data alone: the stored seeds, label fractions, preset and steps
        (code, stdout, stderr) = CliTests.Metamae("compare", "--data", table, "--modality", "tabular", "--out", outDir,
            "--threads", "1", "--resume");
        Assert.True(code == 0, stderr + stdout);
        var ran = stdout.Split('\n').Where(l => l.StartsWith('[') && l.Contains(": ran in ")).ToList();
        Assert.Equal(3, ran.Count);
        Assert.Contains(ran, l => l.StartsWith("[10/16] MAE, 50% labels | my-table | seed 1"));
        Assert.Equal(13, stdout.Split('\n').Count(l => l.Contains("done before, skipped")));
        Assert.Contains("resuming from step 4",
            File.ReadAllText(Path.Combine(Cell(CompareFeatures.Mae, 0.5, 1), "log.txt")));
        var after = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "compare-results.json")))!;
        Assert.Equal(before["rows"]!.ToJsonString(), after["rows"]!.ToJsonString());   // the same numbers again

        // the folder holds a compare with other settings: refused, naming the option
        (code, _, stderr) = Compare(table, outDir, "--seeds", "3", "--steps", "4");
        Assert.Equal(2, code);
        Assert.Contains("holds a compare with --seeds 2, this command gives 3", stderr);
        (code, _, stderr) = CliTests.Metamae("compare", "--data", table, "--modality", "tabular", "--resume",
            "--out", Path.Combine(dir, "none"));
        Assert.Equal(2, code);
        Assert.Contains("holds no compare to continue", stderr);

        // a compare on a shipped dataset continues with --resume --out alone: the dataset is the stored one
        var shipped = Path.Combine(dir, "shipped");
        Directory.CreateDirectory(shipped);
        File.WriteAllText(Path.Combine(shipped, "compare-settings.json"), """
            {"data": "satellite", "preset": "small", "seeds": "1", "label_fraction": "1", "probe": "converged",
             "probe_epochs": "100", "budget": null, "steps": "2"}
            """);
        (code, _, stderr) = CliTests.Metamae("compare", "--resume", "--out", shipped, "--preset", "tiny");
        Assert.Equal(2, code);
        Assert.Contains("holds a compare with --preset small, this command gives tiny", stderr);
    }

    /// <summary>Item 5: a table of 84 training rows (28 test rows) still runs, and says it is too small for a verdict
    /// rather than print an interval from a couple of distinct values.</summary>
    [Fact]
    public void ATinyTableRunsAndIsTooSmallForAVerdict()
    {
        var dir = Tmp.Dir("compare-small");
        var table = ExperimentSuiteTests.OwnTable(dir, rows: 112);
        var outDir = Path.Combine(dir, "out");
        var (code, stdout, stderr) = Compare(table, outDir, "--seeds", "3", "--steps", "3");
        Assert.True(code == 0, stderr + stdout);
        Assert.Contains("my-table is too small for a verdict on which features to use: its 28 test rows", stdout);
        var json = JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "compare-results.json")))!;
        Assert.True((bool)json["too_small"]!);
        Assert.All(json["pairs"]!.AsArray(), p =>
        {
            Assert.Equal("too_few_test_rows", (string)p!["evidence"]!);
            Assert.False((bool)p["verdict"]!);
        });
        Assert.All(json["choice"]!.AsArray(), c => Assert.Null(c!["encoder"]));
        Assert.DoesNotContain(" * (n=", File.ReadAllText(Path.Combine(outDir, "compare-summary.md")));
    }

    [Theory]
    [InlineData(28, new[] { 0.01, 0.02, 0.03 }, Evidence.TooFewTestRows)]          // the 84-training-row table
    [InlineData(1000, new[] { 0.01, 0.01, 0.03 }, Evidence.TooFewDistinctDifferences)]
    [InlineData(1000, new[] { 0.01, 0.02 }, Evidence.TooFewDistinctDifferences)]    // 2 seeds
    [InlineData(1000, new[] { 0.93 - 0.91, 0.90 - 0.88, 0.05 }, Evidence.TooFewDistinctDifferences)]
    [InlineData(100, new[] { 0.01, 0.02, 0.03 }, Evidence.Enough)]
    public void TheVerdictRuleNeedsTestRowsAndDistinctDifferences(int testRows, double[] diffs, Evidence expected) =>
        Assert.Equal(expected, Comparison.EvidenceOf(testRows, diffs));

    private static List<CellResult> Cells(params (CompareFeatures F, double[] Tests)[] rows) =>
        rows.SelectMany(r => r.Tests.Select((t, i) =>
            new CellResult(Comparison.Label(r.F, 1), "ds", i, "accuracy", t, t, 0, [], false))).ToList();

    [Fact]
    public void TheChoiceIsTheCheapestFeaturesNoOtherBeatsWithAVerdict()
    {
        var o = new ComparisonOptions { Dataset = "ds", LabelFractions = [1] };
        // MAE ahead of all three on every seed, by different amounts: MAE, with intervals above 0
        var mae = Comparison.Summarise(o, Cells((CompareFeatures.RawInput, [0.80, 0.81, 0.79]),
            (CompareFeatures.RandomInit, [0.78, 0.80, 0.77]), (CompareFeatures.Mae, [0.86, 0.89, 0.84]),
            (CompareFeatures.MetaMae, [0.84, 0.83, 0.86])), testRows: 1000);
        Assert.Equal(CompareFeatures.Mae, mae.Choice[1]);
        var s = ComparisonReport.Sentences(mae);
        Assert.StartsWith("On ds, use the MAE encoder's features with 100% of the labels.", s[0]);
        Assert.Contains("MAE beats the raw input and random init with 95% intervals above 0", s[2]);
        Assert.Contains(" * (n=3)", ComparisonReport.Cell(mae.Pairs.First(p => (p.A, p.B) ==
            (CompareFeatures.Mae, CompareFeatures.RawInput))));

        // encoders within noise of the raw input: the raw input, and pretraining did not pay
        var raw = Comparison.Summarise(o, Cells((CompareFeatures.RawInput, [0.80, 0.81, 0.79]),
            (CompareFeatures.RandomInit, [0.78, 0.83, 0.76]), (CompareFeatures.Mae, [0.79, 0.84, 0.77]),
            (CompareFeatures.MetaMae, [0.815, 0.78, 0.80])), testRows: 1000);
        Assert.Equal(CompareFeatures.RawInput, raw.Choice[1]);
        Assert.Contains("no encoder beats the raw input with a 95% interval above 0",
            ComparisonReport.Sentences(raw)[2]);
    }

    [Fact]
    public void ABudgetChoosesTheStepsThatFitOrSaysWhatWouldFit()
    {
        Assert.Equal(TimeSpan.FromSeconds(90), Comparison.ParseBudget("90s"));
        Assert.Equal(TimeSpan.FromMinutes(30), Comparison.ParseBudget("30m"));
        Assert.Equal(TimeSpan.FromMinutes(90), Comparison.ParseBudget("1h30m"));
        Assert.Contains("--budget", Assert.Throws<ArgumentException>(() => Comparison.ParseBudget("half an hour")).Message);

        // 3 seeds x (0.1 + 0.2) s a step; 4 probes x 3 seeds x 2 fractions x 2 s; 10 s measuring: (1800 - 10 - 48) / 0.9
        var speed = new CompareSpeed(0.1, 0.2, 2, 10);
        Assert.Equal(1935, CompareBudget.StepsFor(TimeSpan.FromMinutes(30), speed, 3, 2, "30m"));
        Assert.Equal(CpuRecipe.Steps, CompareBudget.StepsFor(TimeSpan.FromHours(2), speed, 3, 2, "2h"));   // capped
        var e = Assert.Throws<ArgumentException>(() =>
            CompareBudget.StepsFor(TimeSpan.FromSeconds(60), speed, 3, 2, "60s"));
        Assert.Contains("--budget 60s is too small", e.Message);
        Assert.True(speed.Seconds(1935, 3, 2) + 10 <= 30 * 60);
    }

    [Fact]
    public void ABadBudgetOrBothStepsAndBudgetIsOneClearError()
    {
        var dir = Tmp.Dir("compare-bad");
        var table = ExperimentSuiteTests.OwnTable(dir);
        var (code, _, stderr) = Compare(table, Path.Combine(dir, "a"), "--budget", "soon");
        Assert.Equal(2, code);
        Assert.Contains("--budget must be a duration such as 90s", stderr);
        (code, _, stderr) = Compare(table, Path.Combine(dir, "b"), "--budget", "30m", "--steps", "10");
        Assert.Equal(2, code);
        Assert.Contains("--steps and --budget", stderr);
    }
}
