using MetaMae.Cli;
using MetaMae.Evaluation;
using MetaMae.Interop;
using MetaMae.Modalities;
using MetaMae.Model;
using MetaMae.Training;
using static TorchSharp.torch;

namespace MetaMae.Tests;

/// <summary>Pictures (show, loss and probe curves) and the export / import / show commands.</summary>
public class EcosystemTests
{
    private static bool IsPng(string path) =>
        File.Exists(path) && File.ReadAllBytes(path).Take(8).SequenceEqual(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A });

    public static TheoryData<string> Kinds => new() { "grid", "sequence", "tabular", "tokens" };

    [Theory]
    [MemberData(nameof(Kinds))]
    public void ShowDrawsEveryKindOfInput(string kind)
    {
        InputSpec spec = kind switch
        {
            "grid" => new GridSpec(1, 16, 16, 4, 4),
            "sequence" => new SequenceSpec(2, 32, 4),
            "tabular" => new TabularSpec(12),
            _ => new TokenSpec(5, 20),
        };
        manual_seed(0);
        using var model = new MetaMaeModel(spec, ModelConfig.Tiny);
        using var raw = spec.IsDiscrete ? randint(0, 5, [3, 20]) : randn([3, .. spec.RawShape]);
        using var r = Reconstructions.Of(model, raw, 0.5, 0.5, seed: 1);
        // visible tokens are the input, pasted; masked ones are the model's prediction
        using var tokIn = spec.Patchify(raw);
        using var tokOut = spec.Patchify(r.Predicted);
        using var visible = (r.Mask == 0);
        var v = spec.IsDiscrete ? visible : visible.unsqueeze(-1).expand_as(tokIn);
        Assert.True(T.Same(tokIn.masked_select(v), tokOut.masked_select(v)));
        Assert.Equal(spec.NumTokens / 2, (int)r.Mask[0].sum().item<float>());
        var dir = Path.Combine(Path.GetTempPath(), "metamae-show-" + kind); Directory.CreateDirectory(dir);
        Assert.True(IsPng(Plots.Samples(spec, r, Path.Combine(dir, "r.png"), kind)));
        Assert.True(IsPng(Plots.SupportSets(spec, r, 0, 0.5, Path.Combine(dir, "s.png"))));
    }

    [Fact]
    public void TensorBoardImageStacksInputMaskedAndReconstruction()
    {
        var spec = new GridSpec(1, 8, 8, 4, 4);
        manual_seed(0);
        using var model = new MetaMaeModel(spec, ModelConfig.Tiny);
        using var raw = randn(2, 1, 8, 8);
        using var r = Reconstructions.Of(model, raw, 0.5, 0.1, seed: 1);
        using var img = TensorBoardImages.Image(spec, r);
        Assert.Equal(3, img.shape[0]);
        Assert.Equal(0, img.shape[1] % (2 * (3 * 8 + 1)));          // 2 samples x (3 panels of 8 rows + separator), scaled
        Assert.True(img.min().item<float>() >= 0 && img.max().item<float>() <= 1);
    }

    [Fact]
    public void CurvesArePngs()
    {
        var dir = Tmp.Dir("curves");
        var csv = Path.Combine(dir, "metrics.csv");
        File.WriteAllText(csv, "step,loss,reconstruction,contrast,inner,seconds\n1,2.0,1.5,5.0,1.4,0.1\n2,1.8,1.4,4.9,1.3,0.2\n");
        Assert.True(IsPng(Plots.LossCurve(csv, Path.Combine(dir, "loss.png"))));
        Assert.True(IsPng(Plots.ProbeCurve([0.5, 0.6, 0.7], [1.0, 0.9, 0.8], "accuracy", Path.Combine(dir, "probe.png"))));
        File.WriteAllText(csv, "step,loss\n");
        Assert.Throws<InvalidDataException>(() => Plots.LossCurve(csv, Path.Combine(dir, "none.png")));
    }

    [Fact]
    public void PretrainExportImportShowFromTheCommandLine()
    {
        var dir = Tmp.Dir("cli-eco");
        var run = Path.Combine(dir, "run");
        var (code, _, err) = CliTests.Metamae("pretrain", "--preset", "tiny", "--steps", "2", "--threads", "1", "--tb-images", "1", "--out", run);
        Assert.True(code == 0, err);
        Assert.True(IsPng(Path.Combine(run, "loss.png")));
        var events = Directory.GetFiles(Path.Combine(run, "tensorboard", "reconstructions"), "events.out.tfevents.*");
        Assert.Single(events);
        var bytes = File.ReadAllBytes(events[0]);
        Assert.Equal(2, Enumerable.Range(0, bytes.Length - 4).Count(i => bytes[i] == 0x89 && bytes[i + 1] == (byte)'P' && bytes[i + 2] == (byte)'N' && bytes[i + 3] == (byte)'G'));  // one image per step
        var ckpt = Path.Combine(run, Checkpoint.FileName);
        var exported = Path.Combine(dir, "ref.safetensors");
        (code, _, err) = CliTests.Metamae("export", "--checkpoint", ckpt, "--format", "safetensors", "--parts", "encoder,decoder,projector", "--out", exported);
        Assert.True(code == 0, err);
        var imported = Path.Combine(dir, "imported.safetensors");
        (code, _, err) = CliTests.Metamae("import", "--in", exported, "--out", imported);
        Assert.True(code == 0, err);
        // the round trip through the reference format gives back every weight exactly
        using var a = Checkpoint.LoadModel(ckpt);
        using var b = Checkpoint.LoadModel(imported);
        var sb = b.state_dict();
        foreach (var (k, t) in a.state_dict()) Assert.True(T.Same(t, sb[k]), k);
        (code, _, err) = CliTests.Metamae("show", "--checkpoint", ckpt, "--samples", "2", "--out", Path.Combine(dir, "show"));
        Assert.True(code == 0, err);
        Assert.True(IsPng(Path.Combine(dir, "show", "reconstruction.png")));
        Assert.True(IsPng(Path.Combine(dir, "show", "support-sets.png")));
        // a file without our metadata needs to be told which model it holds
        var bare = Path.Combine(dir, "bare.safetensors");
        InteropTests.WriteIndependently(bare, [("cls_token", [1, 1, 64], new float[64])]);
        (code, _, err) = CliTests.Metamae("import", "--in", bare, "--out", Path.Combine(dir, "x.safetensors"));
        Assert.Equal(2, code);
        Assert.Contains("--like", err);
    }
}
