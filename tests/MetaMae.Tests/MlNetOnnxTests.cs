using MetaMae.Data;
using MetaMae.Evaluation;
using MetaMae.Interop;
using Microsoft.ML;
using Microsoft.ML.Data;
using Xunit.Abstractions;

namespace MetaMae.Tests;

/// <summary>The ML.NET example of docs/deploy.md: an exported encoder as an ApplyOnnxModel step of an ML.NET pipeline, then an ML.NET
/// trainer on its features; printed beside our linear probe's test accuracy on the same encoder.</summary>
public class MlNetOnnxTests(ITestOutputHelper output)
{
    // README-MLNET-BEGIN
    // One dna-splice sample as ML.NET sees it: the 60 token ids the exported encoder takes as 'input', and the label.
    public sealed class DnaRow
    {
        [ColumnName("input"), VectorType(60)] public long[] Input { get; set; } = [];
        public string Label { get; set; } = "";
    }

    // onnx: written by `metamae export --checkpoint C --format onnx --out encoder.onnx` for a dna-splice encoder
    public static double MlNetAccuracy(string onnx)
    {
        var ml = new MLContext(seed: 0);
        var ds = Catalog.Load("dna-splice");
        IDataView Rows(Split s) => ml.Data.LoadFromEnumerable(Enumerable.Range(0, s.Count).Select(i => new DnaRow
        {
            Input = s.X[i].data<long>().ToArray(), Label = ds.ClassNames[s.Labels![i]],
        }));
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.Transforms.ApplyOnnxModel(["features"], ["input"], onnx,
                new Dictionary<string, int[]> { ["input"] = [1, 60], ["features"] = [1, 64] }, gpuDeviceId: null,
                fallbackToCpu: false, recursionLimit: 100))
            .AppendCacheCheckpoint(ml)                     // the encoder runs once per sample, not once per SDCA pass
            .Append(ml.MulticlassClassification.Trainers.SdcaMaximumEntropy(featureColumnName: "features"));
        var model = pipeline.Fit(Rows(ds.Train));
        var metrics = ml.MulticlassClassification.Evaluate(model.Transform(Rows(ds.Test!)));
        return metrics.MicroAccuracy;                      // the fraction of test samples classified right
    }
    // README-MLNET-END

    [Fact]
    public void AnMlNetTrainerOnTheOnnxFeaturesLearnsDnaSplice()
    {
        var ds = Catalog.Load("dna-splice");
        using var model = OnnxExportTests.Model(ds.Spec);
        var onnx = Path.Combine(Tmp.Dir("mlnet"), "encoder.onnx");
        OnnxExport.Export(model, FeatureKind.Mean, onnx, "dna-splice");
        double mlnet = MlNetAccuracy(onnx);
        var probe = LinearProbe.Run(model, ds, new ProbeOptions());
        output.WriteLine($"dna-splice test accuracy, tiny random-init encoder: ML.NET SdcaMaximumEntropy on the ONNX " +
            $"features {mlnet:F3}, our linear probe (converged) {probe.TestAccuracy:F3}");
        double majority = ds.Test!.Labels!.GroupBy(l => l).Max(g => g.Count()) / (double)ds.Test.Count;
        Assert.True(mlnet > majority + 0.05, $"ML.NET accuracy {mlnet:F3} vs majority class {majority:F3}");
    }

    [Fact]
    public void TheReadmeShowsThisExample()
    {
        var root = Repo.Root;
        static List<string> Lines(IEnumerable<string> lines) => lines.Where(l => l.Length > 0).ToList();
        var test = File.ReadAllLines(Path.Combine(root, "tests", "MetaMae.Tests", "MlNetOnnxTests.cs"))
            .Select(l => l.Trim()).ToList();
        int b = test.IndexOf("// README-MLNET-BEGIN"), e = test.IndexOf("// README-MLNET-END");
        var readme = File.ReadAllLines(Path.Combine(root, "docs", "deploy.md")).Select(l => l.Trim()).ToList();
        int m = readme.IndexOf("<!-- the ML.NET example: tests/MetaMae.Tests/MlNetOnnxTests.cs -->");
        Assert.True(b >= 0 && e > b && m >= 0, "markers not found");
        int start = readme.IndexOf("```csharp", m) + 1, end = readme.IndexOf("```", start);
        Assert.Equal(Lines(test.Skip(b + 1).Take(e - b - 1)), Lines(readme.Skip(start).Take(end - start)));
    }
}
