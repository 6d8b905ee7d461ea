using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using MetaMae.Data;
using MetaMae.Evaluation;
using MetaMae.Objectives;
using MetaMae.Training;
using static TorchSharp.torch;
using MetaMae.IO;

namespace MetaMae.Experiments;

/// <summary>Outcome of one cell (row x column x seed); for efficiency cells, one point per eval step. Probe is the
/// protocol (cells written before issue 15 lack it: paper); ProbeNote its regularisation.</summary>
public sealed record CellResult(string Row, string Column, long Seed, string Metric, double Test, double Validation,
    double PretrainSeconds, IReadOnlyList<(int Step, double Seconds, double Test)> Points, bool Skipped,
    ProbeProtocol Probe = ProbeProtocol.Paper, string ProbeNote = "");

/// <summary>
/// Runs a <see cref="ExperimentPlan"/>: each cell (row x column x seed) is one pretrain + probe in
/// OUT/cells/ROW/COLUMN/sSEED/ with its log (log.txt), metrics.csv (metrics.csv.gz once the cell is finished),
/// config.json and result.json.
/// A cell with a result.json is skipped (an efficiency cell whose plan now has later eval steps continues from its
/// checkpoint to reach them); a cell killed mid-pretraining resumes from its
/// checkpoint (exactly, see Pretrainer). Then OUT/NAME.md (mean ± sample std over seeds) and, given plots,
/// OUT/NAME.png.
/// </summary>
/// <summary>Pictures of a suite's tables (the CLI's ScottPlot plots; the library itself draws nothing).</summary>
public interface IExperimentPlots
{
    /// <summary>The plan's table as a picture at path (PNG).</summary>
    void Write(ExperimentPlan plan, IReadOnlyList<CellResult> results, string path);
    /// <summary>The plan's paired differences as a picture at path (PNG).</summary>
    void WritePairs(ExperimentPlan plan, IReadOnlyList<CellResult> results, string path);
}

