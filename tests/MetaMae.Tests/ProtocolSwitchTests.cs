using MetaMae.Model;
using MetaMae.Modalities;
using MetaMae.Objectives;
using MetaMae.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace MetaMae.Tests;

/// <summary>The departures of issue 34 as switches, the authors' behaviour the default: the projector once per view,
/// and a minimum number of visible tokens (1: the mask ratio alone decides).</summary>
public class ProtocolSwitchTests
{
    private static (long Batches, double Contrast) OneLoss(ProjectorBatchNorm bn)
    {
        manual_seed(5);
        var spec = new SequenceSpec(3, 32, 4);                                     // 8 tokens
        using var model = new MetaMaeModel(spec, ModelConfig.Tiny);
        model.train();
        var obj = new MetaMaeObjective(new ObjectiveOptions { MaskRatio = 0.5, ProjectorBatchNorm = bn });
        using var g = new Generator().manual_seed(3);
        using var x = randn(6, 3, 32, generator: g);
        using var scope = NewDisposeScope();
        var parts = obj.Loss(model, spec.Patchify(x), new Generator().manual_seed(9));      // tokens (B, L, P)
        var tracked = model.named_buffers().Single(b => b.name == "projector.1.num_batches_tracked").buffer.ToInt64();
        return (tracked, parts.Contrast);
    }

    [Fact]
    public void TheProjectorRunsOncePerViewByDefault()
    {
        Assert.Equal(ProjectorBatchNorm.PerView, new ObjectiveOptions().ProjectorBatchNorm);
        var perView = OneLoss(ProjectorBatchNorm.PerView);
        var joint = OneLoss(ProjectorBatchNorm.Joint);
        Assert.Equal(2, perView.Batches);                    // BatchNorm saw two batches: pool Z, then pool Z*
        Assert.Equal(1, joint.Batches);                      // one batch of both views
        Assert.True(double.IsFinite(perView.Contrast));
        Assert.NotEqual(perView.Contrast, joint.Contrast, 6);   // each view's own statistics change the projections
    }

    [Fact]
    public void ConfigurationsStoredBeforeTheSwitchLoadAsJoint()
    {
        var cfg = TrainingTests.Config("metamae", 2);
        var json = cfg.ToJson();
        Assert.Contains("\"projector_batch_norm\":\"per-view\"", json);
        Assert.Equal(ProjectorBatchNorm.PerView, RunConfig.FromJson(json, "new").Objective.ProjectorBatchNorm);
        var old = json.Replace(",\"projector_batch_norm\":\"per-view\"", "");
        Assert.DoesNotContain("projector_batch_norm", old);
        Assert.Equal(ProjectorBatchNorm.Joint, RunConfig.FromJson(old, "old").Objective.ProjectorBatchNorm);
        Assert.Equal(1, RunConfig.FromJson(old.Replace(",\"min_visible\":1", ""), "old").Objective.MinVisible);
    }

    [Fact]
    public void MinVisibleKeepsThatManyTokensAndOneChangesNothing()
    {
        Assert.Equal(1, Masking.KeepCount(9, 0.85));                          // satellite: 9 tokens at 0.85 keep 1
        Assert.Equal(1, Masking.KeepCount(9, 0.85, 1));
        Assert.Equal(3, Masking.KeepCount(9, 0.85, 3));
        Assert.Equal(4, Masking.KeepCount(9, 0.5, 3));                        // the ratio keeps more: unchanged
        Assert.Throws<ArgumentException>(() => Masking.KeepCount(9, 0.5, 9));
        Assert.Contains("leaves no visible token", Assert.Throws<ArgumentException>(() => Masking.KeepCount(9, 0.95)).Message);
        Assert.Equal(2, Masking.KeepCount(9, 0.95, 2));                       // the minimum rescues such a ratio
        using var g = new Generator().manual_seed(1);
        using var m = Masking.Random(5, 9, 0.85, new BatchRandom(g), CPU, ScalarType.Float32, minVisible: 3);
        Assert.Equal(3, m.Keep);
        Assert.Equal(5 * 6, m.Mask.sum().ToInt64());                           // 6 of 9 masked per sample
        Assert.Throws<ArgumentException>(() => new ObjectiveOptions { MinVisible = 0 }.Validate());
        var resolved = RunSettings.Resolve("metamae", "satellite", new SequenceSpec(3, 9, 1),
            Data.Table8.Pamap2, "tiny", 0, new RunOverrides { MinVisible = 3 });
        Assert.Equal(3, resolved.Objective.MinVisible);
    }
}
