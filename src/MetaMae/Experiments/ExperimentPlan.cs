using System.Text.Json.Serialization;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using MetaMae.Data;
using MetaMae.Evaluation;
using MetaMae.Modalities;
using MetaMae.Model;
using MetaMae.Objectives;
using MetaMae.Training;

namespace MetaMae.Experiments;

/// <summary>One row of a plan: an algorithm (or "random-init", or "raw-input": the probe on the input itself) with settings
/// that override the dataset preset.</summary>
public sealed record PlanRow(string Label, string Algo, IReadOnlyDictionary<string, JsonNode?> Settings,
    IReadOnlyDictionary<string, string> Marks);

/// <summary>A paired comparison: row A minus row B per column, over the seeds both have (the campaign's MetaMAE - MAE).</summary>
public sealed record PlanPair(string A, string B);

/// <summary>A transfer column: pretrain on one dataset, probe on another of the same input spec.</summary>
public sealed record PlanTransfer(string Pretrain, string Probe)
{
    public string Column => $"{Pretrain} → {Probe}";
}

/// <summary>What a plan measures (its "kind").</summary>
[JsonConverter(typeof(JsonStringEnumConverter<PlanKind>))]
public enum PlanKind
{
    /// <summary>Paper Table 1: every row on every dataset.</summary>
    [JsonStringEnumMemberName("in-domain")] InDomain,
    /// <summary>Table 2: pretrain on one dataset, probe another (the plan's "transfers").</summary>
    [JsonStringEnumMemberName("transfer")] Transfer,
    /// <summary>Tables 4-6 and 11-15: rows that differ in one setting.</summary>
    [JsonStringEnumMemberName("ablation")] Ablation,
    /// <summary>Figure 2: probe accuracy at each of eval_steps against pretraining time.</summary>
    [JsonStringEnumMemberName("efficiency")] Efficiency,
}

