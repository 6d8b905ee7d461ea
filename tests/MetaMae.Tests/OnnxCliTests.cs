using System.Globalization;
using MetaMae.Data;
using MetaMae.Evaluation;
using MetaMae.Interop;
using MetaMae.Modalities;
using MetaMae.Training;
using static TorchSharp.torch;

namespace MetaMae.Tests;

/// <summary>metamae export --format onnx and embed --onnx as users call them, and what a bad .onnx file gets.</summary>
public class OnnxCliTests
{
    // a checkpoint of a tiny digits encoder (random init moved off its initial values), written in-process
    private static string DigitsCheckpoint(string dir)
    {
        var ds = Catalog.Load("digits");
        var cfg = RunSettings.Resolve("metamae", "digits", ds.Spec, Catalog.Entries.First(e => e.Name == "digits").Preset,
            "tiny", 0);
        using var model = OnnxExportTests.Model(ds.Spec, cfg: cfg.Model);
        var path = Path.Combine(dir, "checkpoint.safetensors");
        model.Save(path, cfg);
        return path;
    }

    private static float[][] CsvFeatures(string path) =>
        File.ReadLines(path).Skip(1).Select(l => l.Split(',').Skip(3)
            .Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray()).ToArray();

    [Fact]
    public void ExportThenEmbedWithOnnxRuntimeGivesTheCheckpointsFeatures()
    {
        var dir = Tmp.Dir("onnx-cli");
        var ckpt = DigitsCheckpoint(dir);
        var onnx = Path.Combine(dir, "encoder.onnx");
        var (code, stdout, err) = CliTests.Metamae("export", "--checkpoint", ckpt, "--format", "onnx", "--out", onnx);
        Assert.True(code == 0, err);
        Assert.Contains("input 'input' float32 (batch x 1 x 8 x 8) -> 'features' float32 (batch x 64), mean features, opset 17",
            stdout);
        var viaOnnx = Path.Combine(dir, "onnx.csv");
        var viaTorch = Path.Combine(dir, "torch.csv");
        (code, _, err) = CliTests.Metamae("embed", "--onnx", onnx, "--split", "test", "--out", viaOnnx, "--threads", "2");
        Assert.True(code == 0, err);
        (code, _, err) = CliTests.Metamae("embed", "--checkpoint", ckpt, "--split", "test", "--out", viaTorch, "--threads", "2");
        Assert.True(code == 0, err);
        var a = CsvFeatures(viaOnnx);
        var b = CsvFeatures(viaTorch);
        Assert.Equal(b.Length, a.Length);
        Assert.True(a.Length > 100);
        double max = a.Zip(b, (r, s) => r.Zip(s, (x, y) => Math.Abs(x - y)).Max()).Max();
        Assert.True(max <= 1e-4, $"embed --onnx vs --checkpoint: max abs difference {max:E3}");
        Assert.Equal(File.ReadLines(viaTorch).Select(l => string.Join(",", l.Split(',').Take(3))),
                     File.ReadLines(viaOnnx).Select(l => string.Join(",", l.Split(',').Take(3))));   // ids, splits, labels
    }

    // an export of another model, rewritten: without our metadata (another exporter), cut at the end of its graph, cut in
    // the middle, or not protobuf at all
    public static TheoryData<string, string> BadFiles => new()
    {
        { "foreign", "not a MetaMae encoder" },
        { "no-metadata", "cut short (its metadata, stored last, is missing)" },
        { "truncated", "not a readable ONNX model" },
        { "text", "not a readable ONNX model" },
    };

    private static string WriteBad(string kind, string dir)
    {
        using var model = OnnxExportTests.Model(new TabularSpec(5));
        var (proto, _) = OnnxExport.Build(model, FeatureKind.Mean);
        var path = Path.Combine(dir, kind + ".onnx");
        switch (kind)
        {
            case "foreign":
                proto.MetadataProps.Clear();
                proto.ProducerName = "pytorch";
                File.WriteAllBytes(path, Google.Protobuf.MessageExtensions.ToByteArray(proto));
                break;
            case "no-metadata":
                proto.MetadataProps.Clear();
                File.WriteAllBytes(path, Google.Protobuf.MessageExtensions.ToByteArray(proto));
                break;
            case "truncated":
                var bytes = Google.Protobuf.MessageExtensions.ToByteArray(proto);
                File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
                break;
            default:
                File.WriteAllText(path, "id,split,label\n");
                break;
        }
        return path;
    }

    [Theory]
    [MemberData(nameof(BadFiles))]
    public void ABadOnnxFileGetsOneErrorNamingItAndExit2(string kind, string says)
    {
        var dir = Tmp.Dir("onnx-bad-" + kind);
        var path = WriteBad(kind, dir);
        var e = Assert.Throws<InvalidDataException>(() => OnnxModelInfo.Read(path));
        Assert.Contains(path, e.Message);
        Assert.Contains(says, e.Message);
        var (code, _, err) = CliTests.Metamae("embed", "--onnx", path, "--dataset", "spambase", "--out",
            Path.Combine(dir, "x.csv"));
        Assert.Equal(2, code);
        var line = Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: " + path + ": ", line);
        Assert.Contains(says, line);
    }

    [Fact]
    public void AnExportOfAnotherSpecIsRefusedNamingBoth()
    {
        var dir = Tmp.Dir("onnx-other-spec");
        using var model = OnnxExportTests.Model(new TabularSpec(5));
        var path = Path.Combine(dir, "tab5.onnx");
        OnnxExport.Export(model, FeatureKind.Mean, path, "spambase");
        var (code, _, err) = CliTests.Metamae("embed", "--onnx", path, "--out", Path.Combine(dir, "x.csv"));   // spambase: 57
        Assert.Equal(2, code);
        var line = Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(path, line);
        Assert.Contains("tabular 5 features", line);
        Assert.Contains("tabular 57 features", line);
    }
}
