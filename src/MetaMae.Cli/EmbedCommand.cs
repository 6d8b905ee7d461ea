using System.Diagnostics;

using static MetaMae.Cli.ByoCli;

namespace MetaMae.Cli;

/// <summary>`metamae embed`: the frozen features of every sample of a dataset, to CSV, .npy or safetensors.</summary>
public static class EmbedCommand
{
    internal static readonly Option<string?> EmbedOut =
        new("--out") { Description = "Output file: .csv, .npy (plus FILE.rows.csv) or .safetensors" };
    internal static readonly Option<string?> EmbedSplit =
        new Option<string?>("--split") { Description = "Only this split (default: all samples, train first)" }
        .AcceptOnlyFromAmong("train", "test");
    internal static readonly Option<int> EmbedBatch =
        new("--batch") { Description = "Samples per forward pass", DefaultValueFactory = _ => 256 };

    public static Command Create()
    {
        var c = new Command("embed", "Write the features of every sample (id, split, label carried along) from a pretrained encoder");
        foreach (var o in new Option[]
                 { CheckpointOpt, OnnxOpt, DatasetOpt, DataDir, DabsRoot, MaxPerSplit, Threads, DeviceOpt, PrecisionOpt, Json })
            c.Add(o);
        foreach (var o in DataOptions) c.Add(o);
        foreach (var o in ByoTableOptions) c.Add(o);
        foreach (var o in new Option[] { EmbedOut, EmbedSplit, FeaturesOpt, EmbedBatch }) c.Add(o);
        c.SetAction(p =>
        {
            if (p.GetValue(OnnxOpt) is string onnx) return EmbedOnnx(p, onnx);
            var device = Setup(p);
            var ckpt = p.GetValue(CheckpointOpt) ?? throw new ArgumentException("embed needs --checkpoint FILE " +
                "(written by pretrain or run) or --onnx FILE (written by export --format onnx)");
            var outPath = p.GetValue(EmbedOut) ?? throw new ArgumentException("embed needs --out FILE (.csv, .npy or .safetensors)");
            using var model = Checkpoint.LoadModel(ckpt, device);
            SetPrecision(p, model, device);
            string name;
            using (var ck = Checkpoint.Load(ckpt)) name = p.GetValue(DatasetOpt) ?? ck.Config.Dataset;
            var ds = LoadData(p, ref name, out _);
            var o = new EmbedOptions
            {
                Features = FeatureExtraction.Parse(p.GetValue(FeaturesOpt)!), Split = p.GetValue(EmbedSplit),
                Batch = p.GetValue(EmbedBatch),
            };
            var sw = Stopwatch.StartNew();
            var r = WithProgress("embed", (done, total) => $"{done}/{total} samples",
                report => Embeddings.Write(model, ds, outPath, o, report));
            Console.WriteLine($"embedded {r.Rows} samples of {name} ({FeatureExtraction.Name(o.Features)} features, " +
                $"{string.Join("x", r.FeatureShape)} each) in {sw.Elapsed.TotalSeconds:F1} s -> {r.Path}"
                + (r.RowsFile is null ? "" : $" (+ {r.RowsFile})"));
            PrintJson(p, new JsonObject
            {
                ["dataset"] = name, ["checkpoint"] = ckpt, ["features"] = FeatureExtraction.Name(o.Features), ["rows"] = r.Rows,
                ["shape"] = new JsonArray(r.FeatureShape.Select(d => (JsonNode)d).ToArray()), ["out"] = r.Path, ["rows_file"] = r.RowsFile,
                ["data"] = ds.Report?.ToJson(),
            });
            return 0;
        });
        return c;
    }

    /// <summary>
    /// embed --onnx: the dataset read as for a checkpoint (the same readers, so the same raw inputs), the features
    /// computed by ONNX Runtime from the exported graph (which imputes missing cells itself).
    /// </summary>
    private static int EmbedOnnx(ParseResult p, string onnx)
    {
        if (p.GetValue(CheckpointOpt) is not null) throw new ArgumentException("give --checkpoint or --onnx, not both");
        foreach (var opt in new Option[] { DeviceOpt, PrecisionOpt })
            if (p.GetResult(opt) is { Implicit: false })
                throw new ArgumentException($"{opt.Name} does not apply to --onnx (ONNX Runtime runs the graph in float32 " +
                    "on the CPU)");
        var outPath = p.GetValue(EmbedOut)
                      ?? throw new ArgumentException("embed needs --out FILE (.csv, .npy or .safetensors)");
        int threads = p.GetValue(Threads) ?? 0;
        using var encoder = OnnxEncoder.Open(onnx, threads);
        var info = encoder.Info;
        if (p.GetResult(FeaturesOpt) is { Implicit: false } && FeatureExtraction.Parse(p.GetValue(FeaturesOpt)!) != info.Features)
            throw new ArgumentException($"{onnx}: exported with {FeatureExtraction.Name(info.Features)} features, not " +
                $"{p.GetValue(FeaturesOpt)}; export again with --features {p.GetValue(FeaturesOpt)}");
        string name = p.GetValue(DatasetOpt) ?? info.Dataset
            ?? throw new ArgumentException($"{onnx} names no dataset; say which with --dataset or --data");
        var ds = LoadData(p, ref name, out _);
        if (ds.Spec != info.Spec)
            throw new ArgumentException($"{onnx}: exported for inputs '{info.Spec.Describe()}', but dataset '{name}' has " +
                $"'{ds.Spec.Describe()}'");
        var o = new EmbedOptions { Features = info.Features, Split = p.GetValue(EmbedSplit), Batch = p.GetValue(EmbedBatch) };
        var sw = Stopwatch.StartNew();
        var r = WithProgress("embed", (done, total) => $"{done}/{total} samples",
            report => Embeddings.Write(OnnxFeatures.Source(encoder), ds, outPath, o, report));
        Console.WriteLine($"embedded {r.Rows} samples of {name} with ONNX Runtime ({FeatureExtraction.Name(o.Features)} " +
            $"features, {string.Join("x", r.FeatureShape)} each) in {sw.Elapsed.TotalSeconds:F1} s -> {r.Path}"
            + (r.RowsFile is null ? "" : $" (+ {r.RowsFile})"));
        PrintJson(p, new JsonObject
        {
            ["dataset"] = name, ["onnx"] = onnx, ["features"] = FeatureExtraction.Name(o.Features), ["rows"] = r.Rows,
            ["shape"] = new JsonArray(r.FeatureShape.Select(d => (JsonNode)d).ToArray()), ["out"] = r.Path,
            ["rows_file"] = r.RowsFile,
            ["data"] = ds.Report?.ToJson(),
        });
        return 0;
    }

    /// <summary>A live progress bar on a terminal, else a line at every tenth of the work (and the last).</summary>
    internal static T WithProgress<T>(string label, Func<long, long, string> describe, Func<Action<long, long>, T> body)
    {
        bool live = !Console.IsErrorRedirected && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;
        if (!live)
        {
            long nextTenth = 1;
            return body((done, total) =>
            {
                if (done * 10 < nextTenth * total && done != total) return;
                nextTenth = done * 10 / Math.Max(1, total) + 1;
                Console.Error.WriteLine($"{label}: {describe(done, total)}");
            });
        }
        T result = default!;
        AnsiConsole.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var t = ctx.AddTask(label);
                result = body((done, total) => { t.MaxValue = total; t.Value = done; });
                t.StopTask();
            });
        return result;
    }
}
