using System.Diagnostics;
using MetaMae.Cli;
using MetaMae.Data;
using MetaMae.Evaluation;
using MetaMae.Interop;
using MetaMae.Modalities;
using MetaMae.Model;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace MetaMae.Tests;

/// <summary>
/// export --format onnx gives the same model: the ONNX graph run by ONNX Runtime against ExtractFeatures (TorchSharp)
/// on real shipped samples, one dataset per input spec kind, max abs difference &lt;= 1e-4 in float32.
/// </summary>
public class OnnxExportTests(ITestOutputHelper output)
{
    private const double Tolerance = 1e-4;

    /// <summary>A tiny encoder (2 blocks x 64) whose every encoder parameter is moved off its initial value (LayerNorm
    /// (1, 0), zero biases), so a weight read from the wrong place or layout cannot go unseen.</summary>
    internal static MetaMaeModel Model(InputSpec spec, long seed = 3, ModelConfig? cfg = null)
    {
        manual_seed(seed);
        var m = new MetaMaeModel(spec, cfg ?? ModelConfig.Tiny);
        using (no_grad())
            foreach (var (_, p) in m.EncoderParameters()) p.add_(randn_like(p) * 0.1);
        m.eval();
        return m;
    }

    // the first rows of a shipped dataset's training split; continuous inputs get two missing cells (NaN)
    private static Tensor Samples(Dataset ds, int n)
    {
        var x = ds.Train.X.slice(0, 0, Math.Min(n, ds.Train.Count), 1).clone();
        if (ds.Spec is TokenSpec || ds.Spec is MultiInputSpec) return x;
        var flat = x.view(x.shape[0], -1);
        flat[0, 0] = float.NaN;
        flat[1, flat.shape[1] - 1] = float.NaN;
        return x;
    }

    public static TheoryData<string, string> Cases => new()
    {
        { "ecg", "mean" },              // sequence 1 x 320, patch 5
        { "digits", "mean" },           // grid 1 x 8 x 8, patch 2 x 2
        { "satellite", "mean" },        // grid 4 x 3 x 3, patch 1 x 1
        { "spambase", "mean" },         // tabular 57
        { "dna-splice", "mean" },       // tokens, vocabulary 4+, length 60
        { "emoji-captions", "mean" },   // image 3 x 32 x 32 + caption tokens (multi-input)
        { "ecg", "cls" },
        { "dna-splice", "cls" },
        { "digits", "tokens" },
        { "emoji-captions", "tokens" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void OnnxRuntimeGivesTheFeaturesOfExtractFeatures(string dataset, string features)
    {
        var ds = Catalog.Load(dataset);
        var kind = FeatureExtraction.Parse(features);
        using var model = Model(ds.Spec);
        var path = Path.Combine(Tmp.Dir("onnx-" + dataset + "-" + features), "encoder.onnx");
        var info = OnnxExport.Export(model, kind, path, dataset);
        using var x = Samples(ds, 13);
        using var ours = model.ExtractFeatures(x, kind, batch: 5);                       // (13, D) or (13, L, D)
        using var encoder = OnnxEncoder.Open(path, threads: 2);
        Assert.Equal(info.Spec, encoder.Info.Spec);
        Assert.Equal(info.Describe(), encoder.Info.Describe());
        using var theirs = OnnxFeatures.Extract(encoder, x, batch: 8);                   // other batch sizes: dynamic axis
        Assert.Equal(ours.shape, theirs.shape);
        Assert.False(ours.isnan().any().item<bool>(), "reference features hold NaN");
        double diff = (ours - theirs).abs().max().item<float>();
        output.WriteLine($"{dataset} ({ds.Spec.Describe()}), {features}: max abs difference {diff:E2} over " +
            $"{string.Join("x", ours.shape)} features");
        Assert.True(diff <= Tolerance, $"{dataset} {features}: max abs difference {diff:E3} > {Tolerance}");
    }

    [Fact]
    public void MetadataNamesTheInputAndTheOpset()
    {
        var spec = new SequenceSpec(2, 12, 3);
        using var model = Model(spec);
        var path = Path.Combine(Tmp.Dir("onnx-meta"), "e.onnx");
        OnnxExport.Export(model, FeatureKind.Mean, path);
        var proto = global::Onnx.ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        var meta = proto.MetadataProps.ToDictionary(p => p.Key, p => p.Value);
        Assert.Equal("metamae-onnx", meta["format"]);
        Assert.Equal("input", meta["input_name"]);
        Assert.Equal("-1,2,12", meta["input_shape"]);
        Assert.Equal("float32", meta["input_dtype"]);
        Assert.Equal("-1,64", meta["output_shape"]);
        Assert.Equal("17", meta["opset"]);
        Assert.Equal(17, proto.OpsetImport.Single().Version);
        Assert.Equal("batch", proto.Graph.Input[0].Type.TensorType.Shape.Dim[0].DimParam);
        var info = OnnxModelInfo.Read(path);
        Assert.Equal(spec, info.Spec);
        Assert.Equal("input 'input' float32 (batch x 2 x 12) -> 'features' float32 (batch x 64), mean features, opset 17",
            info.Describe());
    }

    /// <summary>An independent reader: Debian's python3-onnx checks the file against the ONNX spec (full check, with
    /// shape inference).</summary>
    [OnnxCheckerFact]
    public void PythonOnnxCheckerAcceptsTheExport()
    {
        foreach (var (dataset, kind) in new[] { ("ecg", FeatureKind.Mean), ("dna-splice", FeatureKind.Cls),
                     ("emoji-captions", FeatureKind.Tokens), ("spambase", FeatureKind.Mean), ("digits", FeatureKind.Tokens) })
        {
            using var model = Model(Catalog.Load(dataset).Spec);
            var path = Path.Combine(Tmp.Dir("onnx-checker-" + dataset), "e.onnx");
            OnnxExport.Export(model, kind, path);
            var psi = new ProcessStartInfo(OnnxCheckerFactAttribute.Python!)
            {
                RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            };
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add("import sys, onnx; m = onnx.load(sys.argv[1]); onnx.checker.check_model(m, full_check=True); " +
                                 "print('ok', onnx.__version__, m.opset_import[0].version)");
            psi.ArgumentList.Add(path);
            using var p = Process.Start(psi)!;
            var err = p.StandardError.ReadToEndAsync();
            var stdout = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            output.WriteLine($"{dataset}: {stdout.Trim()}");
            Assert.True(p.ExitCode == 0, $"{dataset}: onnx.checker: {stdout}{err.Result}");
        }
    }
}

/// <summary>A fact that is reported as skipped, with the reason, when python3 cannot import onnx.</summary>
public sealed class OnnxCheckerFactAttribute : FactAttribute
{
    public static readonly string? Python = TorchFactAttribute.PythonWith("onnx", ["/usr/bin/python3", "python3"]);

    public OnnxCheckerFactAttribute()
    {
        if (Python is null) Skip = "python3 with onnx is not installed (Debian: apt-get install python3-onnx)";
    }
}
