namespace MetaMae.Cli;

/// <summary>What `metamae export` writes.</summary>
public enum ExportFormat
{
    /// <summary>Weights in the PyTorch reference names and layouts (safetensors; the default).</summary>
    Safetensors,
    /// <summary>The frozen encoder plus its feature step as one ONNX graph.</summary>
    Onnx,
    /// <summary>The same reference-named weights as a PyTorch state dict (torch.save's zip pickle, .pt).</summary>
    Pt,
}

/// <summary>--format's names.</summary>
public static class ExportFormats
{
    public static string[] Names => EnumNames<ExportFormat>.All;

    public static ExportFormat Parse(string s) => EnumNames<ExportFormat>.Parse(s, "--format");
}
