using System.Diagnostics;
using System.Globalization;
using MetaMae.Data;
using MetaMae.Evaluation;
using MetaMae.Model;
using Xunit.Abstractions;
using static TorchSharp.torch;
using MetaMae.Runtime;

namespace MetaMae.Tests;

/// <summary>
/// Issue 33, item 4: every probe path on a table with empty cells gives a figure from a fit that ran, and features that
/// are not finite stop the probe with an error instead of a majority-class figure. Before the fix the raw-input row
/// of such a table reached the probe as NaN: L-BFGS made 0 iterations and the row reported the largest class's share.
/// </summary>
public class MissingCellProbeTests(ITestOutputHelper output)
{
    /// <summary>A 360-row, 12-feature, 3-class table with ~15% empty cells (seeded): each class shifts 4 of the features,
    /// so a linear probe on the imputed table reaches ~0.9 while the largest class is a third.</summary>
    internal static string HoleyTable(string dir)
    {
        var rng = new Random(11);
        var lines = new List<string> { "id," + string.Join(",", Enumerable.Range(0, 12).Select(j => $"f{j}")) + ",label,split" };
        for (int i = 0; i < 360; i++)
        {
            int c = i % 3;
            var v = Enumerable.Range(0, 12).Select(j =>
            {
                if (rng.NextDouble() < 0.15) return "";
                double g = Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
                return (g + (j / 4 == c ? 1.5 : 0)).ToString("F3", CultureInfo.InvariantCulture);
            });
            lines.Add($"r{i},{string.Join(",", v)},c{c},{(i % 4 == 3 ? "test" : "train")}");
        }
        var f = Path.Combine(dir, "holey.csv");
        File.WriteAllLines(f, lines);
        return f;
    }

    private static Dataset Load(string f) =>
        ByoData.Load(f, new ByoOptions { Modality = "tabular", IdColumn = "id", SplitColumn = "split" });

    private static MetaMaeModel RandomInit(Dataset ds)
    {
        manual_seed(3);
        var m = new MetaMaeModel(ds.Spec, ModelConfig.Tiny);
        m.eval();
        return m;
    }

    public static TheoryData<string, ProbeProtocol, double> Paths()
    {
        var d = new TheoryData<string, ProbeProtocol, double>();
        foreach (var rows in new[] { "raw", "random-mean", "random-tokens" })
            foreach (var p in new[] { ProbeProtocol.Converged, ProbeProtocol.Paper })
                foreach (var fraction in new[] { 1.0, 0.3 })
                    d.Add(rows, p, fraction);
        return d;
    }

    /// <summary>Raw input, a random-init encoder's mean and token features; converged and paper probes; all and 30% of
    /// the labels: each gives a finite figure well above the largest class's share (1/3), from a fit that ran.</summary>
    [Theory, MemberData(nameof(Paths))]
    public void EveryProbePathOnATableWithEmptyCellsGivesAFittedFigure(string rows, ProbeProtocol protocol, double fraction)
    {
        var ds = Load(HoleyTable(Tmp.Dir("holey")));
        Assert.True(ds.Train.X.isnan().any().item<bool>());                  // the table really has empty cells
        // the paper probe at lr 1e-2: its 1e-4 barely moves a head in 30 epochs of 243 rows; this checks the path, not the protocol
        var o = new ProbeOptions { Protocol = protocol, LabelFraction = fraction, Epochs = 30, Batch = 32, Lr = 1e-2 };
        ProbeResult r;
        if (rows == "raw") r = RawInputProbe.Run(ds, o);
        else
        {
            using var model = RandomInit(ds);
            r = LinearProbe.Run(model, ds, o with { Features = rows == "random-tokens" ? FeatureKind.Tokens : FeatureKind.Mean });
        }
        output.WriteLine($"{rows} {protocol} {fraction}: test {r.Test:F4} ({r.Describe()})");
        Assert.True(double.IsFinite(r.Test) && double.IsFinite(r.Validation));
        if (protocol == ProbeProtocol.Converged) Assert.True(r.Iterations > 0, $"L-BFGS made {r.Iterations} iterations");
        Assert.True(r.Test > 0.5, $"test accuracy {r.Test:F4}: no better than the largest class (1/3)");
    }

