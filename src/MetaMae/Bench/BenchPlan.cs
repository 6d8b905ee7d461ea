using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using MetaMae.Data;
using MetaMae.Evaluation;
using MetaMae.Modalities;
using MetaMae.Model;
using MetaMae.Objectives;
using MetaMae.Training;

namespace MetaMae.Bench;

/// <summary>One row of a plan: an algorithm (or "random-init", or "raw-input": the probe on the input itself) with settings
/// that override the dataset preset.</summary>
public sealed record PlanRow(string Label, string Algo, IReadOnlyDictionary<string, JsonNode?> Settings, IReadOnlyDictionary<string, string> Marks);

/// <summary>A transfer column: pretrain on one dataset, probe on another of the same input spec.</summary>
public sealed record PlanTransfer(string Pretrain, string Probe)
{
    public string Column => $"{Pretrain} → {Probe}";
}

/// <summary>
/// A benchmark plan (JSON): rows (algorithms x settings) x columns (datasets, or transfer pairs)
/// x seeds. Kinds: "in-domain" (paper Table 1), "transfer" (Table 2), "ablation" (Tables 4-6,
/// 11-15), "efficiency" (Figure 2: probe accuracy at each of eval_steps against pretraining time).
/// </summary>
public sealed record BenchPlan(string Name, string Kind, string Title, string Preset, int Steps, long[] Seeds, int ProbeEpochs,
    string[] Datasets, PlanTransfer[] Transfers, PlanRow[] Rows, int[] EvalSteps, string Source)
{
    public static readonly string[] Kinds = ["in-domain", "transfer", "ablation", "efficiency"];

    /// <summary>Rows that pretrain nothing: an untrained encoder, or no encoder at all (the raw input).</summary>
    public static readonly string[] ReferenceAlgos = ["random-init", "raw-input"];

    /// <summary>The linear probe of every cell ("probe": converged | paper). A plan that gives "probe_epochs" without
    /// "probe" is a paper-protocol plan (the shipped plans made before issue 15 are).</summary>
    public ProbeProtocol Probe { get; init; } = ProbeProtocol.Converged;

    /// <summary>Settings a row may override, as the CLI flags of the same name.</summary>
    public static readonly string[] SettingKeys =
        ["decoder_depth", "dropout", "alpha", "lambda", "r", "inner_steps", "first_order", "mask_ratio", "temperature", "lr", "batch"];

    public static BenchPlan Load(string path)
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
            try { return n.GetValue<string>(); } catch (Exception) { throw new DataFormatException($"{path}: {where} \"{key}\" must be a string"); }
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
        var known = new HashSet<string> { "name", "kind", "title", "preset", "steps", "seeds", "probe_epochs", "datasets", "transfers", "rows", "eval_steps", "comment", "probe" };
        foreach (var (k, _) in o) if (!known.Contains(k)) throw new DataFormatException($"{path}: unknown key \"{k}\" (expected one of: {string.Join(", ", known)})");

        var name = Str(o, "name", "the plan");
        var kind = Str(o, "kind", "the plan");
        if (!Kinds.Contains(kind)) throw new DataFormatException($"{path}: \"kind\" is '{kind}', expected one of: {string.Join(", ", Kinds)}");
        var preset = Str(o, "preset", "the plan", "tiny");
        ModelConfig.FromPreset(preset);
        var seeds = Arr("seeds", true).Select((n, i) => n is JsonValue v && v.TryGetValue<long>(out var s) ? s : throw new DataFormatException($"{path}: seeds[{i}] must be an integer")).ToArray();
        if (seeds.Length == 0) throw new DataFormatException($"{path}: \"seeds\" is empty");
        var datasets = Arr("datasets", kind != "transfer").Select((n, i) => n is JsonValue v && v.TryGetValue<string>(out var s) ? s : throw new DataFormatException($"{path}: datasets[{i}] must be a string")).ToArray();
        var transfers = Arr("transfers", kind == "transfer").Select((n, i) => n is JsonObject t
            ? new PlanTransfer(Str(t, "pretrain", $"transfers[{i}]"), Str(t, "probe", $"transfers[{i}]"))
            : throw new DataFormatException($"{path}: transfers[{i}] must be an object {{\"pretrain\": ..., \"probe\": ...}}")).ToArray();
        var rows = new List<PlanRow>();
        var rowsArr = Arr("rows", true);
        for (int i = 0; i < rowsArr.Count; i++)
        {
            if (rowsArr[i] is not JsonObject r) throw new DataFormatException($"{path}: rows[{i}] must be an object");
            var algo = Str(r, "algo", $"rows[{i}]");
            if (!ReferenceAlgos.Contains(algo) && !Baselines.AllAlgorithms.Contains(algo))
                throw new DataFormatException($"{path}: rows[{i}] algo '{algo}' is unknown (expected random-init, raw-input or one of: {string.Join(", ", Baselines.AllAlgorithms)})");
            var settings = new Dictionary<string, JsonNode?>();
            if (r["settings"] is JsonObject so)
                foreach (var (k, v) in so)
                {
                    if (!SettingKeys.Contains(k)) throw new DataFormatException($"{path}: rows[{i}] setting \"{k}\" is unknown (expected one of: {string.Join(", ", SettingKeys)})");
                    settings[k] = v;
                }
            else if (r["settings"] is not null) throw new DataFormatException($"{path}: rows[{i}] \"settings\" must be an object");
            var marks = new Dictionary<string, string>();
            if (r["marks"] is JsonObject mo) foreach (var (k, v) in mo) marks[k] = v?.ToString() ?? "";
            rows.Add(new PlanRow(Str(r, "label", $"rows[{i}]", algo), algo, settings, marks));
        }
        if (rows.Count == 0) throw new DataFormatException($"{path}: \"rows\" is empty");
        var dup = rows.GroupBy(r => r.Label).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null) throw new DataFormatException($"{path}: two rows share the label '{dup.Key}'");
        var evalSteps = Arr("eval_steps", kind == "efficiency").Select((n, i) => n is JsonValue v && v.TryGetValue<int>(out var s) && s > 0 ? s : throw new DataFormatException($"{path}: eval_steps[{i}] must be a positive integer")).ToArray();
        int steps = Int("steps");
        if (steps < 1) throw new DataFormatException($"{path}: \"steps\" must be >= 1");
        if (kind == "efficiency" && (evalSteps.Length == 0 || evalSteps.Any(s => s > steps) || !evalSteps.SequenceEqual(evalSteps.Order().Distinct())))
            throw new DataFormatException($"{path}: \"eval_steps\" must be increasing, distinct and at most \"steps\" ({steps})");
        ProbeProtocol probe;
        try { probe = o["probe"] is null ? (o["probe_epochs"] is null ? ProbeProtocol.Converged : ProbeProtocol.Paper) : ProbeOptions.Parse(Str(o, "probe", "the plan"), path); }
        catch (ArgumentException e) { throw new DataFormatException(e.Message); }
        if (probe == ProbeProtocol.Converged && o["probe_epochs"] is not null)
            throw new DataFormatException($"{path}: \"probe_epochs\" applies to \"probe\": \"paper\" only (the converged probe trains to convergence)");
        return new BenchPlan(name, kind, Str(o, "title", "the plan", name), preset, steps, seeds, Int("probe_epochs", 100), datasets, transfers,
            rows.ToArray(), evalSteps, path) { Probe = probe };
    }

    /// <summary>Columns of the table: dataset names, or "A → B" for transfer.</summary>
    public IReadOnlyList<string> Columns => Kind == "transfer" ? Transfers.Select(t => t.Column).ToList() : Datasets;

    /// <summary>Keeps only the columns that involve the given datasets (the CLI's --datasets filter).</summary>
    public BenchPlan Restrict(IReadOnlyCollection<string>? only) => only is null || only.Count == 0 ? this : this with
    {
        Datasets = Datasets.Where(only.Contains).ToArray(),
        Transfers = Transfers.Where(t => only.Contains(t.Pretrain) && only.Contains(t.Probe)).ToArray(),
    };

    /// <summary>The run configuration of one cell: the dataset preset, the algorithm's defaults, then the row's settings.</summary>
    public RunConfig CellConfig(PlanRow row, string dataset, InputSpec spec, long seed)
    {
        var entry = Catalog.Get(dataset);
        var p = entry.Preset;
        var algo = ReferenceAlgos.Contains(row.Algo) ? "metamae" : row.Algo;
        var model = p.Apply(ModelConfig.FromPreset(Preset));
        var obj = p.Objective(algo == "metamae");
        if (Baselines.Algorithms.Contains(algo))
        {
            var (mask, tau) = Baselines.Defaults(algo);
            obj = obj with { MaskRatio = mask, Temperature = tau, Lambda = 0 };
        }
        var train = new TrainOptions { Steps = Steps, Batch = p.Batch, Seed = seed, LogEvery = Math.Max(1, Steps / 10), SaveEvery = Math.Max(1, Steps / 4) };
        foreach (var (k, v) in row.Settings)
        {
            string where = $"{Source}: row '{row.Label}' setting \"{k}\"";
            double D() => v is JsonValue jv && jv.TryGetValue<double>(out var d) ? d : throw new DataFormatException($"{where} must be a number");
            int I() => v is JsonValue jv && jv.TryGetValue<int>(out var d) ? d : throw new DataFormatException($"{where} must be an integer");
            switch (k)
            {
                case "decoder_depth": model = model with { DecDepth = I() }; break;
                case "dropout": model = model with { Dropout = D() }; break;
                case "alpha": obj = obj with { Alpha = D() }; break;
                case "lambda": obj = obj with { Lambda = D() }; break;
                case "r": obj = obj with { NearbyRatio = D() }; break;
                case "inner_steps": obj = obj with { InnerSteps = I() }; break;
                case "first_order": obj = obj with { SecondOrder = !(v is JsonValue b && b.TryGetValue<bool>(out var fo) ? fo : throw new DataFormatException($"{where} must be true or false")) }; break;
                case "mask_ratio": obj = obj with { MaskRatio = D() }; break;
                case "temperature": obj = obj with { Temperature = D() }; break;
                case "lr": train = train with { Lr = D() }; break;
                case "batch": train = train with { Batch = I() }; break;
            }
        }
        if (algo != "metamae") obj = obj with { Lambda = 0, Adapt = false };
        return new RunConfig(row.Algo, dataset, spec, model, obj, train);
    }

    internal static string Slug(string s)
    {
        var chars = s.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) || c == '.' || c == '-' ? c : '_').ToArray();
        return new string(chars).Trim('_');
    }

    internal static string F(double v) => v.ToString("F4", CultureInfo.InvariantCulture);
}
