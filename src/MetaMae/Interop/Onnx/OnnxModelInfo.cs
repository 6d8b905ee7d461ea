using System.Globalization;
using System.Text.Json;
using Google.Protobuf;
using MetaMae.Evaluation;
using MetaMae.Modalities;
using MetaMae.Model;
using MetaMae.Training;
using Onnx;

namespace MetaMae.Interop;

/// <summary>
/// What an exported ONNX encoder takes and gives, as written in its metadata_props: the input spec, the feature kind,
/// the input's name, shape (-1 = the dynamic batch axis) and element type, the output's, and the opset.
/// <see cref="Read"/> checks a file is one of ours and gives one InvalidDataException naming the file otherwise.
/// </summary>
public sealed record OnnxModelInfo(InputSpec Spec, FeatureKind Features, int EncDim, OnnxElementType InputType,
    long[] InputShape, long[] OutputShape, int Opset, string? Dataset)
{
    public const string Producer = "metamae";
    public const string FormatKey = "format";
    public const string FormatName = "metamae-onnx";
    public const string VersionKey = "format_version";
    public const int FormatVersion = 1;

    /// <summary>The info of an export of an encoder of this spec and width.</summary>
    public static OnnxModelInfo For(InputSpec spec, ModelConfig cfg, FeatureKind features, string? dataset)
    {
        // token ids: int64; everything else float32 (a multi-input sample is one float vector, ids stored as floats)
        var type = spec is TokenSpec ? OnnxElementType.Int64 : OnnxElementType.Float32;
        long[] output = features == FeatureKind.Tokens ? [-1, spec.NumTokens, cfg.EncDim] : [-1, cfg.EncDim];
        return new OnnxModelInfo(spec, features, cfg.EncDim, type, [-1, .. spec.RawShape], output, OnnxExport.Opset, dataset);
    }

    /// <summary>Element type as users read it: "float32" or "int64".</summary>
    public static string TypeName(OnnxElementType t) => t == OnnxElementType.Int64 ? "int64" : "float32";

    /// <summary>A shape with the batch axis named: "batch x 2 x 12".</summary>
    public static string ShapeText(long[] shape) => string.Join(" x ", shape.Select(d => d < 0 ? "batch" : d.ToString()));

    /// <summary>One line: "input 'input' float32 (batch x 2 x 12) -> 'features' float32 (batch x 64), mean, opset 17".</summary>
    public string Describe() =>
        $"input '{OnnxExport.InputName}' {TypeName(InputType)} ({ShapeText(InputShape)}) -> '{OnnxExport.OutputName}' " +
        $"float32 ({ShapeText(OutputShape)}), {FeatureExtraction.Name(Features)} features, opset {Opset}";

    /// <summary>The metadata_props entries.</summary>
    public IEnumerable<(string Key, string Value)> Metadata()
    {
        yield return (FormatKey, FormatName);
        yield return (VersionKey, FormatVersion.ToString(CultureInfo.InvariantCulture));
        yield return ("spec", JsonSerializer.Serialize(Spec, RunConfig.Json));
        yield return ("spec_description", Spec.Describe());
        yield return ("features", FeatureExtraction.Name(Features));
        yield return ("input_name", OnnxExport.InputName);
        yield return ("input_shape", string.Join(",", InputShape));
        yield return ("input_dtype", TypeName(InputType));
        yield return ("output_name", OnnxExport.OutputName);
        yield return ("output_shape", string.Join(",", OutputShape));
        yield return ("opset", Opset.ToString(CultureInfo.InvariantCulture));
        yield return ("missing", "NaN inputs become 0 (the training mean of standardised data), as metamae embed");
        if (Dataset is not null) yield return ("dataset", Dataset);
    }

    /// <summary>
    /// Reads and checks an ONNX file written by <see cref="OnnxExport"/>. A file that is not ONNX, is cut short, has no
    /// MetaMae metadata or metadata that does not fit its graph gets one InvalidDataException naming the file.
    /// </summary>
    public static OnnxModelInfo Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such ONNX file", path);
        ModelProto m;
        try
        {
            using var s = File.OpenRead(path);
            m = ModelProto.Parser.ParseFrom(s);
        }
        catch (InvalidProtocolBufferException e)
        {
            // the protobuf reader's first sentence: "... the input ended unexpectedly in the middle of a field"
            var why = e.Message.Split(". ")[0].TrimEnd('.');
            throw new InvalidDataException($"{path}: not a readable ONNX model ({why}): damaged, cut short or not ONNX");
        }
        var meta = m.MetadataProps.GroupBy(p => p.Key).ToDictionary(p => p.Key, p => p.Last().Value);
        if (m.Graph is null || m.Graph.Node.Count == 0)
            throw new InvalidDataException($"{path}: not an ONNX model (no graph)");
        if (!meta.TryGetValue(FormatKey, out var format) || format != FormatName)
        {
            throw new InvalidDataException(m.ProducerName == Producer
                ? $"{path}: written by metamae but cut short (its metadata, stored last, is missing)"
                : $"{path}: not a MetaMae encoder (no 'format: {FormatName}' metadata; producer " +
                  $"'{m.ProducerName}'): export one with metamae export --format onnx");
        }
        if (!meta.TryGetValue(VersionKey, out var version) || version != FormatVersion.ToString(CultureInfo.InvariantCulture))
            throw new InvalidDataException($"{path}: MetaMae ONNX format version '{version}' is not supported " +
                $"(expected {FormatVersion})");
        var info = FromMetadata(meta, path);
        CheckGraph(m.Graph, info, path);
        return info;
    }

    private static string Need(Dictionary<string, string> meta, string key, string path) =>
        meta.TryGetValue(key, out var v) ? v : throw new InvalidDataException($"{path}: metadata '{key}' is missing");

    private static OnnxModelInfo FromMetadata(Dictionary<string, string> meta, string path)
    {
        InputSpec spec;
        try
        {
            spec = JsonSerializer.Deserialize<InputSpec>(Need(meta, "spec", path), RunConfig.Json)
                   ?? throw new InvalidDataException($"{path}: metadata 'spec' is empty");
            spec.Validate();
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or ArgumentException)
        {
            throw new InvalidDataException($"{path}: metadata 'spec' is not a valid input spec ({e.Message})");
        }
        var featureName = Need(meta, "features", path);
        if (Array.IndexOf(FeatureExtraction.Names, featureName) < 0)
            throw new InvalidDataException($"{path}: metadata 'features' is '{featureName}', expected one of " +
                string.Join(", ", FeatureExtraction.Names));
        var features = FeatureExtraction.Parse(featureName);
        var output = Shape(Need(meta, "output_shape", path), "output_shape", path);
        if (!int.TryParse(Need(meta, "opset", path), CultureInfo.InvariantCulture, out int opset))
            throw new InvalidDataException($"{path}: metadata 'opset' is not an integer");
        var info = For(spec, new ModelConfig { EncDim = (int)output[^1] }, features, meta.GetValueOrDefault("dataset"));
        if (!info.OutputShape.SequenceEqual(output) || !info.InputShape.SequenceEqual(Shape(Need(meta, "input_shape", path),
                "input_shape", path)) || Need(meta, "input_dtype", path) != TypeName(info.InputType))
            throw new InvalidDataException($"{path}: metadata input/output shapes do not fit its spec ({spec.Describe()})");
        return info with { Opset = opset };
    }

    private static long[] Shape(string text, string key, string path)
    {
        try { return text.Split(',').Select(s => long.Parse(s, CultureInfo.InvariantCulture)).ToArray(); }
        catch (FormatException)
        {
            throw new InvalidDataException($"{path}: metadata '{key}' is not a comma list of integers ('{text}')");
        }
    }

    // the graph's declared input and output against the metadata
    private static void CheckGraph(GraphProto g, OnnxModelInfo info, string path)
    {
        if (g.Input.Count != 1 || g.Input[0].Name != OnnxExport.InputName || g.Output.Count != 1
            || g.Output[0].Name != OnnxExport.OutputName)
            throw new InvalidDataException($"{path}: the graph does not have the one input '{OnnxExport.InputName}' and one " +
                $"output '{OnnxExport.OutputName}' its metadata names");
        var t = g.Input[0].Type?.TensorType;
        if (t is null || t.ElemType != (int)info.InputType || t.Shape is null || t.Shape.Dim.Count != info.InputShape.Length
            || !t.Shape.Dim.Skip(1).Select(d => d.DimValue).SequenceEqual(info.InputShape.Skip(1)))
            throw new InvalidDataException($"{path}: the graph's input does not match its metadata " +
                $"({TypeName(info.InputType)} {ShapeText(info.InputShape)})");
    }
}