public static class ExperimentSuite
{
    /// <summary>Runs plan's cells into outDir (see the class); progress gets a line per cell, command heads the tables.
    /// With renderOnly nothing runs: the tables and plot are written from the cells already done (a campaign that
    /// spans sessions shows what it has so far; the cells not yet run are listed and left out). cellSeconds: a prior
    /// estimate of a cell's seconds (row, seed) for the ETA of the progress lines until a cell of the row has run
    /// (then its measured time); without one, the mean of the cells run so far.</summary>
    public static IReadOnlyList<CellResult> Run(ExperimentPlan plan, string outDir, string? dataRoot = null, TextWriter? progress = null,
        string command = "", CancellationToken cancel = default, bool renderOnly = false,
        Func<PlanRow, long, double?>? cellSeconds = null, IExperimentPlots? plots = null)
    {
        // every dataset the plan names must be the user's (the plan's "data") or shipped, and transfer pairs must share an input spec
        var names = plan.Datasets.Concat(plan.Transfers.SelectMany(t => new[] { t.Pretrain, t.Probe })).Distinct().ToList();
        if (plan.Columns.Count == 0) throw new ArgumentException($"{plan.Source}: no columns left to run (check --datasets)");
        foreach (var n in names)
            if (!plan.OwnData.ContainsKey(n) && Catalog.Entries.All(e => e.Name != n))
                throw new ArgumentException($"{plan.Source}: dataset '{n}' is not in the catalog (shipped: " +
                    $"{string.Join(", ", Catalog.Entries.Select(e => e.Name))}) nor in the plan's \"data\"; " +
                    "restrict the plan with --datasets");
        var loaded = names.ToDictionary(n => n, n => plan.SourceOf(n, dataRoot).Load());
        var data = loaded.ToDictionary(kv => kv.Key, kv => kv.Value.Data);
        var presets = loaded.ToDictionary(kv => kv.Key, kv => kv.Value.Preset);
        foreach (var t in plan.Transfers)
            if (data[t.Pretrain].Spec != data[t.Probe].Spec)
                throw new ArgumentException($"{plan.Source}: transfer {t.Column}: input specs differ " +
                    $"('{data[t.Pretrain].Spec.Describe()}' vs '{data[t.Probe].Spec.Describe()}')");

        var results = new List<CellResult>();
        int total = plan.Rows.Length * plan.Columns.Count * plan.Seeds.Length, k = 0;
        var eta = new CellEta(plan, outDir, cellSeconds);
        foreach (var row in plan.Rows)
            for (int c = 0; c < plan.Columns.Count; c++)
                foreach (var seed in plan.Seeds)
                {
                    cancel.ThrowIfCancellationRequested();
                    k++;
                    string pre = plan.Kind == PlanKind.Transfer ? plan.Transfers[c].Pretrain : plan.Datasets[c];
                    string probe = plan.Kind == PlanKind.Transfer ? plan.Transfers[c].Probe : plan.Datasets[c];
                    var dir = CellDir(plan, outDir, row, c, seed);
                    // transfer columns that pretrain on the same dataset share one pretraining per row and seed
                    // and rows that differ only in probe settings share the pretraining of the row without them
                    var pretrainDir = plan.Kind == PlanKind.Transfer
                        ? Path.Combine(outDir, "pretrained", ExperimentPlan.Slug(row.Label), ExperimentPlan.Slug(pre), $"s{seed}")
                        : Path.Combine(outDir, "cells", ExperimentPlan.Slug(plan.PretrainingOf(row).Label),
                            ExperimentPlan.Slug(plan.Columns[c]), $"s{seed}", "pretrain");
                    if (renderOnly)                                        // reads finished cells, runs none
                    {
                        var path = Path.Combine(dir, "result.json");
                        var done = File.Exists(path) ? Read(path, true) : null;
                        string? why = done is null ? "not run yet"
                            : done.Probe != plan.Probe
                                ? $"probed with the {ProbeOptions.Name(done.Probe)} probe, not the plan's"
                            : null;
                        string added = why is null ? AddSettings(path, plan, row, loaded[pre], loaded[probe], seed) : "";
                        progress?.WriteLine($"[{k}/{total}] {row.Label} | {plan.Columns[c]} | seed {seed}: " +
                            (why ?? $"done: test {done!.Metric} {ExperimentPlan.F(done.Test)}{added}"));
                        if (why is null) results.Add(done!);
                        continue;
                    }
                    var clock = System.Diagnostics.Stopwatch.StartNew();
                    var r = RunCell(plan, row, plan.Columns[c], loaded[pre], loaded[probe], seed, dir, pretrainDir, cancel);
                    if (!r.Skipped) eta.Ran(row, clock.Elapsed.TotalSeconds);
                    progress?.WriteLine($"[{k}/{total}] {row.Label} | {plan.Columns[c]} | seed {seed}: " +
                        $"{(r.Skipped ? "done before, skipped" : $"ran in {Duration(clock.Elapsed)}")}: " +
                        $"test {r.Metric} {ExperimentPlan.F(r.Test)}{eta.Line(k)}");
                    results.Add(r);
                }
        if (renderOnly && plan.Kind != PlanKind.Transfer)             // only the rows and datasets that have a finished cell
        {
            var rows = plan.Rows.Where(r => results.Any(x => x.Row == r.Label)).ToArray();
            plan = plan with
            {
                Rows = rows,
                Datasets = plan.Datasets.Where(d => results.Any(x => x.Column == d)).ToArray(),
                Pairs = plan.Pairs.Where(pp => rows.Any(r => r.Label == pp.A) && rows.Any(r => r.Label == pp.B)).ToArray(),
            };
            if (results.Count == 0) throw new InvalidOperationException($"{outDir}: no finished cells to render");
        }
        WriteTables(plan, results, outDir, command, renderOnly, plots);
        return results;
    }

    /// <summary>OUT/cells/ROW/COLUMN/sSEED: the folder of one cell (its result.json marks it done).</summary>
    public static string CellDir(ExperimentPlan plan, string outDir, PlanRow row, int column, long seed) =>
        Path.Combine(outDir, "cells", ExperimentPlan.Slug(row.Label), ExperimentPlan.Slug(plan.Columns[column]),
            $"s{seed}");

    /// <summary>"42 s", "5m10s", "1h02m": a duration for progress lines (the CLI's pretraining progress uses it too).
    /// </summary>
    public static string Duration(TimeSpan t) => t.TotalHours >= 1 ? $"{(int)t.TotalHours}h{t.Minutes:D2}m"
        : t.TotalMinutes >= 1 ? $"{t.Minutes}m{t.Seconds:D2}s" : $"{Math.Max(0, t.TotalSeconds):F0} s";