    /// <summary>NaN features reaching a probe stop it, both protocols, naming the split and the first bad value.</summary>
    [Theory]
    [InlineData(ProbeProtocol.Converged, "training")]
    [InlineData(ProbeProtocol.Paper, "training")]
    [InlineData(ProbeProtocol.Converged, "test")]
    public void NonFiniteFeaturesStopTheProbeWithoutAFigure(ProbeProtocol protocol, string split)
    {
        var ds = Load(HoleyTable(Tmp.Dir("holey-nan")));
        using var fTrain = Missing.Impute(ds.Train.X.clone());
        using var fTest = Missing.Impute(ds.Test!.X.clone());
        (split == "training" ? fTrain : fTest)[5, 7] = tensor(float.NaN);
        var e = Assert.Throws<ArithmeticException>(() => LinearProbe.RunOnFeatures(fTrain, ds.Train, fTest, ds.Test, ds.Task,
            ds.ClassNames.Length, new ProbeOptions { Protocol = protocol, Epochs = 2 }));
        Assert.Contains($"the probe's {split} features hold 1 non-finite values", e.Message);
        Assert.Contains("sample 5, feature 7", e.Message);
    }

    /// <summary>The CLI on the issue's case: `probe --raw-input` of a table with empty cells reports a fitted figure
    /// (iterations > 0, well above the majority share), not "L-BFGS 0 iterations".</summary>
    [Fact]
    public void TheRawInputRowOfAHoleyTableIsFitted()
    {
        var f = HoleyTable(Tmp.Dir("holey-cli"));
        var (code, stdout, err) = CliTests.Metamae("probe", "--raw-input", "--data", f, "--modality", "tabular",
            "--id-column", "id", "--split-column", "split", "--threads", "1");
        Assert.True(code == 0, err);
        output.WriteLine(stdout);
        Assert.DoesNotContain("L-BFGS 0 iterations", stdout);
        var acc = double.Parse(System.Text.RegularExpressions.Regex.Match(stdout, @"test accuracy (\d\.\d+)").Groups[1].Value,
            CultureInfo.InvariantCulture);
        Assert.True(acc > 0.6, $"raw-input test accuracy {acc}");
    }

    /// <summary>
    /// Each converged-probe row against scikit-learn's LogisticRegression on the same imputed features, rows, and L2
    /// strength (ours: mean cross-entropy + lambda/2 |W|^2 on standardised features, so C = 1 / (lambda N)): test accuracy
    /// within 0.02. Skipped, with the reason, where python3 cannot import sklearn (Debian: python3-sklearn).
    /// </summary>
    [SklearnTheory]
    [InlineData("raw", 1.0)]
    [InlineData("raw", 0.3)]
    [InlineData("random-mean", 1.0)]
    [InlineData("random-tokens", 0.3)]
    public void ConvergedProbeRowsMatchScikitLearn(string rows, double fraction)
    {
        var dir = Tmp.Dir("holey-sk");
        var ds = Load(HoleyTable(dir));
        var o = new ProbeOptions { LabelFraction = fraction, Features = rows == "random-tokens" ? FeatureKind.Tokens : FeatureKind.Mean };
        Tensor fTrain, fTest;
        if (rows == "raw")
        {
            fTrain = RawInputProbe.Features(ds.Spec, ds.Train.X);
            fTest = RawInputProbe.Features(ds.Spec, ds.Test!.X);
        }
        else
        {
            using var model = RandomInit(ds);
            fTrain = LinearProbe.Features(model, ds.Train.X, o.Features, 64);
            fTest = LinearProbe.Features(model, ds.Test!.X, o.Features, 64);
        }
        var r = LinearProbe.RunOnFeatures(fTrain, ds.Train, fTest, ds.Test, ds.Task, ds.ClassNames.Length, o);
        var (tr, va) = LinearProbe.Carve(ds.Train, o);
        var fit = tr.Concat(va).ToArray();
        static string Rows(Tensor f, IEnumerable<int> idx, long[] labels) => string.Join("\n", idx.Select(i =>
            string.Join(",", f[i].data<float>().ToArray().Select(v => v.ToString("R", CultureInfo.InvariantCulture))) +
            "," + labels[i]));
        File.WriteAllText(Path.Combine(dir, "fit.csv"), Rows(fTrain, fit, ds.Train.Labels!));
        File.WriteAllText(Path.Combine(dir, "test.csv"), Rows(fTest, Enumerable.Range(0, ds.Test.Count), ds.Test.Labels!));
        const string script = """
            import sys, numpy as np
            from sklearn.linear_model import LogisticRegression
            d, lam = sys.argv[1], float(sys.argv[2])
            a = np.loadtxt(d + '/fit.csv', delimiter=','); t = np.loadtxt(d + '/test.csv', delimiter=',')
            x, y, xt, yt = a[:, :-1], a[:, -1].astype(int), t[:, :-1], t[:, -1].astype(int)
            m, s = x.mean(0), x.std(0, ddof=1); s[s <= 1e-6] = 1
            clf = LogisticRegression(C=1 / (lam * len(y)), tol=1e-10, max_iter=100000).fit((x - m) / s, y)
            print((clf.predict((xt - m) / s) == yt).mean())
            """;
        File.WriteAllText(Path.Combine(dir, "sk.py"), script);
        var psi = new ProcessStartInfo(SklearnTheoryAttribute.Python!,
            [Path.Combine(dir, "sk.py"), dir, r.Regularization.ToString("R", CultureInfo.InvariantCulture)])
        {
            RedirectStandardOutput = true, RedirectStandardError = true,
        };
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEnd();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, stderr);
        double sk = double.Parse(stdout.Trim(), CultureInfo.InvariantCulture);
        output.WriteLine($"{rows} at {fraction} of the labels: ours {r.Test:F4} (L2 {r.Regularization:E0}, {r.Iterations} " +
                         $"iterations), scikit-learn {sk:F4}");
        Assert.True(Math.Abs(r.Test - sk) <= 0.02, $"ours {r.Test:F4} vs scikit-learn {sk:F4}");
        fTrain.Dispose();
        fTest.Dispose();
    }
}

