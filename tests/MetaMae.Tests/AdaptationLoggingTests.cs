using MetaMae.Objectives;
using System.Globalization;
using MetaMae.Data;
using MetaMae.Training;

namespace MetaMae.Tests;

/// <summary>metrics.csv, the progress reports and resume with the latent_change / inner_gain columns.</summary>
public class AdaptationLoggingTests
{
    private static Dataset Dna => Catalog.Load("dna-splice");

    private static string[][] Rows(string dir) =>
        File.ReadLines(Path.Combine(dir, "metrics.csv")).Skip(1).Select(l => l.Split(',')).ToArray();

    private sealed class Reports : ITrainingMonitor
    {
        public readonly List<StepReport> Steps = [];
        public void OnStart(RunConfig c, int s, string m) { }
        public void OnStep(StepReport r) => Steps.Add(r);
        public void OnCheckpoint(int s, string p) { }
    }

    [Fact]
    public void LoggingStepsRecordTheAdaptationAndOtherStepsLeaveItEmpty()
    {
        var dir = Tmp.Dir("adapt-log");
        var cfg = TrainingTests.Config("metamae", 5);
        var reports = new Reports();
        Pretrainer.Run(Dna.Train.X, cfg with { Train = cfg.Train with { LogEvery = 2 } }, dir, monitor: reports);
        Assert.Equal(Pretrainer.MetricsHeader, File.ReadLines(Path.Combine(dir, "metrics.csv")).First());
        Assert.Equal("step,loss,reconstruction,contrast,inner,seconds,latent_change,inner_gain," +
            "contrast_floor,contrast_share,second_order_share", Pretrainer.MetricsHeader);
        var rows = Rows(dir);
        Assert.All(rows, r => Assert.Equal(11, r.Length));
        foreach (var r in rows)
        {
            bool logged = r[0] is "1" or "2" or "4" or "5";           // the first step, every 2nd, the last
            Assert.True(logged == (r[6] != "") && logged == (r[7] != ""), $"step {r[0]}: latent_change '{r[6]}', inner_gain '{r[7]}'");
            Assert.True(logged == (r[9] != "") && logged == (r[10] != ""), $"step {r[0]}: shares '{r[9]}', '{r[10]}'");
            Assert.Equal(Losses.NtXentFloor(cfg.Train.Batch, cfg.Objective.Temperature),
                double.Parse(r[8], CultureInfo.InvariantCulture));
            if (logged) Assert.True(double.Parse(r[6], CultureInfo.InvariantCulture) > 0, $"step {r[0]}: the latent did not move");
        }
        Assert.Equal([1, 2, 4, 5], reports.Steps.Select(s => s.Step));
        Assert.All(reports.Steps, s => Assert.True(s.LatentChange > 0 && double.IsFinite(s.InnerGain)));

        var mae = Tmp.Dir("adapt-log-mae");
        Pretrainer.Run(Dna.Train.X, TrainingTests.Config("mae", 2), mae);
        Assert.All(Rows(mae), r => Assert.True(r.Length == 11 && r[6] == "" && r[7] == "" && r[8] == "" && r[9] == ""));
    }

    [Fact]
    public void MeasuringOnEveryStepChangesNoTrainingNumber()
    {
        var cfg = TrainingTests.Config("metamae", 3);
        var every = Pretrainer.Run(Dna.Train.X, cfg, Tmp.Dir("measure-every"));
        var rarely = Pretrainer.Run(Dna.Train.X, cfg with { Train = cfg.Train with { LogEvery = 1000 } }, Tmp.Dir("measure-rarely"));
        Assert.Equal(every.Losses, rarely.Losses);
        var w = rarely.Model.state_dict();
        foreach (var (k, v) in every.Model.state_dict()) Assert.True(T.Same(v, w[k]), $"weight '{k}' differs");
    }

    [Fact]
    public void AMetricsFileWrittenBeforeTheColumnsExistedStillResumes()
    {
        var dir = Tmp.Dir("adapt-old");
        Pretrainer.Run(Dna.Train.X, TrainingTests.Config("metamae", 4, saveEvery: 2), dir);
        // rewrite metrics.csv as an older version wrote it: six columns
        var path = Path.Combine(dir, "metrics.csv");
        var old = Rows(dir).Select(r => string.Join(",", r.Take(6)));
        File.WriteAllLines(path, ["step,loss,reconstruction,contrast,inner,seconds", .. old]);
        var r = Pretrainer.Run(Dna.Train.X, TrainingTests.Config("metamae", 6, saveEvery: 2), dir, resume: true);
        Assert.Equal(Pretrainer.MetricsHeader, File.ReadLines(path).First());
        var rows = Rows(dir);
        Assert.Equal(["1", "2", "3", "4", "5", "6"], rows.Select(x => x[0]));
        Assert.All(rows, x => Assert.Equal(11, x.Length));
        Assert.Equal("", rows[0][6]);                                          // an old row, padded
        Assert.NotEqual("", rows[4][6]);                                       // the first resumed step is logged
        Assert.Equal(6, r.Losses.Count);
    }
}
