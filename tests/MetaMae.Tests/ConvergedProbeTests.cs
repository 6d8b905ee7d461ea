using System.Text.Json.Nodes;
using MetaMae.Experiments;
using MetaMae.Data;
using MetaMae.Evaluation;
using MetaMae.Modalities;
using static TorchSharp.torch;

namespace MetaMae.Tests;

/// <summary>The converged linear probe, the paper probe beside it, and the raw-input reference row (issue 15).</summary>
public class ConvergedProbeTests
{
    /// <summary>n samples in d dimensions, 3 classes by argmax of x W*; samples within margin of a boundary dropped.</summary>
    private static (Tensor X, long[] Y) Separable(int n, int d, double margin, int seed)
    {
        manual_seed(seed);
        var w = randn(d, 3, dtype: ScalarType.Float64);
        var xs = new List<Tensor>();
        var ys = new List<long>();
        while (ys.Count < n)
        {
            var x = randn(4 * n, d, dtype: ScalarType.Float64);
            var s = x.matmul(w);                                                   // (4n, 3)
            var (top, arg) = s.topk(2, 1);
            var gap = (top[.., 0] - top[.., 1]).data<double>().ToArray();
            var lab = arg[.., 0].data<long>().ToArray();
            for (int i = 0; i < gap.Length && ys.Count < n; i++)
                if (gap[i] > margin) { xs.Add(x[i].unsqueeze(0)); ys.Add(lab[i]); }
        }
        return (cat(xs, 0).to(ScalarType.Float32), ys.ToArray());
    }

    private static ProbeResult Probe(Tensor xTrain, long[] yTrain, Tensor xTest, long[] yTest, int classes, ProbeOptions o) =>
        LinearProbe.RunOnFeatures(xTrain, new Split(xTrain, yTrain), xTest, new Split(xTest, yTest), TaskKind.Classification, classes, o);

    [Fact]
    public void LogisticProbeReachesTheOptimumOnALinearlySeparableSet()
    {
        var (x, y) = Separable(900, 10, 0.3, 1);
        var xTr = x[..600];
        var xTe = x[600..];
        var r = Probe(xTr, y[..600], xTe, y[600..], 3, new ProbeOptions());
        Assert.Equal(ProbeProtocol.Converged, r.Protocol);
        Assert.Equal(1.0, r.Test);                                                 // separable with a margin: the optimum is every test sample right
        Assert.True(r.Converged, r.Describe());

        // the fit is the optimum of its convex objective: an independent autograd gradient vanishes there
        const double lambda = 1e-3;
        var (mean, std) = ConvergedProbe.Moments(xTr.to(ScalarType.Float64));
        var xs = (xTr.to(ScalarType.Float64) - mean) / std;
        var fit = ConvergedProbe.FitLogistic(xs, y[..600], 3, lambda, null, new ProbeOptions { Tolerance = 1e-7 });
        Assert.True(fit.Converged && fit.Iterations > 5, $"{fit.Iterations} iterations");
        var w = tensor(fit.Weights, [10, 3], ScalarType.Float64).requires_grad_();
        var b = tensor(fit.Bias, ScalarType.Float64).requires_grad_();
        var loss = nn.functional.cross_entropy(xs.matmul(w) + b, tensor(y[..600])) + 0.5 * lambda * w.pow(2).sum();
        loss.backward();
        double g = Math.Max(w.grad!.abs().max().item<double>(), b.grad!.abs().max().item<double>());
        Assert.True(g < 1e-6, $"largest gradient entry at the fit: {g:E2}");
        // and the optimum is not the starting point: moving off it in any direction costs
        using var bumped = nn.functional.cross_entropy(xs.matmul(w.detach() * 0.9) + b.detach(), tensor(y[..600])) + 0.5 * lambda * (w.detach() * 0.9).pow(2).sum();
        Assert.True(bumped.item<double>() > loss.item<double>());
    }

