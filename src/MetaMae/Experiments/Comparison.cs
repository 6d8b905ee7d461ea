using System.Globalization;
using System.Text.Json.Nodes;
using MetaMae.Data;
using MetaMae.Evaluation;
using MetaMae.Objectives;

namespace MetaMae.Experiments;

/// <summary>The features `metamae compare` weighs, cheapest first.</summary>
public enum CompareFeatures { RawInput, RandomInit, Mae, MetaMae }

/// <summary>Whether a paired difference may carry a verdict (<see cref="Comparison.EvidenceOf"/>).</summary>
public enum Evidence { Enough, TooFewTestRows, TooFewDistinctDifferences }

/// <summary>What a comparison runs: one dataset (the column name), the model preset, pretraining steps, seeds,
/// label fractions and the probe.</summary>
public sealed record ComparisonOptions
{
    public required string Dataset { get; init; }
    public string Preset { get; init; } = CpuRecipe.Preset;
    public int Steps { get; init; } = CpuRecipe.Steps;
    public long[] Seeds { get; init; } = [0, 1, 2];
    public double[] LabelFractions { get; init; } = [0.1, 1];
    public ProbeProtocol Probe { get; init; } = ProbeProtocol.Converged;
    public int ProbeEpochs { get; init; } = new ProbeOptions().Epochs;
}

/// <summary>One row of the comparison's table: features at a label fraction, mean and sample std over seeds.</summary>
public sealed record FeatureScore(CompareFeatures Features, double Fraction, double Mean, double Std, int N);

/// <summary>A paired difference A - B at a label fraction over seeds: mean, 95% Student-t interval, seeds, distinct
/// differences among them and whether they may carry a verdict.</summary>
public sealed record PairOutcome(CompareFeatures A, CompareFeatures B, double Fraction, double Mean, double Lo, double Hi,
    int N, int Distinct, Evidence Evidence)
{
    /// <summary>A verdict: enough evidence and the suite's significance (interval excludes 0, >= 3 seeds).</summary>
    public bool Decisive => Evidence == Evidence.Enough && ExperimentSuite.Significant((Mean, Lo, Hi, N));
}

/// <summary>
/// `metamae compare`: raw input, random init, MAE and MetaMAE at the CPU recipe on one dataset, over seeds and label
/// fractions, as an <see cref="ExperimentPlan"/> run by <see cref="ExperimentSuite"/>; then paired intervals, the
/// rule for when data are too small for a verdict, and which features to use.
/// </summary>
public static class Comparison
{
    /// <summary>The plan's name: the suite writes OUT/compare.md, compare.png and compare-pairs.png (the forest plot).
    /// </summary>
    public const string PlanName = "compare";

    /// <summary>Fewest test rows for a verdict: below 100 one test row moves an accuracy by more than 0.01, the size
    /// of the effects a comparison looks for (README: +0.01 to +0.04 where pretraining pays), and the seeds' intervals
    /// know nothing of which rows the test set happened to draw.</summary>
    public const int MinTestRows = 100;

    /// <summary>Fewest distinct per-seed differences for a verdict: fewer (2 seeds, or seeds that differ by the same
    /// one or two test rows) give a t interval resting on one or two values.</summary>
    public const int MinDistinctDifferences = 3;

    /// <summary>The comparisons reported at each label fraction: each encoder minus the raw input and minus random
    /// init, MetaMAE minus MAE, and random init minus the raw input (every pair of the four, so the choice below
    /// can rank them).</summary>
    public static readonly (CompareFeatures A, CompareFeatures B)[] Pairs =
    [
        (CompareFeatures.Mae, CompareFeatures.RawInput), (CompareFeatures.Mae, CompareFeatures.RandomInit),
        (CompareFeatures.MetaMae, CompareFeatures.RawInput), (CompareFeatures.MetaMae, CompareFeatures.RandomInit),
        (CompareFeatures.MetaMae, CompareFeatures.Mae), (CompareFeatures.RandomInit, CompareFeatures.RawInput),
    ];

