using System.Globalization;
using System.Text.Json.Nodes;
using MetaMae.Experiments;
using MetaMae.Data;
using MetaMae.Evaluation;
using MetaMae.Modalities;
using MetaMae.Model;
using MetaMae.Training;
using static TorchSharp.torch;

namespace MetaMae.Tests;

public class ExperimentSuiteTests
{
    private static string Plan(string dir, string json)
    {
        var p = Path.Combine(dir, "plan.json");
        File.WriteAllText(p, json);
        return p;
    }

    /// <summary>The steps a finished cell's pretraining logged: its metrics.csv is kept compressed, and only so.</summary>
    internal static string[] LoggedSteps(string pretrainDir)
    {
        Assert.False(File.Exists(Path.Combine(pretrainDir, "metrics.csv")), "a finished cell keeps metrics.csv.gz only");
        using var z = new System.IO.Compression.GZipStream(File.OpenRead(Path.Combine(pretrainDir, "metrics.csv.gz")),
            System.IO.Compression.CompressionMode.Decompress);
        var lines = new StreamReader(z).ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(Pretrainer.MetricsHeader, lines[0]);
        return [.. lines.Skip(1).Select(l => l.Split(',')[0])];
    }

    private const string TwoCells = """
        {"name": "mini", "kind": "ablation", "preset": "tiny", "steps": 3, "seeds": [0], "probe_epochs": 2, "datasets": ["dna-splice"],
         "rows": [{"label": "Random init", "algo": "random-init"}, {"label": "MAE d0", "algo": "mae", "settings": {"decoder_depth": 0, "batch": 8}}]}
        """;

    [Fact]
    public void TwoCellPlanSkipsDoneCellsAndAKilledCellContinues()
    {
        var dir = Tmp.Dir("bench");
        var plan = ExperimentPlan.Load(Plan(dir, TwoCells));
        var first = ExperimentSuite.Run(plan, dir, plots: MetaMae.Cli.ExperimentPlots.Instance);
        Assert.Equal(2, first.Count);
        Assert.All(first, r => Assert.False(r.Skipped));
        Assert.True(File.Exists(Path.Combine(dir, "mini.md")) && new FileInfo(Path.Combine(dir, "mini.png")).Length > 1000);
        // the library alone draws nothing (no plotting dependency, issue 30): tables only
        var bare = Tmp.Dir("bench-bare");
        ExperimentSuite.Run(plan, bare, renderOnly: false);
        Assert.True(File.Exists(Path.Combine(bare, "mini.md")) && !File.Exists(Path.Combine(bare, "mini.png")));
        var md = File.ReadAllText(Path.Combine(dir, "mini.md"));
        Assert.Contains("| MAE d0 |", md);
        Assert.Contains("(n=1)", md);                     // one seed: no '± 0.0000' pretending to be a spread
        Assert.DoesNotContain("±", md.Split("Per seed:")[0].Split('\n').Skip(3).Aggregate("", (a, l) => a + l));

        var again = ExperimentSuite.Run(plan, dir);
        Assert.All(again, r => Assert.True(r.Skipped));
        Assert.Equal(first.Select(r => r.Test), again.Select(r => r.Test));

        // a cell killed after pretraining (no result.json) is redone from its checkpoint, not from scratch
        var cell = Path.Combine(dir, "cells", "mae_d0", "dna-splice", "s0");
        File.Delete(Path.Combine(cell, "result.json"));
        var third = ExperimentSuite.Run(plan, dir);
        Assert.True(third[0].Skipped);
        Assert.False(third[1].Skipped);
        Assert.Equal(first[1].Test, third[1].Test);
        Assert.Contains("resuming from step 3", File.ReadAllText(Path.Combine(cell, "log.txt")));
        // the cell's result carries its row's settings and its probe's features and label fraction (issue 30)
        var result = JsonNode.Parse(File.ReadAllText(Path.Combine(cell, "result.json")))!;
        Assert.Equal(0, (int)result["settings"]!["decoder_depth"]!);
        Assert.Equal(8, (int)result["settings"]!["batch"]!);
        Assert.Equal("mean", (string?)result["features"]);
        Assert.Equal(1.0, (double)result["label_fraction"]!);
        // its probe row is the record every result file stores, flat and in "rows" (issue 30)
        var row = ProbeRow.FromJson(result["rows"]![0]!, "cell");
        Assert.Equal(("mae", (double)result["test"]!, "mean"), (row.Encoder, row.Test, row.Features));
        ResultRecordTests.AssertFlatKeysAreTheRow(result.AsObject(), "");
        Assert.Equal(["1", "2", "3"], LoggedSteps(Path.Combine(cell, "pretrain")));
    }

