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
                 { CheckpointOpt, DatasetOpt, DataDir, DabsRoot, MaxPerSplit, Threads, DeviceOpt, PrecisionOpt, Json })
            c.Add(o);
        foreach (var o in DataOptions) c.Add(o);
        foreach (var o in ByoTableOptions) c.Add(o);
        foreach (var o in new Option[] { EmbedOut, EmbedSplit, FeaturesOpt, EmbedBatch }) c.Add(o);
        c.SetAction(p =>
        {
            var device = Setup(p);
            var ckpt = p.GetValue(CheckpointOpt) ?? throw new ArgumentException("embed needs --checkpoint FILE " +
                "(written by pretrain or run)");
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