    /// <summary>The one rule for a verdict: at least <see cref="MinTestRows"/> test rows and at least
    /// <see cref="MinDistinctDifferences"/> distinct per-seed differences (equal up to 1e-9).</summary>
    public static Evidence EvidenceOf(int testRows, IReadOnlyList<double> differences)
    {
        if (testRows < MinTestRows) return Evidence.TooFewTestRows;
        int distinct = Distinct(differences);
        return distinct < MinDistinctDifferences ? Evidence.TooFewDistinctDifferences : Evidence.Enough;
    }

    /// <summary>Values that differ by more than 1e-9 (0.93 - 0.91 and 0.90 - 0.88 differ in the 17th digit).</summary>
    public static int Distinct(IReadOnlyList<double> values) =>
        values.Select(v => Math.Round(v * 1e9)).Distinct().Count();

    /// <summary>The name in JSON: the algorithm's name, random_init or raw_input (as `run --json` rows).</summary>
    public static string Key(CompareFeatures f) => f switch
    {
        CompareFeatures.RawInput => Algorithms.RawInputRow,
        CompareFeatures.RandomInit => Algorithms.RandomInitRow,
        CompareFeatures.Mae => Algorithms.Mae,
        _ => Algorithms.MetaMae,
    };

    /// <summary>The name in tables.</summary>
    public static string Name(CompareFeatures f) => f switch
    {
        CompareFeatures.RawInput => "Raw input",
        CompareFeatures.RandomInit => "Random init",
        CompareFeatures.Mae => "MAE",
        _ => "MetaMAE",
    };

    public static string AlgoOf(CompareFeatures f) => f switch
    {
        CompareFeatures.RawInput => Algorithms.RawInput,
        CompareFeatures.RandomInit => Algorithms.RandomInit,
        CompareFeatures.Mae => Algorithms.Mae,
        _ => Algorithms.MetaMae,
    };

    /// <summary>"10%", "100%", "12.5%".</summary>
    public static string Percent(double fraction) => fraction.ToString("0.###%", CultureInfo.InvariantCulture);

    /// <summary>A row's label: "MAE, 10% labels" (the suite's pair plot writes "MAE - Raw input | 10% labels").</summary>
    public static string Label(CompareFeatures f, double fraction) => $"{Name(f)}, {Percent(fraction)} labels";

    /// <summary>The plan: one row per features and label fraction (MAE and MetaMAE at the recipe; rows at other
    /// fractions share their pretraining), the pairs above per fraction, the data from source.</summary>
    public static ExperimentPlan Plan(ComparisonOptions o, DataSource source, int trainCount)
    {
        if (o.Seeds.Length == 0) throw new ArgumentException("--seeds must be >= 1");
        if (o.Steps < 1) throw new ArgumentException($"--steps must be >= 1 (got {o.Steps})");
        var rows = new List<PlanRow>();
        foreach (var f in Enum.GetValues<CompareFeatures>())
            foreach (var fr in o.LabelFractions)
            {
                var settings = f is CompareFeatures.Mae or CompareFeatures.MetaMae
                    ? CpuRecipe.Settings(AlgoOf(f), o.Steps, trainCount)
                    : new Dictionary<string, JsonNode?>();
                if (fr < 1) settings["label_fraction"] = fr;
                rows.Add(new PlanRow(Label(f, fr), AlgoOf(f), settings, new Dictionary<string, string>()));
            }
        var pairs = o.LabelFractions.SelectMany(fr => Pairs.Select(p => new PlanPair(Label(p.A, fr), Label(p.B, fr))));
        return new ExperimentPlan(PlanName, PlanKind.InDomain,
            $"Does pretraining pay on {o.Dataset}? (metamae compare)",
            o.Preset, o.Steps, o.Seeds, o.ProbeEpochs, [o.Dataset], [], rows.ToArray(), [], $"compare on {o.Dataset}")
        {
            OwnData = new Dictionary<string, DataSource> { [o.Dataset] = source },
            Probe = o.Probe,
            Pairs = pairs.ToArray(),
        };
    }

