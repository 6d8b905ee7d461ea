using MetaMae.Interop;

namespace MetaMae.Cli;

/// <summary>`metamae export`: a checkpoint in the PyTorch reference format.</summary>
internal static class ExportCommand
{
    internal static Command Create()
    {
        var c = new Command("export", "Write a checkpoint's weights with the key names and layouts of the PyTorch " +
            "reference model (timm / MAE style)");
        foreach (var o in new Option[] { CheckpointOpt, Format, Parts, Out, Json }) c.Add(o);
        c.SetAction(p =>
        {
            var ckpt = p.GetValue(CheckpointOpt) ?? throw new ArgumentException("--checkpoint FILE is required");
            var outPath = p.GetValue(Out) ?? throw new ArgumentException("--out FILE is required");
            var parts = ReferenceFormat.ParseParts(p.GetValue(Parts)!);
            using var model = Checkpoint.LoadModel(ckpt);
            using var ck = Checkpoint.Load(ckpt);
            ReferenceFormat.Export(model, ck.Config, outPath, parts);
            int keys = ReferenceFormat.ToReference(model, parts).Count;
            Console.WriteLine($"exported {p.GetValue(Parts)} of {ckpt} ({keys} tensors, reference names) -> {outPath}");
            PrintJson(p, new JsonObject { ["checkpoint"] = ckpt, ["out"] = outPath, ["parts"] = p.GetValue(Parts), ["tensors"] = keys });
            return 0;
        });
        return c;
    }
}