    /// <summary>--render: nothing runs; the table holds the finished cells only, rows without one are left out, and a
    /// row with fewer seeds than the plan says so (n=k).</summary>
    [Fact]
    public void RenderOnlyWritesTheTableFromFinishedCellsWithoutRunningTheRest()
    {
        var dir = Tmp.Dir("bench-render");
        var plan = ExperimentPlan.Load(Plan(dir, TwoCells));
        ExperimentSuite.Run(plan with { Rows = plan.Rows[..1], Seeds = [0, 1] }, dir);            // random init, 2 seeds
        var grown = plan with { Seeds = [0, 1, 2] };
        var shown = ExperimentSuite.Run(grown, dir, command: "metamae bench-suite p.json --out d --render", renderOnly: true);
        Assert.Equal(2, shown.Count);
        Assert.All(shown, r => Assert.True(r.Skipped));
        Assert.False(Directory.Exists(Path.Combine(dir, "cells", "mae_d0")));                   // nothing ran
        Assert.False(Directory.Exists(Path.Combine(dir, "cells", "random_init", "dna-splice", "s2")));
        var md = File.ReadAllText(Path.Combine(dir, "mini.md"));
        Assert.Contains("| Random init |", md);
        Assert.Contains("(n=2)", md);
        Assert.DoesNotContain("MAE d0", md);
        // the header names the command that ran the cells, not only the one that drew the table
        Assert.Contains("Cells run by `metamae bench-suite p.json --out d`, tables rendered from them by " +
                        "`metamae bench-suite p.json --out d --render`", md);
        Assert.Throws<InvalidOperationException>(() => ExperimentSuite.Run(grown, Tmp.Dir("bench-empty"), renderOnly: true));
        // a cell probed with another protocol than the plan's is left out of the table, not probed again
        var s1 = Path.Combine(dir, "cells", "random_init", "dna-splice", "s1", "result.json");
        var kept = File.ReadAllText(s1);
        var other = JsonNode.Parse(kept)!;
        (other["probe"], other["regularization"]) = ("converged", 1e-4);     // the plan's is paper (probe_epochs)
        File.WriteAllText(s1, other.ToJsonString());
        var progress = new StringWriter();
        Assert.Single(ExperimentSuite.Run(grown, dir, progress: progress, renderOnly: true));
        Assert.Contains("seed 1: probed with the converged probe, not the plan's", progress.ToString());
        Assert.Equal(other.ToJsonString(), File.ReadAllText(s1));
        Assert.False(File.Exists(Path.Combine(Path.GetDirectoryName(s1)!, "result-converged.json")));
        File.WriteAllText(s1, kept);

        // a cell written before results carried their settings gets them from the plan on --render (issue 30), unless
        // the plan's row no longer builds the configuration the cell stored; its figures are left as they were
        var s0 = Path.Combine(dir, "cells", "random_init", "dna-splice", "s0", "result.json");
        var old = JsonNode.Parse(File.ReadAllText(s0))!.AsObject();
        foreach (var k in new[] { "settings", "features", "label_fraction" }) old.Remove(k);
        old["config"]!["objective"]!.AsObject().Remove("min_visible");                  // a field added since
        var drifted = JsonNode.Parse(old.ToJsonString())!;
        drifted["config"]!["train"]!["batch"] = 7;
        File.WriteAllText(s1, drifted.ToJsonString());
        File.WriteAllText(s0, old.ToJsonString());
        progress = new StringWriter();
        ExperimentSuite.Run(grown, dir, progress: progress, renderOnly: true);
        Assert.Contains("seed 0: done: test accuracy", progress.ToString());
        Assert.Contains("its row's settings added from the plan", progress.ToString(), StringComparison.Ordinal);
        Assert.Contains("seed 1: done: test accuracy", progress.ToString());
        Assert.Contains("its row's settings not added (the plan's row no longer builds the configuration it ran with)",
            progress.ToString());
        var added = JsonNode.Parse(File.ReadAllText(s0))!;
        Assert.Empty(added["settings"]!.AsObject());                                // the random-init row has none
        Assert.Equal(("mean", 1.0), ((string?)added["features"], (double)added["label_fraction"]!));
        Assert.Equal((double)old["test"]!, (double)added["test"]!);
        Assert.Null(JsonNode.Parse(File.ReadAllText(s1))!["settings"]);
        File.WriteAllText(s1, kept);

        // rows finished on different datasets: '-' where a row has no cell yet
        ExperimentSuite.Run(plan with { Rows = plan.Rows[1..], Datasets = ["satellite"] }, dir);   // MAE d0, satellite
        ExperimentSuite.Run(grown with { Datasets = ["dna-splice", "satellite"] }, dir, renderOnly: true);
        var both = File.ReadAllText(Path.Combine(dir, "mini.md"));
        Assert.Matches(@"\| Random init \| 0\.\d+ ± 0\.\d+ \(n=2\) \| - \|", both);
        Assert.Matches(@"\| MAE d0 \| - \| 0\.\d+ \(n=1\) \|", both);
    }