    /// <summary>Scores, paired outcomes and the choice of features per label fraction from the cells' results.
    /// </summary>
    public static ComparisonSummary Summarise(ComparisonOptions o, IReadOnlyList<CellResult> results, int testRows)
    {
        var scores = new List<FeatureScore>();
        foreach (var f in Enum.GetValues<CompareFeatures>())
            foreach (var fr in o.LabelFractions)
            {
                var v = results.Where(r => r.Row == Label(f, fr) && r.Column == o.Dataset).Select(r => r.Test).ToList();
                if (v.Count == 0) continue;
                var (m, sd) = ExperimentSuite.MeanStd(v);
                scores.Add(new FeatureScore(f, fr, m, sd, v.Count));
            }
        var pairs = new List<PairOutcome>();
        foreach (var fr in o.LabelFractions)
            foreach (var (a, b) in Pairs)
            {
                var pair = new PlanPair(Label(a, fr), Label(b, fr));
                var diffs = ExperimentSuite.PairedDifferences(results, pair, o.Dataset);
                if (ExperimentSuite.PairedDifference(results, pair, o.Dataset) is not { } d) continue;
                pairs.Add(new PairOutcome(a, b, fr, d.Mean, d.Lo, d.Hi, d.N, Distinct(diffs), EvidenceOf(testRows, diffs)));
            }
        var choice = o.LabelFractions.ToDictionary(fr => fr, fr =>
            Choose(pairs.Where(p => p.Fraction == fr).ToList(), scores.Where(s => s.Fraction == fr).ToList()));
        string metric = results.Select(r => r.Metric).FirstOrDefault() ?? "accuracy";
        return new ComparisonSummary(o, metric, testRows, scores, pairs, choice);
    }

    /// <summary>The features to use at one label fraction: the cheapest that no other beats decisively; null (no
    /// verdict) unless each comparison of it with the other three has enough evidence (<see cref="EvidenceOf"/>).
    /// </summary>
    public static CompareFeatures? Choose(IReadOnlyList<PairOutcome> pairs, IReadOnlyList<FeatureScore> scores)
    {
        PairOutcome? Between(CompareFeatures x, CompareFeatures y) =>
            pairs.FirstOrDefault(p => (p.A, p.B) == (x, y) || (p.A, p.B) == (y, x));
        bool Beats(CompareFeatures x, CompareFeatures y) => Between(x, y) is { Decisive: true } p
            && (p.A == x ? p.Mean > 0 : p.Mean < 0);
        var all = Enum.GetValues<CompareFeatures>();
        if (all.Any(f => scores.All(s => s.Features != f))) return null;           // a row not run yet
        var c = all.First(c => all.All(x => x == c || !Beats(x, c)));             // the best mean is never beaten
        return all.All(x => x == c || Between(x, c) is { Evidence: Evidence.Enough }) ? c : null;
    }

    /// <summary>--budget: "90s", "30m", "2h", "1h30m" (a number and a unit, s m or h, one or more times).</summary>
    public static TimeSpan ParseBudget(string text)
    {
        var m = System.Text.RegularExpressions.Regex.Match(text.Trim(), @"^(?:(\d+(?:\.\d+)?)([smh]))+$");
        if (!m.Success)
            throw new ArgumentException($"--budget must be a duration such as 90s, 30m, 2h or 1h30m (got '{text}')");
        double seconds = 0;
        for (int i = 0; i < m.Groups[1].Captures.Count; i++)
            seconds += double.Parse(m.Groups[1].Captures[i].Value, CultureInfo.InvariantCulture)
                * m.Groups[2].Captures[i].Value switch { "h" => 3600, "m" => 60, _ => 1 };
        if (seconds <= 0) throw new ArgumentException($"--budget must be above 0 (got '{text}')");
        return TimeSpan.FromSeconds(seconds);
    }
}
