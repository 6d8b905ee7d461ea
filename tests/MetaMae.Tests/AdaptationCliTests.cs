using MetaMae.Objectives;
using MetaMae.Training;
using System.Text.Json.Nodes;
using MetaMae.Experiments;
using MetaMae.Data;

namespace MetaMae.Tests;

/// <summary>--inner-loss, --distance, --lr-schedule, --warmup-steps on the command line and in bench-suite plans.</summary>
public class AdaptationCliTests
{
    [Theory]
    [InlineData(new[] { "pretrain", "--inner-loss", "sum" }, "--inner-loss must be one of reference, paper (got 'sum')")]
    [InlineData(new[] { "pretrain", "--distance", "l1" }, "--distance must be one of mse, sq-l2, l2 (got 'l1')")]
    [InlineData(new[] { "pretrain", "--lr-schedule", "step" }, "--lr-schedule must be one of constant, cosine (got 'step')")]
    [InlineData(new[] { "pretrain", "--preset", "tiny", "--steps", "3", "--lr-schedule", "cosine", "--warmup-steps", "3" }, "--warmup-steps")]
    public void BadValuesGetOneClearLineAndExitCode2(string[] args, string mentions)
    {
        var (code, _, err) = CliTests.Metamae(args);
        Assert.Equal(2, code);
        var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("error: ", lines[0]);
        Assert.Contains(mentions, lines[0]);
    }

    [Fact]
    public void TheFlagsReachTheCheckpointAndTheProgressLineShowsTheAdaptation()
    {
        var dir = Tmp.Dir("cli-adapt");
        var (code, _, err) = CliTests.Metamae("pretrain", "--dataset", "spambase", "--preset", "tiny", "--steps", "3", "--batch", "16",
            "--inner-loss", "paper", "--distance", "l2", "--lr-schedule", "cosine", "--warmup-steps", "1", "--log-every", "1",
            "--threads", "2", "--out", dir);
        Assert.True(code == 0, err);
        var cfg = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!;
        Assert.Equal("paper", (string?)cfg["objective"]!["inner_loss"]);
        Assert.Equal("l2", (string?)cfg["objective"]!["distance"]);
        Assert.Equal("cosine", (string?)cfg["train"]!["lr_schedule"]);
        Assert.Equal(1, (int)cfg["train"]!["warmup_steps"]!);
        Assert.Contains("latent change ", err);
        Assert.Contains("inner gain ", err);
        // they define the run: a resume may not change them
        var changed = CliTests.Metamae("pretrain", "--out", dir, "--resume", "--steps", "3", "--inner-loss", "reference");
        Assert.Equal(2, changed.Code);
        Assert.Contains("--inner-loss", changed.Err);
    }

    [Fact]
    public void ARunConfigWrittenBeforeTheOptionsExistedReadsAsTheDefaults()
    {
        var cfg = TrainingTests.Config("metamae", 4);
        var json = JsonNode.Parse(cfg.ToJson())!.AsObject();
        Assert.True(json["objective"]!.AsObject().Remove("inner_loss") && json["objective"]!.AsObject().Remove("distance"));
        Assert.True(json["train"]!.AsObject().Remove("lr_schedule") && json["train"]!.AsObject().Remove("warmup_steps"));
        var old = MetaMae.Training.RunConfig.FromJson(json.ToJsonString(), "old checkpoint");
        Assert.Equal(("reference", "mse", "constant", 0),
            (EnumNames<InnerLossScaling>.Of(old.Objective.InnerLoss), EnumNames<InnerDistance>.Of(old.Objective.Distance),
                EnumNames<LrSchedule>.Of(old.Train.LrSchedule), old.Train.WarmupSteps));
        Assert.True(old.SameRunAs(cfg));
        Assert.False(old.SameRunAs(cfg with { Objective = cfg.Objective with { InnerLoss = InnerLossScaling.Paper } }));
    }

    [Fact]
    public void APlanRowSetsTheScalingDistanceAndSchedule()
    {
        var dir = Tmp.Dir("plan-adapt");
        var path = Path.Combine(dir, "plan.json");
        File.WriteAllText(path, """
            {"name": "p", "kind": "ablation", "preset": "tiny", "steps": 10, "seeds": [0], "datasets": ["spambase"],
             "rows": [{"label": "paper", "algo": "metamae",
                       "settings": {"inner_loss": "paper", "distance": "sq-l2", "lr_schedule": "cosine", "warmup_steps": 2}}]}
            """);
        var plan = ExperimentPlan.Load(path);
        var ds = Catalog.Load("spambase");
        var c = plan.CellConfig(plan.Rows[0], "spambase", ds.Spec, Table8.Higgs, 0);
        Assert.Equal(("paper", "sq-l2", "cosine", 2), (EnumNames<InnerLossScaling>.Of(c.Objective.InnerLoss),
            EnumNames<InnerDistance>.Of(c.Objective.Distance), EnumNames<LrSchedule>.Of(c.Train.LrSchedule), c.Train.WarmupSteps));

        File.WriteAllText(path, File.ReadAllText(path).Replace("\"sq-l2\"", "\"l1\""));
        var bad = ExperimentPlan.Load(path);
        var e = Assert.Throws<DataFormatException>(() => bad.CellConfig(bad.Rows[0], "spambase", ds.Spec, Table8.Higgs, 0));
        Assert.Contains("\"distance\"", e.Message);
        Assert.Contains("mse, sq-l2, l2", e.Message);
    }
}