    /// <summary>The ETA over a suite's cells: the time of the cells left to run (those without a result.json), each at
    /// the mean time its row's cells took so far, else the prior estimate, else the mean of every cell run so far.
    /// </summary>
    private sealed class CellEta(ExperimentPlan plan, string outDir, Func<PlanRow, long, double?>? prior)
    {
        private readonly System.Diagnostics.Stopwatch clock = System.Diagnostics.Stopwatch.StartNew();
        private readonly Dictionary<string, List<double>> byRow = [];
        private readonly List<(PlanRow Row, int Column, long Seed)> cells =
            [.. plan.Rows.SelectMany(r => Enumerable.Range(0, plan.Columns.Count)
                .SelectMany(c => plan.Seeds.Select(s => (r, c, s))))];

        public void Ran(PlanRow row, double seconds)
        {
            if (!byRow.TryGetValue(row.Label, out var l)) byRow[row.Label] = l = [];
            l.Add(seconds);
        }

        /// <summary>"; 3m10s so far, about 5m20s left" after the k-th cell (1-based); "" while nothing is known.</summary>
        public string Line(int k)
        {
            var all = byRow.Values.SelectMany(v => v).ToList();
            double left = 0;
            foreach (var (row, c, seed) in cells.Skip(k))
            {
                if (File.Exists(Path.Combine(CellDir(plan, outDir, row, c, seed), "result.json"))) continue;
                double? est = byRow.TryGetValue(row.Label, out var l) ? l.Average()
                    : prior?.Invoke(row, seed) ?? (all.Count > 0 ? all.Average() : null);
                if (est is not double e) return "";
                left += e;
            }
            return $"; {Duration(clock.Elapsed)} so far, about {Duration(TimeSpan.FromSeconds(left))} left";
        }
    }

