using MetaMae.Interop;

namespace MetaMae.Cli;

/// <summary>`metamae export`: a checkpoint in the PyTorch reference format, or its encoder as an ONNX model.</summary>
internal static class ExportCommand
{
    internal static Command Create()
    {
        var c = new Command("export", "Write a checkpoint's weights with the key names and layouts of the PyTorch " +
            "reference model (timm / MAE style), or its frozen encoder and feature step as an ONNX model (--format onnx)");
        foreach (var o in new Option[] { CheckpointOpt, Format, Parts, FeaturesOpt, Out, Json }) c.Add(o);
        c.SetAction(p =>
        {
            var ckpt = p.GetValue(CheckpointOpt) ?? throw new ArgumentException("--checkpoint FILE is required");
            var outPath = p.GetValue(Out) ?? throw new ArgumentException("--out FILE is required");
            var format = ExportFormats.Parse(p.GetValue(Format)!);
            if (format == ExportFormat.Onnx) return Onnx(p, ckpt, outPath);
            if (p.GetResult(FeaturesOpt) is { Implicit: false })
                throw new ArgumentException("--features applies to --format onnx " +
                    $"({p.GetValue(Format)} holds weights, not a feature step)");
            var parts = ReferenceFormat.ParseParts(p.GetValue(Parts)!);
            using var model = Checkpoint.LoadModel(ckpt);
            using var ck = Checkpoint.Load(ckpt);
            if (format == ExportFormat.Pt) ReferenceFormat.ExportPyTorch(model, ck.Config, outPath, parts);
            else ReferenceFormat.Export(model, ck.Config, outPath, parts);
            int keys = model.state_dict().Keys.Count(k => (ReferenceFormat.PartOf(k) & parts) != 0);
            Console.WriteLine($"exported {p.GetValue(Parts)} of {ckpt} ({keys} tensors, reference names" +
                $"{(format == ExportFormat.Pt ? ", PyTorch state dict" : "")}) -> {outPath}");
            PrintJson(p, new JsonObject
            {
                ["checkpoint"] = ckpt, ["out"] = outPath, ["format"] = p.GetValue(Format),
                ["parts"] = p.GetValue(Parts), ["tensors"] = keys,
            });
            return 0;
        });
        return c;
    }

    // --format onnx: the encoder and the --features step, its input / output written into the model and printed
    private static int Onnx(ParseResult p, string ckpt, string outPath)
    {
        if (p.GetResult(Parts) is { Implicit: false })
            throw new ArgumentException("--parts applies to --format safetensors or pt; " +
                "an ONNX export is always the encoder");
        var features = FeatureExtraction.Parse(p.GetValue(FeaturesOpt)!);
        using var model = Checkpoint.LoadModel(ckpt);
        string dataset;
        using (var ck = Checkpoint.Load(ckpt)) dataset = ck.Config.Dataset;
        var info = OnnxExport.Export(model, features, outPath, dataset);
        Console.WriteLine($"exported the encoder of {ckpt} ({model.Spec.Describe()}) as ONNX -> {outPath}");
        Console.WriteLine($"  {info.Describe()}");
        PrintJson(p, new JsonObject
        {
            ["checkpoint"] = ckpt, ["out"] = outPath, ["format"] = "onnx", ["opset"] = info.Opset,
            ["features"] = FeatureExtraction.Name(features), ["spec"] = model.Spec.Describe(),
            ["input"] = new JsonObject
            {
                ["name"] = OnnxExport.InputName, ["dtype"] = OnnxModelInfo.TypeName(info.InputType),
                ["shape"] = ShapeJson(info.InputShape),
            },
            ["output"] = new JsonObject
            {
                ["name"] = OnnxExport.OutputName, ["dtype"] = "float32",
                ["shape"] = ShapeJson(info.OutputShape),
            },
        });
        return 0;
    }

    private static JsonArray ShapeJson(long[] shape) => new(shape.Select(d => d < 0 ? (JsonNode)"batch" : d).ToArray());
}