/// <summary>
/// A benchmark plan (JSON): rows (algorithms x settings) x columns (datasets, or transfer pairs)
/// x seeds. Kinds: "in-domain" (paper Table 1), "transfer" (Table 2), "ablation" (Tables 4-6,
/// 11-15), "efficiency" (Figure 2: probe accuracy at each of eval_steps against pretraining time).
/// </summary>
public sealed record ExperimentPlan(string Name, PlanKind Kind, string Title, string Preset, int Steps, long[] Seeds, int ProbeEpochs,
    string[] Datasets, PlanTransfer[] Transfers, PlanRow[] Rows, int[] EvalSteps, string Source)
{
    /// <summary>
    /// Datasets of the user's own (the plan's "data" map, or bench-suite --data): name -> source.
    /// Any other dataset name is a shipped one.
    /// </summary>
    public IReadOnlyDictionary<string, DataSource> OwnData { get; init; } = new Dictionary<string, DataSource>();

    /// <summary>Where the dataset NAME comes from: the user's data of that name, else the shipped dataset.</summary>
    public DataSource SourceOf(string name, string? dataRoot) =>
        OwnData.TryGetValue(name, out var s) ? s : new ShippedSource(name, dataRoot);

    /// <summary>The plan run on one dataset of the user's own instead of its datasets (bench-suite --data).</summary>
    public ExperimentPlan OnOwnData(string name, DataSource source) => Kind == PlanKind.Transfer
        ? throw new ArgumentException($"{Source}: a transfer plan pairs datasets; name your data in its \"data\" map instead of --data")
        : this with { Datasets = [name], OwnData = new Dictionary<string, DataSource> { [name] = source } };

    /// <summary>The plan kinds' names.</summary>
    public static string[] Kinds => EnumNames<PlanKind>.All;

    /// <summary>Rows that pretrain nothing: an untrained encoder, or no encoder at all (the raw input).</summary>
    public static readonly string[] ReferenceAlgos = Algorithms.All.Where(a => a.Create is null).Select(a => a.Name).ToArray();

    /// <summary>The linear probe of every cell ("probe": converged | paper). A plan that gives "probe_epochs" without
    /// "probe" is a paper-protocol plan (the shipped plans made before issue 15 are).</summary>
    public ProbeProtocol Probe { get; init; } = ProbeProtocol.Converged;

    /// <summary>Settings of the probe alone, as the CLI flags of the same name: rows that differ only in these share one
    /// pretraining (that of the row without them).</summary>
    public static readonly string[] ProbeSettingKeys = ["features", "label_fraction"];

    /// <summary>Settings a row may override, as the CLI flags of the same name.</summary>
    public static readonly string[] SettingKeys = [.. RunSettingTable.PlanKeys, "preset", .. ProbeSettingKeys];

    /// <summary>Paired differences to report (plan "pairs": [{"a": ROW, "b": ROW}]).</summary>
    public PlanPair[] Pairs { get; init; } = [];

    /// <summary>Efficiency plans: probes run at every eval step besides the plan's own (plan "also_probe": ["paper"]),
    /// stored per point as "tests" (issue 34: one pretraining, both probes).</summary>
    public ProbeProtocol[] AlsoProbe { get; init; } = [];

    /// <summary>Efficiency plans: keep the checkpoint of every eval step as pretrain/step-N.safetensors (plan
    /// "keep_checkpoints": true; outside git), so a curve can be probed again later.</summary>
    public bool KeepCheckpoints { get; init; }

    /// <summary>The row whose pretraining a row reuses: the first row of the same algorithm and pretraining settings
    /// without probe settings (itself when it has none); where no such row exists, the first row of the same
    /// algorithm and pretraining settings (rows at 10% and 50% of the labels share one pretraining).</summary>
    public PlanRow PretrainingOf(PlanRow row)
    {
        static IEnumerable<(string, string)> Pre(PlanRow r) =>
            r.Settings.Where(kv => !ProbeSettingKeys.Contains(kv.Key)).Select(kv => (kv.Key, kv.Value?.ToJsonString() ?? "null")).Order();
        if (!row.Settings.Keys.Any(ProbeSettingKeys.Contains)) return row;
        var same = Rows.Where(r => r.Algo == row.Algo && Pre(r).SequenceEqual(Pre(row))).ToList();
        return same.FirstOrDefault(r => !r.Settings.Keys.Any(ProbeSettingKeys.Contains)) ?? same.FirstOrDefault() ?? row;
    }

    /// <summary>The probe options of a row's cells: the plan's protocol, the dataset's probe batch, the row's probe settings.</summary>
    public ProbeOptions ProbeOf(PlanRow row, Table8Row preset, long seed) =>
        WithProbeSettings(new ProbeOptions { Protocol = Probe, Epochs = ProbeEpochs, Batch = preset.ProbeBatch, Seed = seed },
            row.Settings, $"{Source}: row '{row.Label}'");

    /// <summary>o with a row's probe settings applied; a bad value is a DataFormatException naming where.</summary>
    private static ProbeOptions WithProbeSettings(ProbeOptions o, IReadOnlyDictionary<string, JsonNode?> settings, string where)
    {
        if (settings.TryGetValue("features", out var f))
            o = o with
            {
                Features = f is JsonValue v && v.TryGetValue<string>(out var t) && FeatureExtraction.Names.Contains(t)
                    ? FeatureExtraction.Parse(t)
                    : throw new DataFormatException(
                        $"{where} setting \"features\" must be one of: {string.Join(", ", FeatureExtraction.Names)}"),
            };
        if (settings.TryGetValue("label_fraction", out var l))
            o = o with
            {
                LabelFraction = l is JsonValue v && v.TryGetValue<double>(out var d) && d > 0 && d <= 1 ? d
                    : throw new DataFormatException($"{where} setting \"label_fraction\" must be a number in (0, 1]"),
            };
        return o;
    }

    public static ExperimentPlan Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"plan file '{path}' does not exist");
        JsonNode? root;
        try { root = JsonNode.Parse(File.ReadAllText(path)); }
        catch (JsonException e) { throw new DataFormatException($"{path}: not valid JSON (line {e.LineNumber + 1}): {e.Message}"); }
        if (root is not JsonObject o) throw new DataFormatException($"{path}: expected a JSON object at the top level");
        string Str(JsonObject obj, string key, string where, string? def = null)
        {
            var n = obj[key];
            if (n is null) return def ?? throw new DataFormatException($"{path}: {where} lacks \"{key}\"");
            try { return n.GetValue<string>(); }
            catch (Exception) { throw new DataFormatException($"{path}: {where} \"{key}\" must be a string"); }
        }
        int Int(string key, int? def = null)
        {
            var n = o[key];
            if (n is null) return def ?? throw new DataFormatException($"{path}: lacks \"{key}\"");
            try { return n.GetValue<int>(); } catch (Exception) { throw new DataFormatException($"{path}: \"{key}\" must be an integer"); }
        }
        JsonArray Arr(string key, bool required)
        {
            var n = o[key];
            if (n is null) return required ? throw new DataFormatException($"{path}: lacks \"{key}\"") : [];
            return n as JsonArray ?? throw new DataFormatException($"{path}: \"{key}\" must be an array");
        }
        var known = new HashSet<string>
        {
            "name", "kind", "title", "preset", "steps", "seeds", "probe_epochs", "datasets", "transfers", "rows",
            "eval_steps", "data", "comment", "probe", "pairs", "also_probe", "keep_checkpoints",
        };
        foreach (var (k, _) in o)
            if (!known.Contains(k))
                throw new DataFormatException($"{path}: unknown key \"{k}\" (expected one of: {string.Join(", ", known)})");

        var name = Str(o, "name", "the plan");
        var kind = Str(o, "kind", "the plan");
        if (!Kinds.Contains(kind))
            throw new DataFormatException($"{path}: \"kind\" is '{kind}', expected one of: {string.Join(", ", Kinds)}");
        var planKind = EnumNames<PlanKind>.Parse(kind, "\"kind\"");
        var preset = Str(o, "preset", "the plan", "tiny");
        ModelConfig.FromPreset(preset);
        var seeds = Arr("seeds", true).Select((n, i) => n is JsonValue v && v.TryGetValue<long>(out var s) ? s
            : throw new DataFormatException($"{path}: seeds[{i}] must be an integer")).ToArray();
        if (seeds.Length == 0) throw new DataFormatException($"{path}: \"seeds\" is empty");
        var datasets = Arr("datasets", planKind != PlanKind.Transfer).Select((n, i) =>
            n is JsonValue v && v.TryGetValue<string>(out var s) ? s
            : throw new DataFormatException($"{path}: datasets[{i}] must be a string")).ToArray();
        var transfers = Arr("transfers", planKind == PlanKind.Transfer).Select((n, i) => n is JsonObject t
            ? new PlanTransfer(Str(t, "pretrain", $"transfers[{i}]"), Str(t, "probe", $"transfers[{i}]"))
            : throw new DataFormatException($"{path}: transfers[{i}] must be an object {{\"pretrain\": ..., \"probe\": ...}}")).ToArray();
        var rows = new List<PlanRow>();
        var rowsArr = Arr("rows", true);
        for (int i = 0; i < rowsArr.Count; i++)
        {
            if (rowsArr[i] is not JsonObject r) throw new DataFormatException($"{path}: rows[{i}] must be an object");
            var algo = Str(r, "algo", $"rows[{i}]");
            if (!Algorithms.All.Any(a => a.Name == algo))
                throw new DataFormatException($"{path}: rows[{i}] algo '{algo}' is unknown " +
                    $"(expected one of: {string.Join(", ", Algorithms.All.Select(a => a.Name))})");
            var settings = new Dictionary<string, JsonNode?>();
            if (r["settings"] is JsonObject so)
                foreach (var (k, v) in so)
                {
                    if (!SettingKeys.Contains(k))
                        throw new DataFormatException($"{path}: rows[{i}] setting \"{k}\" is unknown " +
                            $"(expected one of: {string.Join(", ", SettingKeys)})");
                    settings[k] = v;
                }
            else if (r["settings"] is not null) throw new DataFormatException($"{path}: rows[{i}] \"settings\" must be an object");
            if (settings.TryGetValue("preset", out var mp) && !(mp is JsonValue mv && mv.TryGetValue<string>(out var mps)
                    && ModelConfig.PresetNames.Contains(mps)))
                throw new DataFormatException($"{path}: rows[{i}] setting \"preset\" must be one of: " +
                    string.Join(", ", ModelConfig.PresetNames));
            WithProbeSettings(new ProbeOptions(), settings, $"{path}: rows[{i}]");
            var marks = new Dictionary<string, string>();
            if (r["marks"] is JsonObject mo) foreach (var (k, v) in mo) marks[k] = v?.ToString() ?? "";
            rows.Add(new PlanRow(Str(r, "label", $"rows[{i}]", algo), algo, settings, marks));
        }
        if (rows.Count == 0) throw new DataFormatException($"{path}: \"rows\" is empty");
        // an efficiency plan pretrains to each eval step in turn, which would move a cosine's horizon
        var cos = rows.FirstOrDefault(r => r.Settings.TryGetValue("lr_schedule", out var v) && v?.ToString() == "cosine");
        if (planKind == PlanKind.Efficiency && cos is not null)
            throw new DataFormatException($"{path}: row '{cos.Label}': \"lr_schedule\": \"cosine\" does not fit an " +
                "efficiency plan (its horizon is the step budget, which such a plan raises at each eval step)");
        var dup = rows.GroupBy(r => r.Label).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null) throw new DataFormatException($"{path}: two rows share the label '{dup.Key}'");
        var pairs = Arr("pairs", false).Select((n, i) =>
        {
            if (n is not JsonObject po) throw new DataFormatException($"{path}: pairs[{i}] must be an object {{\"a\": ROW, \"b\": ROW}}");
            foreach (var (pk, _) in po)
                if (pk is not ("a" or "b"))
                    throw new DataFormatException($"{path}: pairs[{i}] has an unknown key \"{pk}\" (expected: a, b)");
            var pair = new PlanPair(Str(po, "a", $"pairs[{i}]"), Str(po, "b", $"pairs[{i}]"));
            foreach (var lbl in new[] { pair.A, pair.B })
                if (rows.All(r => r.Label != lbl))
                    throw new DataFormatException($"{path}: pairs[{i}] names row '{lbl}', which the plan does not have");
            return pair;
        }).ToArray();
        var evalSteps = Arr("eval_steps", planKind == PlanKind.Efficiency).Select((n, i) =>
            n is JsonValue v && v.TryGetValue<int>(out var s) && s > 0 ? s
            : throw new DataFormatException($"{path}: eval_steps[{i}] must be a positive integer")).ToArray();
        int steps = Int("steps");
        if (steps < 1) throw new DataFormatException($"{path}: \"steps\" must be >= 1");
        if (planKind == PlanKind.Efficiency && (evalSteps.Length == 0 || evalSteps.Any(s => s > steps)
                                     || !evalSteps.SequenceEqual(evalSteps.Order().Distinct())))
            throw new DataFormatException($"{path}: \"eval_steps\" must be increasing, distinct and at most \"steps\" ({steps})");
        var own = new Dictionary<string, DataSource>();
        if (o["data"] is JsonObject dataMap)
            foreach (var (dn, dv) in dataMap)
            {
                string where = $"data[\"{dn}\"]";
                if (dv is not JsonObject d)
                    throw new DataFormatException($"{path}: {where} must be an object {{\"path\": ..., \"modality\": ...}}");
                string[] dataKeys = ["path", "modality", "label_column", "split_column", "alphabet", "patch", "length"];
                foreach (var (dk, _) in d)
                    if (!dataKeys.Contains(dk))
                        throw new DataFormatException(
                            $"{path}: {where} has an unknown key \"{dk}\" (expected: {string.Join(", ", dataKeys)})");
                int? OptInt(string key) => d[key] is null ? null
                    : d[key] is JsonValue v && v.TryGetValue<int>(out var x) ? x
                    : throw new DataFormatException($"{path}: {where} \"{key}\" must be an integer");
                var rel = Str(d, "path", where);
                own[dn] = new OwnDataSource(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path)) ?? ".", rel), new ByoOptions
                {
                    Modality = Str(d, "modality", where), LabelColumn = d["label_column"] is null ? null : Str(d, "label_column", where),
                    SplitColumn = Str(d, "split_column", where, "split"),
                    Alphabet = d["alphabet"] is null ? null : Str(d, "alphabet", where),
                    Patch = OptInt("patch"), Length = OptInt("length"),
                });
            }
        else if (o["data"] is not null)
            throw new DataFormatException($"{path}: \"data\" must be an object of name -> {{\"path\", \"modality\"}}");
        ProbeProtocol probe;
        try
        {
            probe = o["probe"] is null ? (o["probe_epochs"] is null ? ProbeProtocol.Converged : ProbeProtocol.Paper)
                : ProbeOptions.Parse(Str(o, "probe", "the plan"), path);
        }
        catch (ArgumentException e) { throw new DataFormatException(e.Message); }
        ProbeProtocol[] also;
        try
        {
            also = Arr("also_probe", false).Select((n, i) => ProbeOptions.Parse(
                n is JsonValue v && v.TryGetValue<string>(out var s) ? s : "", $"{path}: also_probe[{i}]")).ToArray();
        }
        catch (ArgumentException e) { throw new DataFormatException(e.Message); }
        if (also.Length > 0 && planKind != PlanKind.Efficiency)
            throw new DataFormatException($"{path}: \"also_probe\" applies to efficiency plans (a probe per eval step)");
        if (probe == ProbeProtocol.Converged && !also.Contains(ProbeProtocol.Paper) && o["probe_epochs"] is not null)
            throw new DataFormatException($"{path}: \"probe_epochs\" applies to \"probe\": \"paper\" only " +
                "(the converged probe trains to convergence)");
        bool keep = o["keep_checkpoints"] is null ? false
            : o["keep_checkpoints"] is JsonValue kv && kv.TryGetValue<bool>(out var kb) ? kb
            : throw new DataFormatException($"{path}: \"keep_checkpoints\" must be true or false");
        return new ExperimentPlan(name, planKind, Str(o, "title", "the plan", name), preset, steps, seeds,
            Int("probe_epochs", new ProbeOptions().Epochs), datasets, transfers, rows.ToArray(), evalSteps, path)
        { OwnData = own, Probe = probe, Pairs = pairs, AlsoProbe = also.Where(a => a != probe).Distinct().ToArray(),
          KeepCheckpoints = keep };
    }

    /// <summary>Columns of the table: dataset names, or "A → B" for transfer.</summary>
    public IReadOnlyList<string> Columns => Kind == PlanKind.Transfer ? Transfers.Select(t => t.Column).ToList() : Datasets;

    /// <summary>Keeps only the columns that involve the given datasets (the CLI's --datasets filter).</summary>
    public ExperimentPlan Restrict(IReadOnlyCollection<string>? only) => only is null || only.Count == 0 ? this : this with
    {
        Datasets = Datasets.Where(only.Contains).ToArray(),
        Transfers = Transfers.Where(t => only.Contains(t.Pretrain) && only.Contains(t.Probe)).ToArray(),
    };

    /// <summary>The run configuration of one cell: the dataset preset, the algorithm's defaults, then the row's settings.</summary>
    public RunConfig CellConfig(PlanRow row, string dataset, InputSpec spec, Table8Row p, long seed)
    {
        var o = new RunOverrides { Steps = Steps, LogEvery = Math.Max(1, Steps / 10), SaveEvery = Math.Max(1, Steps / 4) };
        foreach (var (k, v) in row.Settings)
            if (RunSettingTable.Find(k) is { InPlans: true } setting)
                o = setting.ReadJson(o, v, $"{Source}: row '{row.Label}' setting \"{k}\"");
        // a row's "preset" (model size) overrides the plan's, so one plan can set model sizes side by side
        var modelPreset = row.Settings.TryGetValue("preset", out var mp) ? mp!.GetValue<string>() : Preset;
        return RunSettings.Resolve(row.Algo, dataset, spec, p, modelPreset, seed, o);
    }

    public static string Slug(string s)
    {
        var chars = s.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) || c == '.' || c == '-' ? c : '_').ToArray();
        return new string(chars).Trim('_');
    }

    internal static string F(double v) => v.ToString("F4", CultureInfo.InvariantCulture);
}