    [Theory]
    [InlineData(60, 8)]
    [InlineData(20, 40)]                                                           // more features than samples: the SVD path still solves it
    public void RidgeProbeMatchesTheClosedFormSolution(int n, int d)
    {
        manual_seed(3);
        var x = randn(n, d, dtype: ScalarType.Float64) * 2 + 1;
        var y = (x.matmul(randn(d, dtype: ScalarType.Float64)) + randn(n, dtype: ScalarType.Float64)).data<double>().ToArray();
        foreach (var lambda in new[] { 1e-4, 0.1, 10.0 })
        {
            var fit = ConvergedProbe.RidgeSolver(x, y)(lambda, null);
            // normal equations of mean squared error / 2 + lambda / 2 ||w||^2 with an unpenalised intercept
            var xc = x - x.mean([0], keepdim: true);
            var yc = tensor(y, ScalarType.Float64) - y.Average();
            var wRef = linalg.solve(xc.t().matmul(xc) + n * lambda * eye(d, dtype: ScalarType.Float64), xc.t().matmul(yc));
            var w = tensor(fit.Weights, ScalarType.Float64);
            double err = (w - wRef).abs().max().item<double>() / Math.Max(1e-12, wRef.abs().max().item<double>());
            Assert.True(err < 1e-8, $"lambda {lambda}: relative error {err:E2}");
            double bias = y.Average() - x.mean([0]).dot(w).item<double>();
            Assert.Equal(bias, fit.Bias[0], 8);
        }
    }

    [Fact]
    public void SweepPicksALargerPenaltyOnANoisySmallSetThanOnACleanLargeOne()
    {
        // clean and large: labels follow the linear rule exactly
        var (xc, yc) = Separable(3000, 20, 0.0, 4);
        var clean = Probe(xc[..2000], yc[..2000], xc[2000..], yc[2000..], 3, new ProbeOptions());
        // small and noisy: half the labels replaced by random classes
        var (xn, yn) = Separable(120, 20, 0.0, 5);
        var rng = new Random(5);
        var noisy = yn.Select(v => rng.NextDouble() < 0.5 ? rng.Next(3) : v).ToArray();
        var small = Probe(xn[..80], noisy[..80], xn[80..], noisy[80..], 3, new ProbeOptions());
        Assert.True(small.Regularization > clean.Regularization,
            $"noisy small set chose L2 {small.Regularization}, clean large set {clean.Regularization}");
        Assert.True(clean.Test > 0.97, $"clean set test accuracy {clean.Test:F3}");
        // the same for ridge regression (Spearman on validation)
        manual_seed(6);
        var w = randn(20, dtype: ScalarType.Float64);
        ProbeResult Ridge(int n, double noise)
        {
            var x = randn(n, 20, dtype: ScalarType.Float64);
            var y = (x.matmul(w) + noise * randn(n, dtype: ScalarType.Float64)).to(ScalarType.Float32).data<float>().ToArray();
            int k = n * 2 / 3;
            var xf = x.to(ScalarType.Float32);
            return LinearProbe.RunOnFeatures(xf[..k], new Split(xf[..k], null, y[..k]), xf[k..], new Split(xf[k..], null, y[k..]),
                TaskKind.Regression, 0, new ProbeOptions());
        }
        var ridgeClean = Ridge(3000, 0.01);
        var ridgeNoisy = Ridge(45, 20);
        Assert.Equal("spearman", ridgeClean.Metric);
        Assert.True(ridgeNoisy.Regularization > ridgeClean.Regularization,
            $"ridge: noisy small set chose L2 {ridgeNoisy.Regularization}, clean large set {ridgeClean.Regularization}");
    }

    /// <summary>
    /// The paper protocol (Adam, per-epoch validation, best epoch) on fixed features gives the figures the code gave
    /// before issue 15 (880bcc9, where it was the only probe): the same test, validation and best epoch.
    /// </summary>
    [Fact]
    public void PaperProtocolStillGivesTheFiguresOfBeforeIssue15()
    {
        var (x, y) = Separable(400, 12, 0.0, 7);
        var rng = new Random(7);
        var yy = y.Select(v => rng.NextDouble() < 0.2 ? rng.Next(3) : v).ToArray();
        var r = Probe(x[..300], yy[..300], x[300..], yy[300..], 3,
            new ProbeOptions { Protocol = ProbeProtocol.Paper, Epochs = 30, Batch = 32, Lr = 1e-3, Seed = 2,
                Standardize = true });                                            // issue 34 made raw features the default
        Assert.Equal(ProbeProtocol.Paper, r.Protocol);
        // figures printed by this call at 880bcc9, where ProbeOptions had no Protocol and the paper probe was the only one
        Assert.Equal(PaperPinned.Test, r.Test, 6);
        Assert.Equal(PaperPinned.Validation, r.Validation, 6);
        Assert.Equal(PaperPinned.BestEpoch, r.BestEpoch);
        Assert.Equal(PaperPinned.BestEpoch <= 27, r.Converged);                      // flagged when the best epoch is in the last 10%
    }