/// <summary>A theory that is reported as skipped, with the reason, when python3 cannot import sklearn.</summary>
public sealed class SklearnTheoryAttribute : TheoryAttribute
{
    public static readonly string? Python = TorchFactAttribute.PythonWith("sklearn", ["/usr/bin/python3", "python3"]);

    public SklearnTheoryAttribute()
    {
        if (Python is null) Skip = "python3 with scikit-learn is not installed (Debian: apt-get install python3-sklearn)";
    }
}

/// <summary>
/// Runs the CLI in a memory cgroup (v1, as root) with a limit the test sets, so a test can meet a limit without the
/// machine's OOM killer: the exit code, output, the group's peak usage and whether its OOM killer fired. Unavailable
/// (with the reason) where the cgroup cannot be made.
/// </summary>
internal static class MemoryCgroup
{
    private const string Root = "/sys/fs/cgroup/memory";

    public static string? Unavailable { get; } = Probe();

    private static string? Probe()
    {
        if (!Directory.Exists(Root)) return $"no cgroup v1 memory controller at {Root}";
        var dir = Path.Combine(Root, $"metamae-probe-{Environment.ProcessId}");
        try { Directory.CreateDirectory(dir); Directory.Delete(dir); return null; }
        catch (Exception e) { return $"cannot make a memory cgroup under {Root} ({e.GetType().Name}: {e.Message})"; }
    }

    public static (int Code, string Out, string Err, long PeakBytes, bool OomKilled) Metamae(long limitBytes,
        IReadOnlyDictionary<string, string> env, params string[] args)
    {
        var dir = Path.Combine(Root, $"metamae-test-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            File.WriteAllText(Path.Combine(dir, "memory.limit_in_bytes"), limitBytes.ToString(CultureInfo.InvariantCulture));
            var psi = new ProcessStartInfo("sh") { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var (k, v) in env) psi.Environment[k] = v;
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add($"echo $$ > {dir}/cgroup.procs && exec dotnet \"$@\"");
            psi.ArgumentList.Add("sh");
            psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "MetaMae.Cli.dll"));
            foreach (var a in args) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            var err = p.StandardError.ReadToEndAsync();
            var stdout = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            long peak = long.Parse(File.ReadAllText(Path.Combine(dir, "memory.max_usage_in_bytes")).Trim(), CultureInfo.InvariantCulture);
            bool oom = File.ReadAllLines(Path.Combine(dir, "memory.oom_control"))
                .Any(l => l.StartsWith("oom_kill ", StringComparison.Ordinal) && l != "oom_kill 0");
            return (p.ExitCode, stdout, err.Result, peak, oom);
        }
        finally
        {
            for (int i = 0; i < 50 && Directory.Exists(dir); i++)
            {
                try { Directory.Delete(dir); }
                catch (IOException) { Thread.Sleep(100); }                      // the last task is still leaving the group
            }
        }
    }
}