    /// <summary>A budget curve from one pretraining (issue 34): every eval step is probed with the plan's probe and the
    /// paper's, each figure stored with its protocol, and each step's checkpoint kept to probe again later.</summary>
    [Fact]
    public void ACurveProbesEachStepWithBothProbesAndKeepsItsCheckpoints()
    {
        var dir = Tmp.Dir("bench-curve-both");
        var plan = ExperimentPlan.Load(Plan(dir, """
            {"name": "curve2", "kind": "efficiency", "preset": "tiny", "steps": 2, "eval_steps": [1, 2], "seeds": [0],
             "probe": "converged", "probe_epochs": 2, "datasets": ["dna-splice"], "also_probe": ["paper"],
             "keep_checkpoints": true,
             "rows": [{"label": "MAE", "algo": "mae", "settings": {"batch": 8}}]}
            """));
        Assert.Equal([ProbeProtocol.Paper], plan.AlsoProbe);
        ExperimentSuite.Run(plan, dir);
        var cell = Path.Combine(dir, "cells", "mae", "dna-splice", "s0");
        var points = JsonNode.Parse(File.ReadAllText(Path.Combine(cell, "result.json")))!["points"]!.AsArray();
        Assert.Equal(2, points.Count);
        foreach (var p in points)
        {
            var paper = p!["tests"]!["paper"]!;
            Assert.InRange((double)paper["test"]!, 0, 1);
            Assert.False((bool)paper["probe_protocol"]!["standardized"]!);
            Assert.Equal(2, (int)paper["probe_protocol"]!["epochs"]!);
        }
        Assert.True(File.Exists(Path.Combine(cell, "pretrain", "step-1.safetensors")));
        Assert.True(File.Exists(Path.Combine(cell, "pretrain", "step-2.safetensors")));
        using var m1 = Checkpoint.LoadModel(Path.Combine(cell, "pretrain", "step-1.safetensors"));
        var probeAgain = LinearProbe.Run(m1, Catalog.Load("dna-splice"), new ProbeOptions());
        Assert.Equal((double)points[0]!["test"]!, probeAgain.Test, 6);      // the kept step-1 encoder gives the step-1 figure
        var e = Assert.Throws<DataFormatException>(() => ExperimentPlan.Load(Plan(dir, TwoCells.Replace(
            "\"probe_epochs\": 2,", "\"probe_epochs\": 2, \"also_probe\": [\"paper\"],"))));
        Assert.Contains("efficiency plans", e.Message);
    }