    private static class PaperPinned
    {
        public const double Test = 0.58;
        public const double Validation = 0.5172413793103449;
        public const int BestEpoch = 21;
    }

    [Fact]
    public void PaperProbeIsFlaggedNotConvergedWhenItsBestEpochIsInTheLastTenPercent()
    {
        var (x, y) = Separable(300, 12, 0.0, 8);
        // one epoch: the best epoch is the last one, so nothing shows the head had finished learning
        var r = Probe(x[..200], y[..200], x[200..], y[200..], 3, new ProbeOptions { Protocol = ProbeProtocol.Paper, Epochs = 1, Batch = 64 });
        Assert.Equal(1, r.BestEpoch);
        Assert.False(r.Converged);
        Assert.Contains("not converged", r.Describe());
    }

    [Fact]
    public void RawFeaturesAreOneHotTokensWithPaddingAtZeroAndFlattenedValues()
    {
        var spec = new TokenSpec(4, 3, PadId: 0);
        var f = RawInputProbe.Features(spec, tensor(new long[] { 1, 3, 0, 2, 0, 0 }, [2, 3]));
        Assert.Equal([2, 9], f.shape);                                             // 3 tokens x 3 non-padding symbols
        Assert.Equal(new float[] { 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0 }, f.data<float>().ToArray());
        var noPad = RawInputProbe.Features(new TokenSpec(4, 3), tensor(new long[] { 1, 3, 0, 2, 0, 0 }, [2, 3]));
        Assert.Equal([2, 12], noPad.shape);
        var series = new SequenceSpec(2, 6, 3);
        var xs = arange(24, dtype: ScalarType.Float32).reshape(2, 2, 6);
        var fs = RawInputProbe.Features(series, xs);
        Assert.Equal([2, 12], fs.shape);
        Assert.Equal(xs.reshape(2, -1).sum().item<float>(), fs.sum().item<float>());   // the same values, token by token
        var multi = new MultiInputSpec([new TabularSpec(2), new TokenSpec(3, 2)]);
        var fm = RawInputProbe.Features(multi, tensor(new float[] { 0.5f, -1f, 2, 1 }, [1, 4]));
        Assert.Equal(new float[] { 0.5f, -1f, 0, 0, 1, 0, 1, 0 }, fm.data<float>().ToArray());
    }

    [Fact]
    public void RawInputProbeReadsAFeatureThatOnlyOneTokenCarries()
    {
        // class = the symbol at position 2; the other positions are noise
        manual_seed(9);
        var spec = new TokenSpec(4, 6);
        Split Make(int n)
        {
            var x = randint(0, 4, [n, 6]);
            return new Split(x, x[.., 2].data<long>().ToArray());
        }
        var ds = new Dataset("toy", spec, Make(200), Make(100), ["a", "b", "c", "d"]);
        var r = RawInputProbe.Run(ds, new ProbeOptions());
        Assert.Equal(1.0, r.Test);
    }

    [Fact]
    public void ExperimentPlanRawInputRowAndAStaleProbeIsProbedAgainWithTheOldResultKept()
    {
        var dir = Tmp.Dir("bench-probe");
        var p = Path.Combine(dir, "plan.json");
        File.WriteAllText(p, """
            {"name": "ref", "kind": "in-domain", "preset": "tiny", "steps": 1, "seeds": [0], "datasets": ["dna-splice"], "probe": "paper", "probe_epochs": 1,
             "rows": [{"label": "Raw input", "algo": "raw-input"}]}
            """);
        var paper = ExperimentSuite.Run(ExperimentPlan.Load(p), dir);
        Assert.Equal(ProbeProtocol.Paper, paper[0].Probe);
        File.WriteAllText(p, File.ReadAllText(p).Replace("\"probe\": \"paper\", \"probe_epochs\": 1", "\"probe\": \"converged\""));
        var plan = ExperimentPlan.Load(p);
        Assert.Equal(ProbeProtocol.Converged, plan.Probe);
        var conv = ExperimentSuite.Run(plan, dir);
        Assert.False(conv[0].Skipped);
        Assert.Equal(ProbeProtocol.Converged, conv[0].Probe);
        var cell = Path.Combine(dir, "cells", "raw_input", "dna-splice", "s0");
        Assert.Equal("paper", (string?)JsonNode.Parse(File.ReadAllText(Path.Combine(cell, "result-paper.json")))!["probe"]);
        Assert.True(conv[0].Test > 0.85, $"raw one-hot DNA, converged probe: {conv[0].Test:F3}");   // issue 17 measured 0.944
        var md = File.ReadAllText(Path.Combine(dir, "ref.md"));
        Assert.Contains("| Raw input |", md);
        Assert.Contains("converged linear probe", md);
        Assert.Contains("L2 ", md);
        Assert.True(ExperimentSuite.Run(plan, dir).All(r => r.Skipped));

        // probe_epochs belongs to the paper probe
        File.WriteAllText(p, File.ReadAllText(p).Replace("\"probe\": \"converged\"", "\"probe\": \"converged\", \"probe_epochs\": 5"));
        var e = Assert.Throws<DataFormatException>(() => ExperimentPlan.Load(p));
        Assert.Contains("probe_epochs", e.Message);
    }

