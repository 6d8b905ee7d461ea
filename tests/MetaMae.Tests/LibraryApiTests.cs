// README-USINGS-BEGIN
using MetaMae;
using MetaMae.Interop;
using MetaMae.Modalities;
using MetaMae.Model;
using MetaMae.Objectives;
using MetaMae.Runtime;
using MetaMae.Training;
using static TorchSharp.torch;
// README-USINGS-END

namespace MetaMae.Tests;

public class LibraryApiTests
{
    /// <summary>The library example of docs/library.md, verbatim (between the README markers below); this test runs
    /// it.</summary>
    [Fact]
    public void TheReadmeExampleCompilesAndRuns()
    {
        var dir = Tmp.Dir("readme");
        var (features, again) = Example(dir);
        Assert.Equal(new long[] { 10, 64 }, features.shape);
        Assert.False(features.requires_grad);
        Assert.True(T.Same(features, again));      // save / load keeps the features exactly (same batches: on an AVX2 CPU
                                                   // the matmul's last bits depend on the batch's rows)
        Assert.True(File.Exists(Path.Combine(dir, "encoder.safetensors")));
    }

    [Fact]
    public void TheReadmeShowsThisExample()
    {
        // markers count only as whole lines (the marker strings also occur in this method's own code)
        static string Between(string text, string begin, string end)
        {
            var lines = text.Split('\n').Select(l => l.Trim()).ToList();
            int b = lines.IndexOf(begin);
            int e = b < 0 ? -1 : lines.IndexOf(end, b + 1);
            Assert.True(b >= 0 && e > b, $"marker lines {begin} / {end} not found");
            var body = lines.Skip(b + 1).Take(e - b - 1).Where(l => l.Length > 0).ToList();
            Assert.True(body.Count >= 5, $"only {body.Count} lines between {begin} and {end}");
            return string.Join("\n", body);
        }
        var root = Repo.Root;
        var readme = File.ReadAllText(Path.Combine(root, "docs", "library.md"));
        var test = File.ReadAllText(Path.Combine(root, "tests", "MetaMae.Tests", "LibraryApiTests.cs"));
        var code = Between(readme, "```csharp", "```");
        Assert.Equal(Between(test, "// README-USINGS-BEGIN", "// README-USINGS-END") + "\n" + Between(test, "// README-BEGIN", "// README-END"), code);
    }

    [Fact]
    public void ExtractFeaturesChecksTheShape()
    {
        var spec = new SequenceSpec(2, 8, 2);
        using var m = new MetaMaeModel(spec, ModelConfig.Tiny);
        var e = Assert.Throws<ArgumentException>(() => m.ExtractFeatures(zeros(3, 2, 9)));
        Assert.Contains("expected shape (B, 2, 8)", e.Message);
    }

    private static (Tensor, Tensor) Example(string dir)
    {
        // README-BEGIN
        // dir: an output folder of yours, e.g. "runs/my-data"
        CpuMath.Configure(threads: Environment.ProcessorCount);    // once per process, before any model (docs/speed.md)
        using var scope = NewDisposeScope();
        // 1. Describe the input: 2 channels x 64 steps, 8 steps per token.
        var spec = new SequenceSpec(Channels: 2, Length: 64, PatchLength: 8);
        var x = randn(200, 2, 64);                                    // unlabeled samples (N, C, T)

        // 2. Pretrain MetaMAE (a tiny model, 5 steps; ModelConfig.Paper is the paper's).
        var config = new RunConfig("metamae", "my-data", spec, ModelConfig.Tiny,
            new ObjectiveOptions { MaskRatio = 0.5, Alpha = 0.1, Lambda = 0.01 },
            new TrainOptions { Steps = 5, Batch = 16, Seed = 0 });
        var result = Pretrainer.Run(x, config, Path.Combine(dir, "run"));

        // 3. Features of new samples: batched, eval mode, no gradient -> (10, 64).
        var newSamples = randn(10, 2, 64);
        var features = result.Model.ExtractFeatures(newSamples, batch: 4);

        // 4. Save and load; or export timm-style weights for PyTorch.
        result.Model.Save(Path.Combine(dir, "model.safetensors"), config);
        var loaded = Checkpoint.LoadModel(Path.Combine(dir, "model.safetensors"));
        ReferenceFormat.Export(loaded, config, Path.Combine(dir, "encoder.safetensors"));
        var again = loaded.ExtractFeatures(newSamples, batch: 4);  // the same batches: the same numbers
        // README-END
        return (features.MoveToOuterDisposeScope(), again.MoveToOuterDisposeScope());
    }
}