    /// <summary>An efficiency plan whose eval steps grow continues each cell from its checkpoint: the earlier points stay,
    /// the later ones equal a fresh run's (a resume continues exactly), and an eval step before the last trained one is
    /// refused by name rather than probing the later checkpoint under the earlier step.</summary>
    [Fact]
    public void AnEfficiencyCurveGrowsFromItsCheckpoint()
    {
        static string Curve(int steps, string eval) => $$$"""
            {"name": "curve", "kind": "efficiency", "preset": "tiny", "steps": {{{steps}}}, "eval_steps": {{{eval}}}, "seeds": [0],
             "probe_epochs": 2, "datasets": ["dna-splice"], "rows": [{"label": "MAE", "algo": "mae", "settings": {"batch": 8}},
             {"label": "Raw input", "algo": "raw-input"}]}
            """;
        var dir = Tmp.Dir("bench-curve");
        var first = ExperimentSuite.Run(ExperimentPlan.Load(Plan(dir, Curve(2, "[1, 2]"))), dir);
        Assert.Equal([1, 2], first[0].Points.Select(p => p.Step));
        var longer = ExperimentPlan.Load(Plan(dir, Curve(4, "[1, 2, 4]")));
        var grown = ExperimentSuite.Run(longer, dir);
        Assert.False(grown[0].Skipped);
        Assert.True(grown[1].Skipped);                       // the raw-input row has no eval steps to extend: not re-run
        Assert.Equal([1, 2, 4], grown[0].Points.Select(p => p.Step));
        Assert.Equal(first[0].Points, grown[0].Points.Take(2));
        var cell = Path.Combine(dir, "cells", "mae", "dna-splice", "s0");
        var log = File.ReadAllText(Path.Combine(cell, "log.txt"));
        Assert.Contains("resuming from step 2", log);
        Assert.DoesNotContain("NaN", log);                   // MAE has no contrast term: the step lines leave it out
        Assert.Equal(["1", "2", "3", "4"], LoggedSteps(Path.Combine(cell, "pretrain")));    // went on from metrics.csv.gz
        var fresh = ExperimentSuite.Run(longer, Tmp.Dir("bench-curve-fresh"));
        Assert.Equal(fresh[0].Points.Select(p => p.Test), grown[0].Points.Select(p => p.Test));
        Assert.True(ExperimentSuite.Run(longer, dir)[0].Skipped);
        // --render of a plan whose curve would grow again runs nothing: it draws the cells as they are
        var logBefore = File.ReadAllText(Path.Combine(cell, "log.txt"));
        var drawn = ExperimentSuite.Run(ExperimentPlan.Load(Plan(dir, Curve(8, "[1, 2, 4, 8]"))), dir, renderOnly: true);
        Assert.All(drawn, r => Assert.True(r.Skipped));
        Assert.Equal([1, 2, 4], drawn[0].Points.Select(p => p.Step));
        Assert.Equal(logBefore, File.ReadAllText(Path.Combine(cell, "log.txt")));
        // the raw-input row has no curve: one line, step '-', the level the curve is read against (a dashed line in the plot)
        Assert.Matches(@"\| Raw input \| dna-splice \| - \| 0 \| 0\.\d{4} \(n=1\) \|", File.ReadAllText(Path.Combine(dir, "curve.md")));

        var e = Assert.Throws<DataFormatException>(() => ExperimentSuite.Run(ExperimentPlan.Load(Plan(dir, Curve(4, "[1, 2, 3, 4]"))), dir));
        Assert.Contains("eval step 3 lies before step 4", e.Message);
    }

