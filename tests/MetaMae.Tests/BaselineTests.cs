using MetaMae.Data;
using MetaMae.Evaluation;
using MetaMae.Modalities;
using MetaMae.Model;
using MetaMae.Objectives;
using MetaMae.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MetaMae.Tests;

public class BaselineTests
{
    internal static RunConfig Config(string algo, InputSpec spec, string dataset, int steps, int batch = 16)
    {
        var (mask, tau) = (Algorithms.Get(algo).MaskRatio!.Value, Algorithms.Get(algo).Temperature!.Value);
        var preset = Table8.Genomics;
        return new RunConfig(algo, dataset, spec, preset.Apply(ModelConfig.Tiny),
            new ObjectiveOptions { MaskRatio = mask, Temperature = tau, Adapt = false, Lambda = 0 },
            new TrainOptions { Steps = steps, Batch = batch, Seed = 0, LogEvery = 1 });
    }

    /// <summary>Every labelled dataset that ships with the repo (configs/datasets.json lists the same eleven).</summary>
    public static TheoryData<string> ShippedLabelled() =>
        new("dna-splice", "protein-families", "satellite", "spambase", "digits", "emoji", "speech-digits", "pamap2-like", "wafer-like", "stability-like", "fluorescence-like");

    [Theory]
    [MemberData(nameof(ShippedLabelled))]
    public void EveryBaselineTrainsAndProbesOnEveryShippedDataset(string dataset)
    {
        // random init and the baselines of the paper (MetaMAE runs on every catalog entry in ShippedDatasetRunTests), tiny preset,
        // 2 pretraining steps and 1 probe epoch each: the point is that every objective runs on every input spec
        var dir = Tmp.Dir("bl-all-" + dataset);
        var path = Path.Combine(dir, "plan.json");
        File.WriteAllText(path, $$$"""
            {"name": "all", "kind": "ablation", "preset": "tiny", "steps": 2, "seeds": [0], "probe_epochs": 1, "datasets": ["{{{dataset}}}"],
             "rows": [{"label": "Random init", "algo": "random-init"}, {"label": "MAE (DABS)", "algo": "mae-dabs", "settings": {"batch": 8}},
                      {"label": "e-Mix", "algo": "emix", "settings": {"batch": 8}}, {"label": "ShED", "algo": "shed", "settings": {"batch": 8}},
                      {"label": "Capri", "algo": "capri", "settings": {"batch": 8}}]}
            """);
        var results = MetaMae.Experiments.ExperimentSuite.Run(MetaMae.Experiments.ExperimentPlan.Load(path), dir);
        Assert.Equal(5, results.Count);
        foreach (var r in results)
        {
            Assert.True(double.IsFinite(r.Test), $"{r.Row} on {dataset}: test {r.Test}");
            Assert.InRange(r.Test, -1.0, 1.0);
            if (r.Row != "Random init") Assert.True(r.PretrainSeconds > 0, $"{r.Row} on {dataset} did not pretrain");
        }
    }

    [Theory]
    [InlineData("mae-dabs")]
    [InlineData("emix")]
    [InlineData("shed")]
    [InlineData("capri")]
    public void TrainsAndProbesOnDnaSplice(string algo)
    {
        var ds = Catalog.Load("dna-splice");
        var dir = Tmp.Dir("bl-" + algo);
        var pre = Pretrainer.Run(ds.Train.X, Config(algo, ds.Spec, "dna-splice", 20), dir);
        Assert.All(pre.Losses, l => Assert.True(double.IsFinite(l.Loss)));
        double first = pre.Losses.Take(5).Average(l => l.Loss), last = pre.Losses.TakeLast(5).Average(l => l.Loss);
        Assert.True(last < first, $"{algo}: loss should fall over 20 steps ({first:F4} -> {last:F4})");
        // the head is in the checkpoint, and a resume with more steps loads it
        using (var ck = Checkpoint.Load(pre.CheckpointPath)) Assert.NotEmpty(ck.Prefixed("objective."));
        var more = Pretrainer.Run(ds.Train.X, Config(algo, ds.Spec, "dna-splice", 22), dir, resume: true);
        Assert.Equal(22, more.Steps);
        var r = LinearProbe.Run(pre.Model, ds, new ProbeOptions { Epochs = 3 });
        Assert.InRange(r.Test, 0.0, 1.0);
        Assert.Equal("accuracy", r.Metric);
    }

    [Theory]
    [InlineData("mae-dabs")]
    [InlineData("emix")]
    [InlineData("shed")]
    [InlineData("capri")]
    public void TrainsOnAContinuousSequence(string algo)
    {
        var spec = new SequenceSpec(3, 32, 4);   // 8 tokens of 12 values
        manual_seed(3);
        var x = randn(64, 3, 32);
        var pre = Pretrainer.Run(x, Config(algo, spec, "toy", 40), Tmp.Dir("blc-" + algo));
        Assert.All(pre.Losses, l => Assert.True(double.IsFinite(l.Loss)));
        double first = pre.Losses.Take(5).Average(l => l.Loss), last = pre.Losses.TakeLast(5).Average(l => l.Loss);
        Assert.True(last < first, $"{algo}: loss should fall ({first:F4} -> {last:F4})");
    }

    [Fact]
    public void ShedMovesExactlyTheSelectedPositionsAndLabelsThem()
    {
        using var gen = new Generator().manual_seed(1);
        var e = arange(2 * 20 * 3, dtype: ScalarType.Float32).view(2, 20, 3);   // every token distinct
        var (sh, labels, sel, src) = ShedObjective.Shift(e, 0.15, gen);
        Assert.Equal(3, sel.shape[1]);                                             // round(0.15 * 20)
        var changed = sh.ne(e).any(-1).to(ScalarType.Float32);
        Assert.True(T.Same(changed, labels), "changed positions must be exactly the labelled ones");
        Assert.Equal(6.0, labels.sum().item<float>());
        for (int b = 0; b < 2; b++)
            for (int k = 0; k < 3; k++)
                Assert.True(T.Same(sh[b, sel[b, k].item<long>()], e[b, src[b, k].item<long>()]));
    }

    [Fact]
    public void EMixLambdaIsFoldedAndPartnersAreOtherSamples()
    {
        using var gen = new Generator().manual_seed(2);
        var (lam, partner) = EMixObjective.Draw(64, gen);
        Assert.True(lam.ge(0.5).all().item<bool>() && lam.le(1).all().item<bool>());
        Assert.True(partner.ne(arange(64)).all().item<bool>(), "no sample mixes with itself");
        Assert.Equal(64, partner.unique().Item1.shape[0]);
    }

    [Fact]
    public void CapriContrastsAgainstThePositionsOfTheSameSequence()
    {
        // sample 0's prediction at position 1 equals sample 1's embedding there: it must not count
        var target = zeros(2, 3, 4);
        target[0] = eye(3, 4); target[1] = eye(3, 4).roll(1, 1) * 5;
        var pred = target.clone();
        var logits = CapriObjective.Logits(pred, target, 0.07);
        Assert.Equal([2L, 3, 3], logits.shape);
        Assert.True(T.Same(logits.argmax(-1), arange(3).repeat(2, 1)), "the positive is the same position of the same sequence");
        Assert.Equal(1 / 0.07, logits[1, 2, 2].item<float>(), 3);
    }
}
