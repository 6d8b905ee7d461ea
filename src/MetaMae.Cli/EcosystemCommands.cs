using System.CommandLine;
using System.Text.Json.Nodes;
using MetaMae.Data;
using MetaMae.Interop;
using MetaMae.Model;
using MetaMae.Training;
using static TorchSharp.torch;

namespace MetaMae.Cli;

/// <summary>export / import (PyTorch reference format) and show (pictures).</summary>
public static partial class Cli
{
    static readonly Option<string> Format = new Option<string>("--format") { Description = "Export format", DefaultValueFactory = _ => "safetensors" }.AcceptOnlyFromAmong("safetensors");
    static readonly Option<string> Parts = new("--parts") { Description = "Comma list of encoder, decoder, projector (or all)", DefaultValueFactory = _ => "encoder" };
    static readonly Option<string?> In = new("--in") { Description = "A safetensors file with reference (timm/MAE-style) names" };
    static readonly Option<string?> Like = new("--like") { Description = "A checkpoint whose model (spec and sizes) the imported file fits" };
    static readonly Option<int> Samples = new("--samples") { Description = "Samples to draw", DefaultValueFactory = _ => 4 };

    static Command ExportCommand()
    {
        var c = new Command("export", "Write a checkpoint's weights with the key names and layouts of the PyTorch reference model (timm / MAE style)");
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

    static Command ImportCommand()
    {
        var c = new Command("import", "Read a reference-format safetensors file (from export, or from PyTorch) into a MetaMae checkpoint");
        foreach (var o in new Option[] { In, Like, Dataset, DataDir, Preset, DecoderDepth, Out, Json }) c.Add(o);
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
            else if (p.GetValue(Dataset) is string name)
            {
                var ds = Catalog.Load(name, p.GetValue(DataDir));
                like = RunSettings.Resolve("metamae", name, ds.Spec, Catalog.Get(name).Preset, p.GetValue(Preset)!, 0,
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

    static Command ShowCommand()
    {
        var c = new Command("show", "PNG pictures of a checkpoint: input / masked input / reconstruction of test samples, and a sample's support / Nearby-S / query sets");
        foreach (var o in new Option[] { CheckpointOpt, Dataset, DataDir, Samples, Seed, Out, Json }) c.Add(o);
        c.SetAction(p =>
        {
            var ckpt = p.GetValue(CheckpointOpt) ?? throw new ArgumentException("--checkpoint FILE is required");
            var outDir = p.GetValue(Out) ?? throw new ArgumentException("--out DIR is required");
            int n = p.GetValue(Samples);
            if (n < 1) throw new ArgumentException($"--samples must be >= 1 (got {n})");
            using var ck = Checkpoint.Load(ckpt);
            using var model = Checkpoint.LoadModel(ckpt);
            var name = p.GetValue(Dataset) ?? ck.Config.Dataset;
            var ds = Catalog.Load(name, p.GetValue(DataDir));
            if (ds.Spec != model.Spec)
                throw new ArgumentException($"dataset '{name}' has inputs '{ds.Spec.Describe()}' but the checkpoint's model was built for '{model.Spec.Describe()}'");
            var split = ds.Test ?? ds.Train;
            n = Math.Min(n, split.Count);
            Directory.CreateDirectory(outDir);
            using var raw = split.X.slice(0, 0, n, 1);
            var o = ck.Config.Objective;
            using var r = Plots.Reconstruct(model, raw, o.MaskRatio, o.NearbyRatio, p.GetValue(Seed));
            var files = new[]
            {
                Plots.Samples(model.Spec, r, Path.Combine(outDir, "reconstruction.png"),
                    $"{name}: {n} {(ds.Test is null ? "training" : "test")} samples, mask ratio {o.MaskRatio} ({Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(ckpt)))} step {ck.Step})"),
                Plots.SupportSets(model.Spec, r, 0, o.NearbyRatio, Path.Combine(outDir, "support-sets.png")),
            };
            foreach (var f in files) Console.WriteLine($"wrote {f}");
            PrintJson(p, new JsonObject { ["files"] = new JsonArray(files.Select(f => (JsonNode)f).ToArray()) });
            return 0;
        });
        return c;
    }

    /// <summary>loss.png beside metrics.csv at the end of pretraining.</summary>
    static void PlotLoss(string runDir)
    {
        var png = Plots.LossCurve(Path.Combine(runDir, "metrics.csv"), Path.Combine(runDir, "loss.png"));
        Console.Error.WriteLine($"wrote {png}");
    }
}

public static partial class Cli
{
    static readonly Option<int> TbImages = new("--tb-images") { Description = "Every N steps, write input / masked / reconstruction images of 4 test samples to DIR/tensorboard/reconstructions (0 = off)", DefaultValueFactory = _ => 0 };

    /// <summary>The after-step hook of --tb-images N (null when off).</summary>
    static Action<int, MetaMae.Model.MetaMaeModel>? TbHook(ParseResult p, Dataset ds, RunConfig cfg, string runDir)
    {
        int every = p.GetValue(TbImages);
        if (every < 0) throw new ArgumentException($"--tb-images must be >= 0 (got {every})");
        if (every == 0) return null;
        var split = ds.Test ?? ds.Train;
        var raw = split.X.slice(0, 0, Math.Min(4, split.Count), 1);
        var tb = TorchSharp.torch.utils.tensorboard.SummaryWriter(Path.Combine(runDir, "tensorboard", "reconstructions"));
        return (step, model) =>
        {
            if (step % every != 0 && step != cfg.Train.Steps) return;
            bool training = model.training;
            using (var r = Plots.Reconstruct(model, raw, cfg.Objective.MaskRatio, cfg.Objective.NearbyRatio, seed: step))
            using (var img = TensorBoardImages.Image(cfg.Spec, r))
                tb.add_img("reconstruction", img, step);
            if (training) model.train();
        };
    }
}