    /// <summary>A row's "preset" sets its model size beside rows of the plan's size (the preset-choice plan).</summary>
    [Fact]
    public void ARowsPresetOverridesThePlans()
    {
        var dir = Tmp.Dir("bench-preset");
        var plan = ExperimentPlan.Load(Plan(dir, """
            {"name": "sizes", "kind": "ablation", "preset": "tiny", "steps": 1, "seeds": [0], "probe_epochs": 1, "datasets": ["dna-splice"],
             "rows": [{"label": "tiny", "algo": "mae", "settings": {"batch": 4}},
                      {"label": "small", "algo": "mae", "settings": {"batch": 4, "preset": "small"}}]}
            """));
        ExperimentSuite.Run(plan, dir);
        int Width(string row) => (int)JsonNode.Parse(File.ReadAllText(
            Path.Combine(dir, "cells", row, "dna-splice", "s0", "pretrain", "config.json")))!["model"]!["enc_dim"]!;
        Assert.Equal(64, Width("tiny"));
        Assert.Equal(128, Width("small"));
    }

    [Fact]
    public void TransferColumnsWithOnePretrainingDatasetShareItsPretraining()
    {
        var dir = Tmp.Dir("bench-transfer");
        var plan = ExperimentPlan.Load(Plan(dir, """
            {"name": "tr", "kind": "transfer", "preset": "tiny", "steps": 3, "seeds": [0], "probe_epochs": 2,
             "transfers": [{"pretrain": "protein-families", "probe": "stability-like"}, {"pretrain": "protein-families", "probe": "fluorescence-like"}],
             "rows": [{"label": "MAE", "algo": "mae", "settings": {"batch": 8}}]}
            """));
        var r = ExperimentSuite.Run(plan, dir);
        Assert.Equal(2, r.Count);
        Assert.All(r, c => Assert.Equal("spearman", c.Metric));
        var shared = Path.Combine(dir, "pretrained", "mae", "protein-families", "s0");
        Assert.Equal(["1", "2", "3"], LoggedSteps(shared));                                 // trained once
        Assert.Contains("shared by the transfer columns", File.ReadAllText(Path.Combine(Directory.GetDirectories(Path.Combine(dir, "cells", "mae")).Single(d => d.Contains("fluorescence")), "s0", "log.txt")));
        // the second column trained no step: it reports the first one's seconds and leaves the count as it was
        Assert.Equal(r[0].PretrainSeconds, r[1].PretrainSeconds);
        Assert.Equal(r[0].PretrainSeconds.ToString("R", CultureInfo.InvariantCulture),
            File.ReadAllText(Path.Combine(shared, "seconds.txt")));
    }

    [Theory]
    [InlineData("""{"name": "x", "kind": "ablation", "steps": 3, "seeds": [0], "datasets": ["dna-splice"], "rows": [{"algo": "simclr"}]}""", "simclr")]
    [InlineData("""{"name": "x", "kind": "ablation", "steps": 3, "seeds": [0], "datasets": ["dna-splice"], "rows": [{"algo": "mae", "settings": {"depth": 1}}]}""", "\"depth\"")]
    [InlineData("""{"name": "x", "kind": "ablation", "steps": 3, "seeds": [0], "datasets": ["dna-splice"], "rows": [{"algo": "mae", "settings": {"preset": "huge"}}]}""", "\"preset\" must be one of: paper, small, tiny")]
    [InlineData("""{"name": "x", "kind": "tables", "steps": 3, "seeds": [0], "datasets": [], "rows": []}""", "tables")]
    [InlineData("""{"name": "x", "kind": "ablation", "steps": 3, "seeds": [0], "datasets": ["dna-splice"],""", "not valid JSON")]
    public void BadPlansAreRejectedWithTheirFault(string json, string mentions)
    {
        var dir = Tmp.Dir("badplan");
        var e = Assert.Throws<DataFormatException>(() => ExperimentPlan.Load(Plan(dir, json)));
        Assert.Contains(mentions, e.Message);
        Assert.Contains("plan.json", e.Message);
    }