/// <summary>Issue 31, item 4: the raw-input row of image + caption data fits in memory.</summary>
public class ImageCaptionRawInputTests(ITestOutputHelper output)
{
    /// <summary>
    /// emoji-captions' raw-input probe under a 1.5 GB memory cgroup: it finishes (measured peak ~0.6 GB) instead of
    /// growing to the machine's 24 GB and the OOM killer, as the caption's positional one-hot (32 x 30,521 columns, 6.0 GB
    /// in float32) did; the caption is a bag of words over the ids the training split uses. With less memory than the
    /// probe's estimate (METAMAE_AVAILABLE_MEMORY_MB=40) it stops first with one error naming both figures (exit 2).
    /// The same probe guards issue 15's native abort ("Unknown scalar type", 5 of 5 raw-input probes on emoji before the
    /// GC setting and the Scalar-free objective): it fits over emoji's pixels, with the caption's counts beside them.
    /// </summary>
    [Fact]
    public void TheImageCaptionRawInputRowFitsUnderAMemoryLimit()
    {
        if (MemoryCgroup.Unavailable is string why)
        {
            output.WriteLine($"no memory cgroup ({why}): the probe without a limit, and the features' width");
            var spec = new MetaMae.Modalities.TokenSpec(30522, 32, 0);
            Assert.True(RawInputProbe.IsBagOfWords(spec));
            var plain = CliTests.Metamae("probe", "--raw-input", "--dataset", "emoji-captions", "--threads", "2");
            Assert.True(plain.Code == 0, plain.Err);
            Assert.Contains("probe of the raw input on emoji-captions: test accuracy", plain.Out);
            return;
        }
        var none = new Dictionary<string, string>();
        var (code, stdout, err, peak, oom) = MemoryCgroup.Metamae(1536L << 20, none,
            "probe", "--raw-input", "--dataset", "emoji-captions", "--threads", "2");
        output.WriteLine($"exit {code}, peak {peak >> 20} MB, oom {oom}: {stdout.Trim()} {err.Trim()}");
        Assert.False(oom, "the OOM killer fired");
        Assert.True(code == 0, err);
        Assert.Contains("probe of the raw input on emoji-captions: test accuracy", stdout);
        (code, stdout, err, _, oom) = MemoryCgroup.Metamae(1536L << 20,
            new Dictionary<string, string> { [MetaMae.Runtime.MemoryBudget.OverrideVariable] = "40" },
            "probe", "--raw-input", "--dataset", "emoji-captions", "--threads", "2");
        Assert.False(oom);
        Assert.Equal(2, code);
        Assert.Contains("needs about", err);
        Assert.Contains("more than the 42 MB available", err);
        Assert.DoesNotContain("test accuracy", stdout);
    }

    /// <summary>A wide token input's raw features are counts of the ids the training split uses; a narrow one keeps its
    /// positional one-hot (unchanged figures for dna-splice, protein-families).</summary>
    [Fact]
    public void AWideTokenInputIsABagOfWordsOverTheTrainingIds()
    {
        var wide = new MetaMae.Modalities.TokenSpec(100_000, 4, 0);
        Assert.True(RawInputProbe.IsBagOfWords(wide));
        Assert.False(RawInputProbe.IsBagOfWords(new MetaMae.Modalities.TokenSpec(25, 256, 0)));   // 256 x 24 columns
        using var train = tensor(new long[] { 5, 7, 5, 0, 9, 0, 0, 0 }, [2, 4]);
        using var test = tensor(new long[] { 7, 3, 0, 0 }, [1, 4]);
        var vocab = RawInputProbe.Vocabulary(wide, train);
        Assert.Equal([5L, 7, 9], vocab[0]!);                                      // padding id 0 left out
        using var f = RawInputProbe.Features(wide, train, vocab);
        Assert.Equal(new float[] { 2, 1, 0, 0, 0, 1 }, f.data<float>().ToArray());
        using var ft = RawInputProbe.Features(wide, test, vocab);
        Assert.Equal(new float[] { 0, 1, 0 }, ft.data<float>().ToArray());      // id 3, unseen in training, is not a column
    }
}