    [Fact]
    public void RunPrintsTheRawInputRowAndNamesTheProbe()
    {
        var (code, output, err, _) = SharedRuns.TinyDnaSplice;                  // dna-splice, 10% and 100% of the labels
        Assert.True(code == 0, err);
        var json = JsonNode.Parse(output.Trim().Split('\n')[^1])!.AsObject();
        foreach (var k in new[] { "raw_input_test", "random_init_test", "regularization", "random_init_regularization", "raw_input_regularization" })
            Assert.True(json.ContainsKey(k), k);
        Assert.Equal("converged", (string?)json["probe"]);
        // the flat keys of each encoder are its first row's ProbeRow, the one result record (issue 30)
        foreach (var (prefix, encoder) in new[] { ("", "metamae"), ("random_init_", "random_init"), ("raw_input_", "raw_input") })
        {
            var row = json["rows"]!.AsArray().First(r => (string?)r!["encoder"] == encoder)!;
            Assert.Equal((double)row["test"]!, ProbeRow.FromJson(row, "run").Test);
            ResultRecordTests.AssertFlatKeysAreTheRow(json, prefix, row.AsObject());
        }
        Assert.True((double)json["raw_input_test"]! > 0.85, $"raw input test {(double)json["raw_input_test"]!}");
        Assert.Contains("raw input", output);
        Assert.Contains("converged probe, L2 ", output);                        // the table names the probe
        Assert.Contains("reading, seed 0 (one draw, no interval): 10% of the labels: metamae - raw input ", output);
        Assert.Contains("; 100% of the labels: metamae - raw input ", output);

        var bad = CliTests.Metamae("probe", "--random-init", "--probe", "converged", "--probe-epochs", "3");
        Assert.Equal(2, bad.Code);
        Assert.StartsWith("error: --probe-epochs set the paper probe", bad.Err.Trim());
        var raw = CliTests.Metamae("probe", "--raw-input", "--dataset", "satellite", "--json", "--threads", "2");
        Assert.True(raw.Code == 0, raw.Err);
        Assert.Contains("\"raw_input\":true", raw.Out);
    }

    [Fact]
    public void ProbeMaxIterationsCapsTheFitAndSaysSo()
    {
        var capped = CliTests.Metamae("probe", "--raw-input", "--dataset", "satellite", "--probe-max-iterations", "2",
            "--threads", "2");
        Assert.True(capped.Code == 0, capped.Err);
        Assert.Contains("L-BFGS 2 iterations (hit the iteration cap)", capped.Out);
        var free = CliTests.Metamae("probe", "--raw-input", "--dataset", "satellite", "--threads", "2");
        Assert.True(free.Code == 0, free.Err);
        Assert.DoesNotContain("hit the iteration cap", free.Out);

        var paper = CliTests.Metamae("probe", "--random-init", "--probe", "paper", "--probe-max-iterations", "5");
        Assert.Equal(2, paper.Code);
        Assert.StartsWith("error: --probe-max-iterations sets the converged probe's cap", paper.Err.Trim());
        var zero = CliTests.Metamae("probe", "--raw-input", "--dataset", "satellite", "--probe-max-iterations", "0");
        Assert.NotEqual(0, zero.Code);
        Assert.Contains("--probe-max-iterations must be >= 1 (got 0)", zero.Err);
    }
}