    private sealed class FileMonitor(TextWriter log) : ITrainingMonitor
    {
        public void OnStart(RunConfig config, int startStep, string message)
        {
            log.WriteLine($"pretrain {config.Algo} on {config.Dataset}: {message}");
            log.Flush();
        }
        public void OnStep(StepReport r)
        {
            log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"step {r.Step}/{r.TotalSteps} loss {r.Loss:F5} " +
                $"recon {r.Reconstruction:F5}{(double.IsNaN(r.Contrast) ? "" : $" contrast {r.Contrast:F5}")} " +
                $"{r.StepsPerSecond:F2} steps/s"));   // MAE has no contrast term: nothing, rather than a NaN that reads as a fault
            log.Flush();
        }
        public void OnCheckpoint(int step, string path) { log.WriteLine($"checkpoint at step {step}"); log.Flush(); }
    }

    private static CellResult RunCell(ExperimentPlan plan, PlanRow row, string column, (Dataset Data, Table8Row Preset) preSource,
        (Dataset Data, Table8Row Preset) probeSource, long seed, string dir, string pretrainDir, CancellationToken cancel)
    {
        var (pre, probeDs) = (preSource.Data, probeSource.Data);
        var resultPath = Path.Combine(dir, "result.json");
        string? stale = null;
        if (File.Exists(resultPath))
        {
            var done = Read(resultPath, true);
            // an efficiency plan whose eval steps now reach further continues the cell from its checkpoint; the old
            // result.json stays until the longer one replaces it, so a kill meanwhile loses nothing
            // (rows without a curve, raw input and random init, have no eval steps to extend)
            var extended = plan.Kind == PlanKind.Efficiency && Algorithms.Trainable.Contains(row.Algo)
                && plan.EvalSteps.Any(s => done.Points.All(p => p.Step != s));
            if (done.Probe == plan.Probe && !extended)
            {
                AddSettings(resultPath, plan, row, preSource, probeSource, seed);
                return done;
            }
            if (done.Probe != plan.Probe)
            {
                // probed with another protocol: keep that result beside (result-PROBE.json) and probe again (a kept
                // checkpoint is reused)
                stale = Path.Combine(dir, $"result-{ProbeOptions.Name(done.Probe)}.json");
                File.Move(resultPath, stale, overwrite: true);
            }
        }
        Directory.CreateDirectory(dir);
        var cfg = plan.CellConfig(row, pre.Name, pre.Spec, preSource.Preset, seed);
        var probeOpts = plan.ProbeOf(row, probeSource.Preset, seed);
        using var log = new StreamWriter(Path.Combine(dir, "log.txt"), append: true);
        log.WriteLine($"cell: row '{row.Label}', column '{column}', seed {seed}; " +
            $"{DateTime.UtcNow:yyyy-MM-dd HH:mm:ss} UTC; config {cfg.ToJson()}");
        if (stale is not null)
            log.WriteLine($"the plan's probe is {ProbeOptions.Name(plan.Probe)}: the earlier result is kept as " +
                $"{Path.GetFileName(stale)}, probing again");
        var points = new List<(int, double, double)>();
        var alsoByStep = new Dictionary<int, JsonObject>();                     // step -> other probes (also_probe)
        ProbeResult probe;
        double seconds = 0;
        if (row.Algo == Algorithms.RawInput)
            probe = RawInputProbe.Run(probeDs, probeOpts);
        else if (row.Algo == Algorithms.RandomInit)
        {
            using var model = Pretrainer.CreateModel(cfg, CPU);
            probe = LinearProbe.Run(model, probeDs, probeOpts);
        }
        else if (plan.Kind == PlanKind.Efficiency)
        {
            // pretrain to each eval step in turn (a resume continues exactly), probing the encoder at each
            var pointsPath = Path.Combine(dir, "points.json");
            var also = alsoByStep;
            if (File.Exists(pointsPath))
                foreach (var p in JsonNode.Parse(File.ReadAllText(pointsPath))!.AsArray())
                {
                    points.Add(((int)p!["step"]!, (double)p["seconds"]!, (double)p["test"]!));
                    if (p["tests"] is JsonObject t) also[(int)p["step"]!] = (JsonObject)t.DeepClone();
                }
            seconds = points.Count > 0 ? points[^1].Item2 : 0;
            var missing = plan.EvalSteps.Where(s => points.All(p => p.Item1 != s)).ToList();
            if (points.Count > 0 && missing.Count > 0)
            {
                int last = points[^1].Item1;
                if (missing[0] < last)
                    throw new DataFormatException($"{plan.Source}: eval step {missing[0]} lies before step {last}, which " +
                        $"{dir} has already trained to; a cell's curve can only be extended (add eval steps after its last " +
                        "one, or use another --out)");
                log.WriteLine($"eval steps to reach: {string.Join(", ", missing)} " +
                    $"(done before: {string.Join(", ", points.Select(p => p.Item1))})");
            }
            probe = null!;
            foreach (var s in missing)
            {
                var r = Pretrainer.Run(pre.Train.X, cfg with { Train = cfg.Train with { Steps = s } },
                    Path.Combine(dir, "pretrain"), resume: true, monitor: new FileMonitor(log), cancel: cancel);
                seconds += r.Seconds;
                probe = LinearProbe.Run(r.Model, probeDs, probeOpts);
                var others = new JsonObject();
                foreach (var kind in plan.AlsoProbe)
                {
                    var e = LinearProbe.Run(r.Model, probeDs, probeOpts with { Protocol = kind });
                    others[ProbeOptions.Name(kind)] = new JsonObject
                    {
                        ["test"] = e.Test, ["validation"] = e.Validation, ["probe_detail"] = e.Describe(),
                        ["probe_protocol"] = e.Record?.ToJson(),
                    };
                    log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"eval at step {s}, {ProbeOptions.Name(kind)} probe: test {e.Metric} {e.Test:F4}, {e.Describe()}"));
                }
                r.Model.Dispose();
                if (plan.AlsoProbe.Length > 0) also[s] = others;
                if (plan.KeepCheckpoints)
                    AtomicFile.Copy(Path.Combine(dir, "pretrain", Checkpoint.FileName),
                        Path.Combine(dir, "pretrain", $"step-{s}.safetensors"));
                points.Add((s, seconds, probe.Test));
                log.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"eval at step {s}: {seconds:F1} s of pretraining, test {probe.Metric} {probe.Test:F4}"));
                log.Flush();
                AtomicFile.WriteText(pointsPath, PointsJson(points, also).ToJsonString() + "\n");
            }
            probe ??= LinearProbe.Run(Checkpoint.LoadModel(Path.Combine(dir, "pretrain", Checkpoint.FileName)), probeDs, probeOpts);
        }
        else
        {
            var r = Pretrainer.Run(pre.Train.X, cfg, pretrainDir, resume: true, monitor: new FileMonitor(log), cancel: cancel);
            // seconds of pretraining, summed over the sittings that trained; a finished (shared) pretraining that
            // trains no step leaves the file as it is, so a committed count never changes when another row reuses it
            var secondsPath = Path.Combine(pretrainDir, "seconds.txt");
            double before = 0;
            bool counted = File.Exists(secondsPath);
            if (counted && !double.TryParse(File.ReadAllText(secondsPath), NumberStyles.Float,
                    CultureInfo.InvariantCulture, out before))
                throw new DataFormatException($"{secondsPath}: expected the pretraining seconds as one number " +
                    "(delete the file to restart the count)");
            bool trained = r.StartStep < r.Steps;
            seconds = trained ? before + r.Seconds : before;
            if (trained || !counted)
                AtomicFile.WriteText(secondsPath, seconds.ToString("R", CultureInfo.InvariantCulture));
            if (pretrainDir != Path.Combine(dir, "pretrain"))
                log.WriteLine($"pretraining in {Path.GetRelativePath(dir, pretrainDir)} (" + (plan.Kind == PlanKind.Transfer
                    ? $"shared by the transfer columns that pretrain on {pre.Name})"
                    : $"shared: this row differs from '{plan.PretrainingOf(row).Label}' in its probe only)"));
            probe = LinearProbe.Run(r.Model, probeDs, probeOpts);
            r.Model.Dispose();
        }
        log.WriteLine(string.Create(CultureInfo.InvariantCulture, $"probe on {probeDs.Name}: test {probe.Metric} " +
            $"{probe.Test:F4}, validation {probe.Validation:F4}, {probe.Describe()}"));
        // the cell's probe row (ProbeRow, the record of every result file) flat and in "rows", the row's settings as
        // the plan gave them: scripts read these, not the folder names
        var probeRow = ProbeRow.Of(row.Algo, probe);
        var json = new JsonObject { ["row"] = row.Label, ["column"] = column, ["seed"] = seed, ["algo"] = row.Algo };
        probeRow.AddFlat(json);
        json["probe_detail"] = probe.Describe();
        json["settings"] = SettingsJson(row);
        json["pretrain_seconds"] = seconds;
        json["points"] = PointsJson(points, alsoByStep);
        json["config"] = JsonNode.Parse(cfg.ToJson());
        json["rows"] = new JsonArray(probeRow.ToJson());
        AtomicFile.WriteText(resultPath, json.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        // the finished cell's per-step log is kept compressed (a run that goes on from it reads it back)
        foreach (var d in new[] { pretrainDir, Path.Combine(dir, "pretrain") }.Distinct())
            MetricsCsvMonitor.Compress(Path.Combine(d, "metrics.csv"));
        return Read(resultPath, false);
    }

    /// <summary>A cell finished before result files carried their row's settings (issue 30) gets them when a run or
    /// --render passes it, from the plan, when the plan's row still builds the configuration the cell stored (so the settings are the
    /// ones it ran with); the figures are left as they are. Returns what the progress line should add.</summary>
    private static string AddSettings(string path, ExperimentPlan plan, PlanRow row, (Dataset Data, Table8Row Preset) pre,
        (Dataset Data, Table8Row Preset) probe, long seed)
    {
        var o = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        if (o.ContainsKey("settings")) return "";
        var cfg = plan.CellConfig(row, pre.Data.Name, pre.Data.Spec, pre.Preset, seed);
        // the fields the cell stored must be what the plan builds now (fields added since, absent there, are not compared)
        if (o["config"] is not JsonObject stored
            || !SameStoredFields(stored, JsonNode.Parse(RunConfig.FromJson(stored.ToJsonString(), path).ToJson())!,
                JsonNode.Parse(cfg.ToJson())!))
            return "; its row's settings not added (the plan's row no longer builds the configuration it ran with)";
        var probeOpts = plan.ProbeOf(row, probe.Preset, seed);
        o["settings"] = SettingsJson(row);
        o["features"] ??= row.Algo == Algorithms.RawInput ? RawInputProbe.FeatureName
            : FeatureExtraction.Name(probeOpts.Features);
        o["label_fraction"] ??= probeOpts.LabelFraction;
        AtomicFile.WriteText(path, o.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        return "; its row's settings added from the plan";
    }

    /// <summary>A row's settings as the plan gave them, the "settings" of its cells' result.json.</summary>
    private static JsonObject SettingsJson(PlanRow row) =>
        new(row.Settings.Select(kv => KeyValuePair.Create(kv.Key, kv.Value?.DeepClone())));

    /// <summary>Whether a and b (the stored configuration as loaded now, and the plan's) agree on every field that
    /// stored names.</summary>
    private static bool SameStoredFields(JsonNode? stored, JsonNode? a, JsonNode? b) => stored is JsonObject o
        ? a is JsonObject x && b is JsonObject y
          && o.All(kv => x.ContainsKey(kv.Key) && y.ContainsKey(kv.Key) && SameStoredFields(kv.Value, x[kv.Key], y[kv.Key]))
        : JsonNode.DeepEquals(a, b);

    /// <summary>A curve's points: step, seconds, test of the plan's probe, and "tests" of the other probes.</summary>
    private static JsonArray PointsJson(List<(int, double, double)> points, Dictionary<int, JsonObject> also) =>
        new(points.Select(p =>
        {
            var o = new JsonObject { ["step"] = p.Item1, ["seconds"] = p.Item2, ["test"] = p.Item3 };
            if (also.TryGetValue(p.Item1, out var t)) o["tests"] = t.DeepClone();
            return (JsonNode)o;
        }).ToArray());

    private static CellResult Read(string path, bool skipped)
    {
        var o = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        var pts = o["points"]?.AsArray().Select(p => ((int)p!["step"]!, (double)p["seconds"]!, (double)p["test"]!)).ToList() ?? [];
        var probe = o["probe"] is JsonNode p ? ProbeOptions.Parse((string)p!, $"{path}: \"probe\"") : ProbeProtocol.Paper;
        var note = probe == ProbeProtocol.Paper
            ? $"epoch {(int)o["best_epoch"]!}" + (o["probe_converged"] is JsonNode c && !(bool)c ? " (not converged)" : "")
            : string.Create(CultureInfo.InvariantCulture, $"L2 {(double)o["regularization"]!:0.#e+0}")
              + ((bool)o["probe_converged"]! ? "" : " (iteration cap)");
        return new CellResult((string)o["row"]!, (string)o["column"]!, (long)o["seed"]!, (string)o["metric"]!, (double)o["test"]!,
            (double)o["validation"]!, (double)o["pretrain_seconds"]!, pts, skipped, probe, note);
    }

    /// <summary>"mean ± std" over seeds; a single seed has no spread to show, so its value alone, marked (n=1); fewer
    /// seeds than the plan's (a campaign still running) are marked (n=k).</summary>
    internal static string MeanCell(double mean, double std, int n, int planned = 0) =>
        n > 1 ? $"{ExperimentPlan.F(mean)} ± {ExperimentPlan.F(std)}{(n < planned ? $" (n={n})" : "")}"
              : $"{ExperimentPlan.F(mean)} (n=1)";

    /// <summary>Mean and sample standard deviation (0 for one value).</summary>
    public static (double Mean, double Std) MeanStd(IReadOnlyList<double> v)
    {
        double m = v.Average();
        double s = v.Count > 1 ? Math.Sqrt(v.Sum(x => (x - m) * (x - m)) / (v.Count - 1)) : 0;
        return (m, s);
    }

    private static void WriteTables(ExperimentPlan plan, IReadOnlyList<CellResult> results, string outDir, string command,
        bool renderOnly, IExperimentPlots? plots)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"# {plan.Title}").AppendLine();
        var probeText = plan.Probe == ProbeProtocol.Paper
            ? $"the paper's linear probe ({plan.ProbeEpochs} epochs of Adam 1e-4, best validation epoch)"
            : "the converged linear probe (L-BFGS logistic / closed-form ridge regression, L2 chosen on validation, " +
              "refit on train + validation)";
        // a --render pass made only these files: the figures come from the cells the same command ran without it
        string made = renderOnly
            ? $"Cells run by `{command.Replace(" --render", "")}`, tables rendered from them by `{command}`"
            : $"Made by `{command}`";
        sb.AppendLine($"{made} (plan `{plan.Source}`), seeds {string.Join(", ", plan.Seeds)}, " +
                      $"preset {plan.Preset}, {plan.Steps} pretraining steps, {probeText}; " +
                      $"written {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC on {Environment.ProcessorCount}-core " +
                      $"{Environment.OSVersion.Platform} " +
                      $"({System.Runtime.InteropServices.RuntimeInformation.OSDescription.Trim()}). " +
                      "Each cell: mean ± sample std over seeds of the test metric " +
                      $"({string.Join(", ", results.Select(r => r.Metric).Distinct())}); logs under cells/. " +
                      "Per seed, the probe column gives the chosen L2 strength (converged probe) " +
                      "or the best epoch (paper probe).")
            .AppendLine();
        var marks = plan.Rows.SelectMany(r => r.Marks.Keys).Distinct().ToList();
        if (plan.Kind == PlanKind.Efficiency)
        {
            sb.AppendLine("| method | dataset | step | pretraining seconds (mean) | test (mean ± std) |")
                .AppendLine("|---|---|---|---|---|");
            foreach (var row in plan.Rows)
                foreach (var col in plan.Columns)
                {
                    // a row with no curve (raw input, random init): one line, the reference the curves are read against
                    var flat = results.Where(r => r.Row == row.Label && r.Column == col && r.Points.Count == 0).ToList();
                    if (flat.Count > 0)
                    {
                        var (fm, fsd) = MeanStd(flat.Select(r => r.Test).ToList());
                        sb.AppendLine($"| {row.Label} | {col} | - | 0 | {MeanCell(fm, fsd, flat.Count, plan.Seeds.Length)} |");
                    }
                    foreach (var s in plan.EvalSteps)
                    {
                        var pts = results.Where(r => r.Row == row.Label && r.Column == col)
                            .SelectMany(r => r.Points.Where(p => p.Step == s)).ToList();
                        if (pts.Count == 0) continue;
                        var (m, sd) = MeanStd(pts.Select(p => p.Test).ToList());
                        sb.AppendLine($"| {row.Label} | {col} | {s} | {pts.Average(p => p.Seconds):F1} | {MeanCell(m, sd, pts.Count, plan.Seeds.Length)} |");
                    }
                }
        }
        else
        {
            sb.Append("| method |");
            foreach (var mk in marks) sb.Append($" {mk} |");
            foreach (var col in plan.Columns) sb.Append($" {col} |");
            sb.AppendLine().Append("|---|").Append(string.Concat(Enumerable.Repeat("---|", marks.Count + plan.Columns.Count))).AppendLine();
            foreach (var row in plan.Rows)
            {
                sb.Append($"| {row.Label} |");
                foreach (var mk in marks) sb.Append($" {row.Marks.GetValueOrDefault(mk, "")} |");
                foreach (var col in plan.Columns)
                {
                    var v = results.Where(r => r.Row == row.Label && r.Column == col).Select(r => r.Test).ToList();
                    if (v.Count == 0) { sb.Append(" - |"); continue; }                 // not run yet (--render)
                    var (m, sd) = MeanStd(v);
                    sb.Append($" {MeanCell(m, sd, v.Count, plan.Seeds.Length)} |");
                }
                sb.AppendLine();
            }
        }
        if (plan.Pairs.Length > 0)
        {
            sb.AppendLine().AppendLine("Paired differences (A - B, per seed, over the seeds both rows have): " +
                "mean [95% interval, Student t over seeds]; an interval that excludes 0 is marked * when it rests on at " +
                $"least {MinSeedsForStar} seeds that do not all differ by the same amount (then the t interval has no " +
                "width and says nothing).").AppendLine();
            sb.Append("| A - B |").Append(string.Concat(plan.Columns.Select(c => $" {c} |"))).AppendLine()
                .Append("|---|").Append(string.Concat(Enumerable.Repeat("---|", plan.Columns.Count))).AppendLine();
            foreach (var pair in plan.Pairs)
            {
                sb.Append($"| {pair.A} - {pair.B} |");
                foreach (var col in plan.Columns)
                {
                    var d = PairedDifference(results, pair, col);
                    const string signed = "+0.0000;-0.0000";
                    sb.Append(d is not { } x ? " - |" : x.N < 2 ? $" {ExperimentPlan.F(x.Mean)} (n=1) |"
                        : NoWidth(x) ? $" {x.Mean.ToString(signed, CultureInfo.InvariantCulture)} (the same on all " +
                          $"{x.N} seeds: no interval) |"
                        : $" {x.Mean.ToString(signed, CultureInfo.InvariantCulture)} " +
                          $"[{x.Lo.ToString(signed, CultureInfo.InvariantCulture)}, " +
                          $"{x.Hi.ToString(signed, CultureInfo.InvariantCulture)}]"
                          + $"{(Significant(x) ? " *" : "")} (n={x.N}) |");
                }
                sb.AppendLine();
            }
        }
        sb.AppendLine().AppendLine("Per seed:").AppendLine()
            .AppendLine("| method | column | seed | test | validation | probe | pretraining s |")
            .AppendLine("|---|---|---|---|---|---|---|");
        foreach (var r in results)
            sb.AppendLine($"| {r.Row} | {r.Column} | {r.Seed} | {ExperimentPlan.F(r.Test)} | " +
                $"{ExperimentPlan.F(r.Validation)} | {r.ProbeNote} | {r.PretrainSeconds:F1} |");
        AtomicFile.WriteText(Path.Combine(outDir, plan.Name + ".md"), sb.ToString());
        plots?.Write(plan, results, Path.Combine(outDir, plan.Name + ".png"));
        if (plan.Pairs.Length > 0) plots?.WritePairs(plan, results, Path.Combine(outDir, plan.Name + "-pairs.png"));
    }

    /// <summary>The fewest seeds whose paired interval may be called significant: two seeds give a t interval with one
    /// degree of freedom, whose width rests on a single difference of differences.</summary>
    public const int MinSeedsForStar = 3;

    /// <summary>Whether a paired difference is marked significant (* in tables, filled in plots): its 95% interval
    /// excludes 0, it has at least <see cref="MinSeedsForStar"/> seeds, and the seeds do not all differ by the same
    /// amount. Identical differences (common on small test sets, where a metric moves in steps of one row) give a
    /// zero-width t interval, which is an artefact of the assumption of continuous differences, not certainty.</summary>
    public static bool Significant((double Mean, double Lo, double Hi, int N) d) =>
        d.N >= MinSeedsForStar && !NoWidth(d) && (d.Lo > 0 || d.Hi < 0);

    /// <summary>Whether the seeds' differences are all equal up to rounding (0.93 - 0.91 and 0.90 - 0.88 differ in the
    /// 17th digit), so the t interval has no width.</summary>
    public static bool NoWidth((double Mean, double Lo, double Hi, int N) d) => d.Hi - d.Lo < 1e-9;

    /// <summary>Paired difference of rows A - B in a column over their common seeds: mean, 95% Student-t interval, count.</summary>
    public static (double Mean, double Lo, double Hi, int N)? PairedDifference(IReadOnlyList<CellResult> results, PlanPair pair,
        string column)
    {
        var d = PairedDifferences(results, pair, column);
        if (d.Count == 0) return null;
        var (m, sd) = MeanStd(d);
        if (d.Count < 2) return (m, double.NaN, double.NaN, 1);
        double half = MathNet.Numerics.Distributions.StudentT.InvCDF(0, 1, d.Count - 1, 0.975) * sd / Math.Sqrt(d.Count);
        return (m, m - half, m + half, d.Count);
    }

    /// <summary>The per-seed differences A - B in a column, over the seeds both rows have (in A's seed order).</summary>
    public static IReadOnlyList<double> PairedDifferences(IReadOnlyList<CellResult> results, PlanPair pair, string column)
    {
        var a = results.Where(r => r.Row == pair.A && r.Column == column).ToDictionary(r => r.Seed, r => r.Test);
        return results.Where(r => r.Row == pair.B && r.Column == column && a.ContainsKey(r.Seed))
            .Select(r => a[r.Seed] - r.Test).ToList();
    }
}
