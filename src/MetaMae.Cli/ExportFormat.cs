namespace MetaMae.Cli;

/// <summary>What `metamae export` writes.</summary>
public enum ExportFormat
{
    /// <summary>Weights in the PyTorch reference names and layouts (safetensors; the default).</summary>
    Safetensors,
    /// <summary>The frozen encoder plus its feature step as one ONNX graph.</summary>
    Onnx,
}

/// <summary>--format's names.</summary>
public static class ExportFormats
{
    public static readonly string[] Names = ["safetensors", "onnx"];

    public static ExportFormat Parse(string s) => s switch
    {
        "safetensors" => ExportFormat.Safetensors,
        "onnx" => ExportFormat.Onnx,
        _ => throw new ArgumentException($"--format must be one of {string.Join(", ", Names)} (got '{s}')"),
    };
}
