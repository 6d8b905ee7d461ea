using System.Globalization;
using System.Text.RegularExpressions;
using MetaMae.Data;
using MetaMae.Training;
using Xunit.Abstractions;
using static TorchSharp.torch;
using MetaMae.Runtime;

namespace MetaMae.Tests;

/// <summary>
/// Issue 33: images from a pixel CSV, and a wide input that cannot fit gets the adapted run or one clear error before
/// step 1, never the OOM killer.
/// </summary>
public class MemorySafetyTests(ITestOutputHelper output)
{
    /// <summary>Writes n images (3 x h x w, seeded bytes) as PNGs under dir/{train,test}/{class}/ and the same pixels as
    /// a CSV (channel first, or channel last), returning the CSV's path. Rows in the folder reader's order.</summary>
    private static string ImagesBothWays(string dir, int h, int w, bool channelsLast)
    {
        var rng = new Random(4);
        var lines = new List<string>();
        int per = 3 * h * w;
        lines.Add("id," + string.Join(",", Enumerable.Range(0, per).Select(k => $"p{k}")) + ",label,split");
        foreach (var split in new[] { "train", "test" })
            foreach (var cls in new[] { "cat", "dog" })
            {
                var folder = Path.Combine(dir, "png", split, cls);
                Directory.CreateDirectory(folder);
                for (int i = 0; i < (split == "train" ? 6 : 3); i++)
                {
                    var rgb = new byte[per];                                   // (y, x, channel), as PNG stores it
                    rng.NextBytes(rgb);
                    var name = $"{i}.png";
                    File.WriteAllBytes(Path.Combine(folder, name), PngWriter.Rgb(w, h, rgb));
                    var values = channelsLast ? rgb.Select(b => (int)b)
                        : Enumerable.Range(0, per).Select(k => (int)rgb[(k % (h * w)) * 3 + k / (h * w)]);   // (c, y, x)
                    lines.Add($"{split}/{cls}/{name},{string.Join(",", values)},{cls},{split}");
                }
            }
        var f = Path.Combine(dir, "pixels.csv");
        File.WriteAllLines(f, lines);
        return f;
    }

    /// <summary>The pixel CSV reader against the same images read from a PNG folder: identical tensors, spec and labels,
    /// channel first and channel last.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void APixelCsvReadsAsTheSameImagesAsAPngFolder(bool channelsLast)
    {
        var dir = Tmp.Dir("pixels");
        var csv = ImagesBothWays(dir, 12, 8, channelsLast);
        var fromPng = ByoData.Load(Path.Combine(dir, "png"), new ByoOptions { Modality = "image" });
        var fromCsv = ByoData.Load(csv, new ByoOptions
        {
            Modality = "image", ImageShape = channelsLast ? "12x8x3:channels-last" : "3x12x8", IdColumn = "id",
            Patch = fromPng.Spec is MetaMae.Modalities.GridSpec g ? g.PatchH : null,
        });
        Assert.Equal(fromPng.Spec, fromCsv.Spec);
        Assert.Equal(fromPng.Train.X.shape, fromCsv.Train.X.shape);
        Assert.True(fromPng.Train.X.eq(fromCsv.Train.X).all().item<bool>(), "train images differ");
        Assert.True(fromPng.Test!.X.eq(fromCsv.Test!.X).all().item<bool>(), "test images differ");
        Assert.Equal(fromPng.Train.Labels, fromCsv.Train.Labels);
        Assert.Equal(fromPng.Train.Ids, fromCsv.Train.Ids);
    }

    [Fact]
    public void PixelCsvErrorsNameTheShapeTheRowAndTheValue()
    {
        var dir = Tmp.Dir("pixels-bad");
        var csv = ImagesBothWays(dir, 4, 4, channelsLast: false);
        Assert.Contains("--image-shape 28x28 needs 784 pixel columns, the header has 48",
            Assert.Throws<DataFormatException>(() => ByoData.Load(csv, new ByoOptions
                { Modality = "image", ImageShape = "28x28", IdColumn = "id" })).Message);
        var lines = File.ReadAllLines(csv);
        var fields = lines[3].Split(',').ToList();
        fields.RemoveAt(1);                                                    // data row 3 (line 4) loses a pixel value
        lines[3] = string.Join(",", fields);
        File.WriteAllLines(csv, lines);
        var e = Assert.Throws<DataFormatException>(() => ByoData.Load(csv, new ByoOptions
            { Modality = "image", ImageShape = "3x4x4", IdColumn = "id" }));
        output.WriteLine(e.Message);
        Assert.Contains("pixels.csv", e.Message);
        Assert.Matches(@"(:4\b|line 4|row 3)", e.Message);                    // the row, by its line or its number
        var good = ImagesBothWays(Tmp.Dir("pixels-range"), 4, 4, channelsLast: false);
        var rows = File.ReadAllLines(good);
        var f = rows[2].Split(',');
        f[5] = "300";
        rows[2] = string.Join(",", f);
        File.WriteAllLines(good, rows);
        Assert.Contains("data row 2 field 'p4' is 300, expected an 8-bit pixel value 0..255",
            Assert.Throws<DataFormatException>(() => ByoData.Load(good, new ByoOptions
                { Modality = "image", ImageShape = "3x4x4", IdColumn = "id" })).Message);
        foreach (var bad in new[] { "28", "28x", "0x28", "5x8x8", "8x8x3:channels-first", "28x28:channels-last" })
            Assert.Contains("--image-shape", Assert.Throws<ArgumentException>(() => ImageShape.Parse(bad)).Message);
        Assert.Equal(4, ImageShape.DefaultPatch(28, 28));
        Assert.Equal(4, ImageShape.DefaultPatch(32, 32));
        Assert.Equal(1, ImageShape.DefaultPatch(5, 7));
    }

