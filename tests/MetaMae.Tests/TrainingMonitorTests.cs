using System.Globalization;
using System.Text;
using MetaMae.Data;
using MetaMae.Model;
using MetaMae.Training;

namespace MetaMae.Tests;

/// <summary>What a run tells its monitors, in which order, and that metrics.csv and TensorBoard's curves get every step.</summary>
public class TrainingMonitorTests
{
    private static Dataset Dna => Catalog.Load("dna-splice");

    private sealed class Recorder : ITrainingMonitor
    {
        public readonly List<string> Calls = [];
        public readonly List<StepMetrics> Steps = [];
        public void OnStart(RunConfig config, int startStep, string message) => Calls.Add($"start {startStep}");
        public void OnStepDone(StepMetrics metrics, MetaMaeModel model)
        {
            Assert.True(model.training, $"step {metrics.Step}: the model is not in training mode");
            Steps.Add(metrics);
            Calls.Add($"done {metrics.Step}");
        }
        public void Flush() => Calls.Add("flush");
        public void OnCheckpoint(int step, string path) => Calls.Add($"checkpoint {step}");
        public void OnStep(StepReport report) => Calls.Add($"step {report.Step}");
    }

    private static int Count(byte[] haystack, string needle)
    {
        var n = Encoding.ASCII.GetBytes(needle);
        return Enumerable.Range(0, haystack.Length - n.Length + 1).Count(i => haystack.AsSpan(i, n.Length).SequenceEqual(n));
    }

    [Fact]
    public void EveryStepReachesTheCallersMonitorMetricsCsvAndTensorBoard()
    {
        var dir = Tmp.Dir("monitors");
        var cfg = TrainingTests.Config("metamae", 4, saveEvery: 2);
        var rec = new Recorder();
        var r = Pretrainer.Run(Dna.Train.X, cfg with { Train = cfg.Train with { LogEvery = 2 } }, dir, monitor: rec);

        // metrics.csv is flushed before each checkpoint; progress comes on logging steps (1, 2, 4), after any checkpoint
        Assert.Equal(["start 0", "done 1", "step 1", "done 2", "flush", "checkpoint 2", "step 2", "done 3", "done 4", "step 4",
            "flush", "checkpoint 4"], rec.Calls);
        Assert.Equal(r.Losses, rec.Steps.Select(m => (m.Step, m.Loss)));

        var lines = File.ReadAllLines(Path.Combine(dir, "metrics.csv"));
        Assert.Equal(Pretrainer.MetricsHeader, lines[0]);
        Assert.Equal(rec.Steps.Select(m => $"{m.Step},{m.Loss.ToString("R", CultureInfo.InvariantCulture)}"),
            lines.Skip(1).Select(l => string.Join(",", l.Split(',').Take(2))));

        // TensorBoard: one loss/total per step; MetaMAE's latent change on the 3 logging steps
        var events = Assert.Single(Directory.GetFiles(Path.Combine(dir, "tensorboard"), "events.out.tfevents.*"));
        var bytes = File.ReadAllBytes(events);
        Assert.Equal(4, Count(bytes, "loss/total"));
        Assert.Equal(4, Count(bytes, "loss/reconstruction"));
        Assert.Equal(3, Count(bytes, "adaptation/latent_change"));
    }
}