    [Fact]
    public void ADatasetMissingFromTheCatalogIsAClearError()
    {
        var dir = Tmp.Dir("bench-missing");
        var plan = ExperimentPlan.Load(Plan(dir, TwoCells.Replace("[\"dna-splice\"]", "[\"dna-splice\", \"pamap9\"]")));
        var e = Assert.Throws<ArgumentException>(() => ExperimentSuite.Run(plan, dir));
        Assert.Contains("'pamap9' is not in the catalog", e.Message);
        Assert.Empty(Directory.GetDirectories(dir));          // nothing ran
        Assert.Single(plan.Restrict(["dna-splice"]).Columns);
    }

    /// <summary>A small table of the user's own: 4 numeric features, a label that depends on them, a split column.</summary>
    internal static string OwnTable(string dir, int rows = 40)
    {
        var rng = new Random(3);
        var lines = new List<string> { "f0,f1,f2,f3,label,split" };
        for (int i = 0; i < rows; i++)
        {
            var f = Enumerable.Range(0, 4).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
            lines.Add(string.Join(",", f.Select(v => v.ToString("F3", System.Globalization.CultureInfo.InvariantCulture)))
                + $",{(f[0] + f[1] > 0 ? "up" : "down")},{(i % 4 == 0 ? "test" : "train")}");
        }
        var path = Path.Combine(dir, "my-table.csv");
        File.WriteAllLines(path, lines);
        return path;
    }

    [Fact]
    public void APlanRunsOnTheUsersOwnDataFromItsDataMapAndFromTheCli()
    {
        var dir = Tmp.Dir("bench-own");
        OwnTable(dir);
        var plan = ExperimentPlan.Load(Plan(dir, """
            {"name": "own", "kind": "ablation", "preset": "tiny", "steps": 2, "seeds": [0], "probe_epochs": 2, "datasets": ["mine"],
             "data": {"mine": {"path": "my-table.csv", "modality": "tabular"}},
             "rows": [{"label": "MAE", "algo": "mae", "settings": {"batch": 8}}]}
            """));
        var r = Assert.Single(ExperimentSuite.Run(plan, dir));
        Assert.InRange(r.Test, 0, 1);
        var config = File.ReadAllText(Path.Combine(dir, "cells", "mae", "mine", "s0", "log.txt"));
        Assert.Contains("\"kind\":\"tabular\",\"features\":4", config.Replace(" ", ""));   // the table's 4 columns

        // the same plan's rows on a file given at the command line (bench-suite --data PATH --modality M)
        var cliOut = Path.Combine(dir, "cli");
        var (code, stdout, stderr) = CliTests.Metamae("bench-suite", Plan(dir, TwoCells), "--data", Path.Combine(dir, "my-table.csv"),
            "--modality", "tabular", "--steps", "2", "--out", cliOut, "--threads", "1");
        Assert.True(code == 0, stderr);
        Assert.True(File.Exists(Path.Combine(cliOut, "cells", "mae_d0", "my-table", "s0", "result.json")), stdout);
        Assert.False(Directory.Exists(Path.Combine(cliOut, "cells", "mae_d0", "dna-splice")));
    }

    [Fact]
    public void AMisspeltKeyInThePlansDataMapIsAnErrorNamingIt()
    {
        var dir = Tmp.Dir("bench-own-bad");
        var e = Assert.Throws<DataFormatException>(() => ExperimentPlan.Load(Plan(dir, """
            {"name": "own", "kind": "ablation", "steps": 2, "seeds": [0], "datasets": ["mine"],
             "data": {"mine": {"path": "t.csv", "modality": "tabular", "label_colum": "y"}}, "rows": [{"algo": "mae"}]}
            """)));
        Assert.Contains("data[\"mine\"] has an unknown key \"label_colum\"", e.Message);
    }

