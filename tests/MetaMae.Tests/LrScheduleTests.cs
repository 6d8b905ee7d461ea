using MetaMae.Data;
using MetaMae.Model;
using MetaMae.Training;
using static TorchSharp.torch;

namespace MetaMae.Tests;

/// <summary>--lr-schedule constant|cosine and --warmup-steps: the rates, and resume with them.</summary>
public class LrScheduleTests
{
    private static Dataset Dna => Catalog.Load("dna-splice");

    [Fact]
    public void RatesFollowWarmupThenHalfACosine()
    {
        var constant = new TrainOptions { Steps = 10, Lr = 1e-4 };
        Assert.All(Enumerable.Range(0, 10), s => Assert.Equal(1e-4, constant.LrAt(s)));   // exactly the paper's rate
        var warm = constant with { WarmupSteps = 4 };
        Assert.Equal([0.25e-4, 0.5e-4, 0.75e-4, 1e-4, 1e-4], Enumerable.Range(0, 5).Select(warm.LrAt).Select(v => Math.Round(v, 12)));
        var cos = new TrainOptions { Steps = 12, Lr = 1e-4, LrSchedule = LrSchedule.Cosine, WarmupSteps = 2 };
        var lr = Enumerable.Range(0, 12).Select(cos.LrAt).ToArray();
        Assert.Equal(0.5e-4, lr[0], 12);
        Assert.Equal(1e-4, lr[2], 12);                   // the peak right after the warm-up
        Assert.Equal(0.5e-4, lr[7], 12);                  // half way through the 10 decaying steps
        Assert.True(lr[11] > 0 && lr[11] < 0.03e-4, $"last rate {lr[11]:E3}");
        for (int s = 3; s < 12; s++) Assert.True(lr[s] < lr[s - 1], $"step {s}: not decreasing");
    }

    [Fact]
    public void BadScheduleSettingsAreRejected()
    {
        Assert.Contains("--lr-schedule", Assert.Throws<ArgumentException>(() => new TrainOptions { LrSchedule = (LrSchedule)7 }.Validate()).Message);
        Assert.Contains("--warmup-steps", Assert.Throws<ArgumentException>(() => new TrainOptions { WarmupSteps = -1 }.Validate()).Message);
        Assert.Contains("--warmup-steps", Assert.Throws<ArgumentException>(() =>
            new TrainOptions { Steps = 5, WarmupSteps = 5, LrSchedule = LrSchedule.Cosine }.Validate()).Message);
    }

    private static RunConfig Cosine(int steps, int saveEvery = 0)
    {
        var c = TrainingTests.Config("metamae", steps, saveEvery);
        return c with { Train = c.Train with { LrSchedule = LrSchedule.Cosine, WarmupSteps = 2, Lr = 1e-3 } };
    }

    private sealed class StopAt(int step, CancellationTokenSource cts) : ITrainingMonitor
    {
        public void OnStart(RunConfig c, int s, string m) { }
        public void OnStep(StepReport r) { if (r.Step == step) cts.Cancel(); }
        public void OnCheckpoint(int s, string p) { }
    }

    private static Dictionary<string, Tensor> Weights(MetaMaeModel m) => m.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());

    [Fact]
    public void ACosineRunResumedEndsWithTheWeightsOfAnUninterruptedOne()
    {
        var full = Pretrainer.Run(Dna.Train.X, Cosine(6), Tmp.Dir("cos-full"));
        var fullW = Weights(full.Model);
        // the schedule matters: the constant rate gives other weights
        var constant = Pretrainer.Run(Dna.Train.X, Cosine(6) with { Train = Cosine(6).Train with { LrSchedule = LrSchedule.Constant, WarmupSteps = 0 } },
            Tmp.Dir("cos-const"));
        Assert.Contains(constant.Model.state_dict(), kv => !T.Same(kv.Value, fullW[kv.Key]));

        var dir = Tmp.Dir("cos-killed");
        using var cts = new CancellationTokenSource();
        Assert.ThrowsAny<OperationCanceledException>(() =>
            Pretrainer.Run(Dna.Train.X, Cosine(6, saveEvery: 3), dir, monitor: new StopAt(4, cts), cancel: cts.Token));
        var resumed = Pretrainer.Run(Dna.Train.X, Cosine(6, saveEvery: 3), dir, resume: true);
        foreach (var (k, v) in Weights(resumed.Model)) Assert.True(T.Same(v, fullW[k]), $"weight '{k}' differs after resume");

        // the step budget is the cosine's horizon: a resume may not move it
        var e = Assert.Throws<InvalidOperationException>(() => Pretrainer.Run(Dna.Train.X, Cosine(8), dir, resume: true));
        Assert.Contains("--lr-schedule cosine", e.Message);
    }
}
