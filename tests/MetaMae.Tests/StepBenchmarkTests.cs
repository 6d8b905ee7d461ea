using System.Text.Json.Nodes;
using MetaMae.Training;
using MetaMae.Model;

namespace MetaMae.Tests;

public class StepBenchmarkTests
{
    /// <summary>The FLOP model is the reference's step_flops: its printed gflop_step figures (README of torch_reference).</summary>
    [Theory]
    [InlineData("mae", false, 64, 41.18)]
    [InlineData("metamae-fo", false, 64, 52.51)]
    [InlineData("metamae", false, 64, 74.54)]
    [InlineData("mae", false, 256, 164.71)]
    [InlineData("metamae", false, 256, 298.29)]
    [InlineData("mae", true, 128, 167.93)]
    [InlineData("metamae", true, 128, 320.49)]
    public void StepFlopsMatchTheReference(string algo, bool tokens, int batch, double gflop) =>
        Assert.Equal(gflop, MetaMae.Training.StepBenchmark.StepFlops(new StepBenchmarkOptions { Algo = algo, Tokens = tokens, Batch = batch }) / 1e9, 2);

    [Fact]
    public void FeatureFlopsOfThePamap2ShapeMatchAHandCount()
    {
        // embedding 2*64*260*256 = 8,519,680; per layer 2*65*(3*256^2 + 256^2 + 2*256*512) = 68,157,440
        // plus QK^T and AV 2*65*65*256*2 = 4,326,400; 12 layers: 878,325,760
        Assert.Equal(878_325_760, MetaMae.Training.StepBenchmark.FeatureFlopsPerSample(new StepBenchmarkOptions()));
    }

    [Fact]
    public void BenchPrintsTheJsonFieldsAndRssTrace()
    {
        var (code, output, err) = CliTests.Metamae("bench", "--preset", "tiny", "--algo", "metamae", "--batch", "4", "--L", "16", "--values", "8",
            "--mask-ratio", "0.5", "--steps", "2", "--warmup", "1", "--rss-every", "1", "--feature-batch", "4", "--feature-reps", "1",
            "--peak-size", "64", "--threads", "1", "--json");
        Assert.True(code == 0, err);
        var j = JsonNode.Parse(output.Trim().Split('\n')[^1])!.AsObject();
        foreach (var f in new[] { "ms_median", "gflops", "pct_peak", "rss_mb", "features_per_s", "feature_gflops", "mm_peak_gflops" })
            Assert.True(j[f]!.GetValue<double>() > 0, $"{f} = {j[f]}");
        Assert.Equal(2, j["rss_trace"]!.AsArray().Count);
        // the three phases are parts of the step: each positive; with two timed steps each median is a mean, so together
        // they are the mean step, no more than the slower of the two
        var phase = j["phase_ms"]!.AsObject();
        double[] parts = [.. new[] { "forward", "backward", "optimizer" }.Select(k => phase[k]!.GetValue<double>())];
        Assert.All(parts, v => Assert.True(v > 0, $"phase_ms = {phase.ToJsonString()}"));
        Assert.True(parts.Sum() <= j["ms_max"]!.GetValue<double>() * 1.0001 + 0.3,
            $"phases {phase.ToJsonString()} against steps of {j["ms_min"]}-{j["ms_max"]} ms");
        Assert.Contains("RESULT impl=metamae-cs algo=metamae", output);
        Assert.Matches(@"fwd_ms=[0-9.]+ bwd_ms=[0-9.]+ opt_ms=[0-9.]+", output);
    }

    /// <summary>--all-bf16 (a ceiling measurement) really runs every parameter, gradient and the loss in bf16, and is
    /// refused beside a bf16 matmul precision and on a CPU without native bf16.</summary>
    [Fact]
    public void AllBf16RunsTheWholeModelInBf16()
    {
        string[] args = ["bench", "--preset", "tiny", "--algo", "metamae", "--batch", "4", "--L", "16", "--values", "8",
            "--mask-ratio", "0.5", "--steps", "1", "--warmup", "0", "--feature-batch", "4", "--feature-reps", "1",
            "--peak-size", "0", "--threads", "1", "--all-bf16", "--json"];
        var (code, output, err) = CliTests.Metamae(args);
        if (!ComputePrecision.NativeOnThisCpu())
        {
            Assert.Equal(2, code);
            Assert.Contains("avx512_bf16", err);
            return;
        }
        Assert.True(code == 0, err);
        var j = JsonNode.Parse(output.Trim().Split('\n')[^1])!.AsObject();
        Assert.True(j["all_bf16"]!.GetValue<bool>());
        Assert.Contains("precision=all-bf16", output);
        // bf16 has 8 bits of mantissa: a loss printed to 4 decimals shows it (float32's would not be on the bf16 grid)
        double loss = j["loss_first"]!.GetValue<double>();
        Assert.Equal(loss, TorchSharp.torch.tensor(loss).to(TorchSharp.torch.ScalarType.BFloat16)
            .to(TorchSharp.torch.ScalarType.Float64).item<double>(), 12);
        foreach (var precision in new[] { "bf16", "both" })                  // both: refused before its fp32 half is timed
        {
            var (code2, out2, err2) = CliTests.Metamae([.. args.Take(args.Length - 2), "--all-bf16", "--precision", precision]);
            Assert.Equal(2, code2);
            Assert.Contains("--all-bf16", err2);
            Assert.DoesNotContain("RESULT", out2);
        }
    }

    [Theory]
    [InlineData("--algo", "simclr", "simclr")]
    [InlineData("--steps", "0", "--steps must be >= 1")]
    [InlineData("--mask-ratio", "0.999", "mask ratio")]
    public void BadBenchOptionsGetOneErrorLine(string opt, string value, string mentions)
    {
        var (code, _, err) = CliTests.Metamae("bench", "--preset", "tiny", opt, value);
        Assert.Equal(2, code);
        Assert.StartsWith("error: ", err.Trim());
        Assert.Contains(mentions, err);
    }
}