    [Fact]
    public void ShippedPlansLoad()
    {
        var configs = Path.Combine(Catalog.DataRoot(), "..", "configs");
        if (!Directory.Exists(configs))
            for (var d = new DirectoryInfo(Directory.GetCurrentDirectory()); d is not null; d = d.Parent)
                if (Directory.Exists(Path.Combine(d.FullName, "configs"))) { configs = Path.Combine(d.FullName, "configs"); break; }
        var files = Directory.GetFiles(configs, "*.json");
        Assert.True(files.Length >= 10, $"expected the shipped plans in {configs}");
        var spec = Catalog.Load("dna-splice").Spec;                  // once: a load reads and checks the whole set
        foreach (var f in files)
        {
            var p = ExperimentPlan.Load(f);
            Assert.NotEmpty(p.Rows);
            foreach (var row in p.Rows) p.CellConfig(row, "dna-splice", spec, Table8.Genomics, 0).Objective.Validate();
        }
    }

    [Fact]
    public void PerTokenProbeScoresLabelledTokensOnly()
    {
        // token label = id parity; padding (id 0) labelled -1
        var spec = new TokenSpec(6, 10, PadId: 0);
        manual_seed(5);
        Split Make(int n)
        {
            var x = randint(1, 6, [n, 10]);
            x[.., 7..] = 0;                                         // 3 padding positions per sample
            var ids = x.data<long>().ToArray();
            var lab = Enumerable.Range(0, n).Select(i => Enumerable.Range(0, 10).Select(t => ids[i * 10 + t] == 0 ? -1L : ids[i * 10 + t] % 2).ToArray()).ToArray();
            return new Split(x, null, null, lab);
        }
        var ds = new Dataset("toy-ss", spec, Make(60), Make(20), ["even", "odd"], TaskKind.TokenClassification);
        using var model = new MetaMaeModel(spec, ModelConfig.Tiny);
        var r = LinearProbe.Run(model, ds, new ProbeOptions { Epochs = 60, Batch = 32, Lr = 1e-2 });
        Assert.Equal("token_accuracy", r.Metric);
        Assert.Equal(20 * 7, r.TestCount);                          // padding excluded from scoring
        Assert.True(r.Test > 0.9, $"token parity is linearly readable from the embedding: accuracy {r.Test:F3}");
        // a token label out of range names sample and token
        var bad = new Split(ds.Test!.X, null, null, ds.Test.TokenLabels!.Select((l, i) => i == 3 ? l.Select((v, t) => t == 2 ? 7L : v).ToArray() : l).ToArray());
        var e = Assert.Throws<ArgumentException>(() => LinearProbe.Run(model, new Dataset("toy-ss", spec, ds.Train, bad, ["even", "odd"], TaskKind.TokenClassification), new ProbeOptions { Epochs = 1 }));
        Assert.Contains("sample 3 token 2", e.Message);
    }

    [Fact]
    public void ProbeTransfersACheckpointToADatasetOfTheSameSpecViaTheCli()
    {
        var ds = Catalog.Load("dna-splice");
        var dir = Tmp.Dir("transfer");
        var pre = Pretrainer.Run(ds.Train.X, TrainingTests.Config("mae", 2), dir);
        var (code, output, err) = CliTests.Metamae("probe", "--checkpoint", pre.CheckpointPath, "--dataset", "dna-splice", "--probe-epochs", "2", "--json", "--threads", "1");
        Assert.True(code == 0, err);
        Assert.Contains("\"metric\":\"accuracy\"", output);
        var (code2, _, err2) = CliTests.Metamae("probe", "--checkpoint", pre.CheckpointPath, "--dataset", "no-such-set");
        Assert.Equal(2, code2);
        Assert.Contains("unknown dataset 'no-such-set'", err2);
    }
}
