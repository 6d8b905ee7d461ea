using MetaMae.Interop;

namespace MetaMae.Cli;

/// <summary>`metamae show`: pictures of a checkpoint's reconstructions and support sets.</summary>
internal static class ShowCommand
{
    internal static Command Create()
    {
        var c = new Command("show", "PNG pictures of a checkpoint: input / masked input / reconstruction of test " +
            "samples, and a sample's support / Nearby-S / query sets");
        foreach (var o in new Option[] { CheckpointOpt, DatasetOpt, DataDir, Samples, Seed, Out, Json }) c.Add(o);
        c.SetAction(p =>
        {
            var ckpt = p.GetValue(CheckpointOpt) ?? throw new ArgumentException("--checkpoint FILE is required");
            var outDir = p.GetValue(Out) ?? throw new ArgumentException("--out DIR is required");
            int n = p.GetValue(Samples);
            if (n < 1) throw new ArgumentException($"--samples must be >= 1 (got {n})");
            using var ck = Checkpoint.Load(ckpt);
            using var model = Checkpoint.LoadModel(ckpt);
            var name = p.GetValue(DatasetOpt) ?? ck.Config.Dataset;
            var ds = Catalog.Load(name, p.GetValue(DataDir));
            if (ds.Spec != model.Spec)
                throw new ArgumentException($"dataset '{name}' has inputs '{ds.Spec.Describe()}' but the " +
                    $"checkpoint's model was built for '{model.Spec.Describe()}'");
            var split = ds.Test ?? ds.Train;
            n = Math.Min(n, split.Count);
            Directory.CreateDirectory(outDir);
            using var raw = split.X.slice(0, 0, n, 1);
            var o = ck.Config.Objective;
            using var r = Reconstructions.Of(model, raw, o.MaskRatio, o.NearbyRatio, p.GetValue(Seed));
            var files = new[]
            {
                Plots.Samples(model.Spec, r, Path.Combine(outDir, "reconstruction.png"),
                    $"{name}: {n} {(ds.Test is null ? "training" : "test")} samples, mask ratio {o.MaskRatio} " +
                        $"({Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(ckpt)))} step {ck.Step})"),
                Plots.SupportSets(model.Spec, r, 0, o.NearbyRatio, Path.Combine(outDir, "support-sets.png")),
            };
            foreach (var f in files) Console.WriteLine($"wrote {f}");
            PrintJson(p, new JsonObject { ["files"] = new JsonArray(files.Select(f => (JsonNode)f).ToArray()) });
            return 0;
        });
        return c;
    }
}
