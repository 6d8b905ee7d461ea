using MetaMae.Data;
using MetaMae.Model;
using MetaMae.Objectives;
using MetaMae.Training;
using TorchSharp;
using static TorchSharp.torch;
using MetaMae.IO;

namespace MetaMae.Tests;

public class TrainingTests
{
    private static Dataset Dna => Catalog.Load("dna-splice");

    internal static RunConfig Config(string algo, int steps, int saveEvery = 0, long seed = 0)
    {
        var preset = Catalog.Get("dna-splice").Preset;
        var spec = Dna.Spec;
        return new RunConfig(algo, "dna-splice", spec, preset.Apply(ModelConfig.Tiny), preset.Objective(algo == "metamae"),
            new TrainOptions { Steps = steps, Batch = 16, Seed = seed, SaveEvery = saveEvery, LogEvery = 1 });
    }

    private sealed class StopAt(int step, CancellationTokenSource cts, Action<int>? onStep = null) : ITrainingMonitor
    {
        public void OnStart(RunConfig c, int s, string m) { }
        public void OnStep(StepReport r) { onStep?.Invoke(r.Step); if (r.Step == step) cts.Cancel(); }
        public void OnCheckpoint(int s, string p) { }
    }

    private static Dictionary<string, Tensor> Weights(MetaMaeModel m) => m.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());

    [Fact]
    public void SameSeedGivesTheSameNumbers()
    {
        var a = Pretrainer.Run(Dna.Train.X, Config("metamae", 4), Tmp.Dir("det-a"));
        var b = Pretrainer.Run(Dna.Train.X, Config("metamae", 4), Tmp.Dir("det-b"));
        Assert.Equal(a.Losses.Select(l => l.Loss), b.Losses.Select(l => l.Loss));
        var c = Pretrainer.Run(Dna.Train.X, Config("metamae", 4, seed: 1), Tmp.Dir("det-c"));
        Assert.NotEqual(a.Losses.Select(l => l.Loss), c.Losses.Select(l => l.Loss));
    }

    [Theory]
    [InlineData("metamae")]
    [InlineData("mae")]
    public void AKilledRunResumedEndsWithTheWeightsOfAnUninterruptedRun(string algo)
    {
        var full = Pretrainer.Run(Dna.Train.X, Config(algo, 10), Tmp.Dir("full"));
        var fullW = Weights(full.Model);

        var dir = Tmp.Dir("killed");
        using var cts = new CancellationTokenSource();
        // checkpoints at 3 and 6; stopped during step 8, so steps 7-8 are lost and redone
        Assert.ThrowsAny<OperationCanceledException>(() =>
            Pretrainer.Run(Dna.Train.X, Config(algo, 10, saveEvery: 3), dir, monitor: new StopAt(7, cts), cancel: cts.Token));
        using (var ck = Checkpoint.Load(Path.Combine(dir, Checkpoint.FileName))) Assert.Equal(6, ck.Step);
        // a half-written temp file from the kill must not matter
        File.WriteAllText(Path.Combine(dir, ".checkpoint.safetensors.999.tmp"), "garbage");

        var resumed = Pretrainer.Run(Dna.Train.X, Config(algo, 10, saveEvery: 3), dir, resume: true);
        foreach (var (k, v) in Weights(resumed.Model))
            Assert.True(T.Same(v, fullW[k]), $"weight '{k}' differs after resume");
        Assert.Equal(full.FinalLoss, resumed.FinalLoss);
        // metrics.csv holds each step once
        var steps = File.ReadLines(Path.Combine(dir, "metrics.csv")).Skip(1).Select(l => int.Parse(l.Split(',')[0])).ToList();
        Assert.Equal(Enumerable.Range(1, 10), steps);
    }

    [Fact]
    public void RefusesToOverwriteARunOrResumeWithOtherSettings()
    {
        var dir = Tmp.Dir("refuse");
        Pretrainer.Run(Dna.Train.X, Config("mae", 2), dir);
        Assert.Contains("--resume", Assert.Throws<InvalidOperationException>(() => Pretrainer.Run(Dna.Train.X, Config("mae", 2), dir)).Message);
        Assert.Contains("different settings", Assert.Throws<InvalidOperationException>(() =>
            Pretrainer.Run(Dna.Train.X, Config("metamae", 4), dir, resume: true)).Message);
    }

    [Fact]
    public void NativeTensorCountStaysFlatAcrossSteps()
    {
        var live = new Dictionary<int, long>();
        using var cts = new CancellationTokenSource();
        Pretrainer.Run(Dna.Train.X, Config("metamae", 40), Tmp.Dir("flat"),
            monitor: new StopAt(-1, cts, s => live[s] = DisposeScopeManager.Statistics.ThreadTotalLiveCount));
        Assert.Equal(live[5], live[40]);
    }

    [Fact]
    public void NaNInDataIsRejectedWithTheSampleNumber()
    {
        var spec = new MetaMae.Modalities.TabularSpec(4);
        using var x = randn(8, 4);
        x[5, 2] = double.NaN;
        var cfg = new RunConfig("mae", "toy", spec, ModelConfig.Tiny, new ObjectiveOptions { MaskRatio = 0.5, Adapt = false, Lambda = 0 },
            new TrainOptions { Steps = 1, Batch = 4 });
        var e = Assert.Throws<ArgumentException>(() => Pretrainer.Run(x, cfg, Tmp.Dir("nan")));
        Assert.Contains("sample 5", e.Message);
    }

    [Fact]
    public void ANaNLossStopsTheRunWithAClearError()
    {
        var spec = new MetaMae.Modalities.TabularSpec(4);
        using var x = full(8, 4, 1e30f);      // finite inputs whose squares overflow float32
        var cfg = new RunConfig("mae", "toy", spec, ModelConfig.Tiny, new ObjectiveOptions { MaskRatio = 0.5, Adapt = false, Lambda = 0 },
            new TrainOptions { Steps = 1, Batch = 4 });
        var e = Assert.Throws<ArithmeticException>(() => Pretrainer.Run(x, cfg, Tmp.Dir("nanloss")));
        Assert.Contains("step 1", e.Message);
    }

    [Fact]
    public void SafeTensorsRoundTripIsExact()
    {
        var path = Path.Combine(Tmp.Dir("st"), "x.safetensors");
        using var a = randn(3, 5);
        using var b = tensor(new long[] { 1, -2, 3 });
        using var c = randn(new long[] { 2, 2 }, dtype: ScalarType.Float64);
        SafeTensors.Save(path, [new("a", a), new("b", b), new("c", c)], new Dictionary<string, string> { ["k"] = "v" });
        var (t, meta) = SafeTensors.Load(path);
        Assert.True(T.Same(t["a"], a) && T.Same(t["b"], b) && T.Same(t["c"], c));
        Assert.Equal("v", meta["k"]);
        var bytes = File.ReadAllBytes(path);
        Assert.Equal(0, (8 + (int)BitConverter.ToUInt64(bytes, 0)) % 8);       // data stays 8-byte aligned
        File.WriteAllBytes(path, bytes[..(bytes.Length - 4)]);
        Assert.Contains("do not fit", Assert.Throws<InvalidDataException>(() => SafeTensors.Load(path)).Message);
    }
}
