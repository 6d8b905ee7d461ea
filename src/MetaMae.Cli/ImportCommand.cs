using MetaMae.Interop;

namespace MetaMae.Cli;

/// <summary>`metamae import`: a reference-format file (from export, or PyTorch) into a checkpoint.</summary>
internal static class ImportCommand
{
    internal static Command Create()
    {
        var c = new Command("import", "Read a reference-format safetensors file or PyTorch state dict " +
            "(.pt; from export, or from PyTorch) into a MetaMae checkpoint");
        foreach (var o in new Option[] { In, Like, DatasetOpt, DataDir, Preset, DecoderDepth, Out, Json }) c.Add(o);
        c.SetAction(p =>
        {
            var inPath = p.GetValue(In) ?? throw new ArgumentException("--in FILE is required");
            var outPath = p.GetValue(Out) ?? throw new ArgumentException("--out FILE (the checkpoint to write) is required");
            RunConfig? like = null;
            if (p.GetValue(Like) is string likePath)
            {
                using var ck = Checkpoint.Load(likePath);
                like = ck.Config;
            }
            else if (p.GetValue(DatasetOpt) is string name)
            {
                var ds = Catalog.Load(name, p.GetValue(DataDir));
                like = RunSettings.Resolve(Algorithms.MetaMae, name, ds.Spec, Catalog.Get(name).Preset, p.GetValue(Preset)!, 0,
                    new RunOverrides { DecoderDepth = p.GetValue(DecoderDepth) });
            }
            var (model, cfg, parts) = ReferenceFormat.Import(inPath, like);
            using (model)
            {
                model.Save(outPath, cfg!);
                Console.WriteLine($"imported {parts.ToString().ToLowerInvariant()} from {inPath} ({model.Spec.Describe()}) -> {outPath}" +
                    (parts == ModelParts.All ? "" : "; the other parts keep their initialisation"));
                PrintJson(p, new JsonObject { ["in"] = inPath, ["out"] = outPath, ["parts"] = parts.ToString().ToLowerInvariant() });
            }
            return 0;
        });
        return c;
    }
}