    /// <summary>A 784-column table (a pixel CSV read as a table: 784 tokens of one value, HIGGS's preset: decoder depth
    /// 6; 100 training rows, so batch 100) under a 1.5 GB memory cgroup the test sets: MetaMAE (its contrast couples the
    /// batch) stops before step 1 with one error naming the estimate, the available memory and a --batch that fits,
    /// writing nothing; that --batch, run, starts or is refused alike, but is not killed; MAE (a mean over samples)
    /// accumulates micro-batches and runs. None meets the OOM killer: before the memory calibration took a first look
    /// at 2 and 4 samples, its own step at 16 samples (~2 GB) was killed here, and the --batch it suggested (7, from
    /// batch 100's slope, whose attention maps are chunked) needed 2.3 GB. Without a cgroup, the same through
    /// METAMAE_AVAILABLE_MEMORY_MB.</summary>
    [Fact]
    public void AWideTableUnderAMemoryLimitGetsTheAdaptedRunOrOneClearError()
    {
        var dir = Tmp.Dir("wide");
        var rng = new Random(2);
        var lines = new List<string> { string.Join(",", Enumerable.Range(0, 784).Select(i => $"pixel{i}")) + ",label" };
        for (int i = 0; i < 125; i++)
            lines.Add(string.Join(",", Enumerable.Range(0, 784).Select(_ => rng.Next(256).ToString(CultureInfo.InvariantCulture)))
                      + $",{i % 10}");
        var f = Path.Combine(dir, "pixels.csv");
        File.WriteAllLines(f, lines);
        const long limit = 1536L << 20;
        var env = MemoryCgroup.Unavailable is null ? new Dictionary<string, string>()
            : new Dictionary<string, string> { [MemoryBudget.OverrideVariable] = (limit >> 20).ToString(CultureInfo.InvariantCulture) };
        (int, string, string, long, bool) Run(string algo, string outDir, params string[] more)
        {
            string[] args = ["pretrain", "--data", f, "--modality", "tabular", "--preset", "tiny", "--steps", "1", "--algo", algo,
                "--out", outDir, "--threads", "2", .. more];
            if (MemoryCgroup.Unavailable is null) return MemoryCgroup.Metamae(limit, env, args);
            var (c, o, e) = CliTests.MetamaeWithEnv(env, args);
            return (c, o, e, 0, false);
        }
        var refusedDir = Path.Combine(dir, "metamae");
        var (code, _, err, peak, oom) = Run("metamae", refusedDir);
        output.WriteLine($"metamae: exit {code}, peak {peak >> 20} MB: {err.Trim()}");
        Assert.False(oom, "the OOM killer fired");
        Assert.Equal(2, code);
        Assert.Contains("error: memory: ~", err);
        Assert.Contains("this run does not fit", err);
        var suggested = Regex.Match(err, @"--batch (\d+) or less");
        Assert.True(suggested.Success, err);
        Assert.Contains("--accumulate would change metamae's method", err);
        Assert.False(Directory.Exists(refusedDir), "the refused run left its folder");

        (code, _, err, peak, oom) = Run("metamae", Path.Combine(dir, "suggested"), "--batch", suggested.Groups[1].Value);
        output.WriteLine($"metamae --batch {suggested.Groups[1].Value}: exit {code}, peak {peak >> 20} MB: {err.Trim()}");
        Assert.False(oom, "the OOM killer fired at the suggested batch");
        Assert.True(code == 0 || (code == 2 && err.Contains("this run does not fit", StringComparison.Ordinal)), err);

        (code, _, err, peak, oom) = Run("mae", Path.Combine(dir, "mae"));
        output.WriteLine($"mae: exit {code}, peak {peak >> 20} MB: {err.Trim()}");
        Assert.False(oom, "the OOM killer fired");
        Assert.True(code == 0, err);
        Assert.Matches(@"each step accumulates \d+ micro-batches of \d+ \(the same effective batch", err);
        Assert.True(File.Exists(Path.Combine(dir, "mae", Checkpoint.FileName)));
    }

    /// <summary>A process measures a pretraining step's memory once: the same step again (another seed, step budget and
    /// rate) takes the estimate measured before, its growth over the memory then held added to the memory held now;
    /// another batch, or another model, is measured anew. Linux only (null elsewhere).</summary>
    [Fact]
    public void AProcessMeasuresAConfigurationOnce()
    {
        var x = Catalog.Load("dna-splice").Train.X;
        var cfg = TrainingTests.Config("metamae", 2);
        var first = MemoryEstimate.ForPretraining(x, cfg, CPU, ScalarType.Float32, 23);   // a batch no other test takes
        if (first is null) { output.WriteLine("no /proc: no estimate"); return; }
        var again = MemoryEstimate.ForPretraining(x, TrainingTests.Config("metamae", 9, seed: 5) with
            { Train = TrainingTests.Config("metamae", 9, seed: 5).Train with { Lr = 3e-3 } }, CPU, ScalarType.Float32, 23)!;
        output.WriteLine($"first {first}, again {again}");
        Assert.Equal(first.PeakBytes - first.NowBytes, again.PeakBytes - again.NowBytes);
        Assert.Equal((first.PerSampleBytes, first.Calibration), (again.PerSampleBytes, again.Calibration));
        var other = MemoryEstimate.ForPretraining(x, cfg, CPU, ScalarType.Float32, 22)!;
        Assert.Equal(22, other.Batch);
        var deeper = MemoryEstimate.ForPretraining(x, cfg with { Model = cfg.Model with { DecDepth = 3 } }, CPU,
            ScalarType.Float32, 23)!;
        Assert.NotEqual(first.PeakBytes - first.NowBytes, deeper.PeakBytes - deeper.NowBytes);
    }
}
