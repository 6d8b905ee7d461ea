using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;

namespace MetaMae.Experiments;

/// <summary>What a comparison found: scores per features and label fraction, the paired outcomes, and the features to
/// use per fraction (null: no verdict).</summary>
public sealed record ComparisonSummary(ComparisonOptions Options, string Metric, int TestRows,
    IReadOnlyList<FeatureScore> Scores, IReadOnlyList<PairOutcome> Pairs, IReadOnlyDictionary<double, CompareFeatures?> Choice)
{
    /// <summary>Whether the test set alone rules a verdict out (<see cref="Comparison.MinTestRows"/>).</summary>
    public bool TooFewTestRows => TestRows < Comparison.MinTestRows;

    public FeatureScore? Score(CompareFeatures f, double fraction) =>
        Scores.FirstOrDefault(s => s.Features == f && s.Fraction == fraction);
}

/// <summary>The comparison's table (markdown and console share its cells), its JSON and its three sentences: which
/// features to use, by how much, and how sure.</summary>
public static class ComparisonReport
{
    private const string Signed = "+0.0000;-0.0000";
    private const string Signed3 = "+0.000;-0.000";

    private static string S(double v, string format) => v.ToString(format, CultureInfo.InvariantCulture);

    /// <summary>Header and rows of the scores table: features x label fraction, mean ± std over seeds.</summary>
    public static (string[] Header, List<string[]> Rows) ScoreTable(ComparisonSummary s)
    {
        var o = s.Options;
        string[] header =
            ["features", .. o.LabelFractions.Select(f => $"test {s.Metric}, {Comparison.Percent(f)} of the labels")];
        var rows = Enum.GetValues<CompareFeatures>().Select(f => (string[])[Comparison.Name(f),
            .. o.LabelFractions.Select(fr =>
                s.Score(f, fr) is { } x ? ExperimentSuite.MeanCell(x.Mean, x.Std, x.N, o.Seeds.Length) : "-")]).ToList();
        return (header, rows);
    }

    /// <summary>Header and rows of the paired differences: one row per comparison, one column per label fraction.
    /// </summary>
    public static (string[] Header, List<string[]> Rows) PairTable(ComparisonSummary s)
    {
        var o = s.Options;
        string[] header = ["A - B", .. o.LabelFractions.Select(f => $"{Comparison.Percent(f)} of the labels")];
        var rows = Comparison.Pairs.Select(p => (string[])[$"{Comparison.Name(p.A)} - {Comparison.Name(p.B)}",
            .. o.LabelFractions.Select(fr => s.Pairs.FirstOrDefault(x => (x.A, x.B, x.Fraction) == (p.A, p.B, fr))
                is { } d ? Cell(d) : "-")]).ToList();
        return (header, rows);
    }

    /// <summary>"+0.0393 [+0.0120, +0.0667] * (n=3)"; without a verdict the reason instead of the star, and no
    /// interval where fewer than <see cref="Comparison.MinDistinctDifferences"/> distinct differences would make it.
    /// </summary>
    public static string Cell(PairOutcome d)
    {
        if (d.N < 2) return $"{S(d.Mean, Signed)} (n=1)";
        string interval = d.Evidence == Evidence.TooFewDistinctDifferences || d.Distinct < Comparison.MinDistinctDifferences
            ? "" : $" [{S(d.Lo, Signed)}, {S(d.Hi, Signed)}]";
        string why = d.Evidence switch
        {
            Evidence.TooFewTestRows => "; too few test rows: no verdict",
            Evidence.TooFewDistinctDifferences => $"; {d.Distinct} distinct: no interval, no verdict",
            _ => "",
        };
        return $"{S(d.Mean, Signed)}{interval}{(d.Decisive ? " *" : "")} (n={d.N}{why})";
    }

    private static string Phrase(CompareFeatures f) => f switch
    {
        CompareFeatures.RawInput => "the raw input (no encoder)",
        CompareFeatures.RandomInit => "an untrained encoder's features (random init)",
        CompareFeatures.Mae => "the MAE encoder's features",
        _ => "the MetaMAE encoder's features",
    };

    private static string Fractions(IEnumerable<double> fs)
    {
        var l = fs.Select(Comparison.Percent).ToList();
        return (l.Count == 1 ? l[0] : $"{string.Join(", ", l[..^1])} and {l[^1]}") + " of the labels";
    }

    /// <summary>A - B with its interval where it may carry a verdict: "+0.039 [+0.012, +0.067]".</summary>
    private static string Diff(ComparisonSummary s, CompareFeatures a, CompareFeatures b, double fr)
    {
        var d = s.Pairs.FirstOrDefault(p => (p.A, p.B, p.Fraction) == (a, b, fr));
        var r = d is null ? s.Pairs.FirstOrDefault(p => (p.A, p.B, p.Fraction) == (b, a, fr)) : null;
        if (d is null && r is null) return "?";
        var (m, lo, hi, evidence) = d is not null ? (d.Mean, d.Lo, d.Hi, d.Evidence) : (-r!.Mean, -r.Hi, -r.Lo, r.Evidence);
        return evidence != Evidence.Enough ? S(m, Signed3) : $"{S(m, Signed3)} [{S(lo, Signed3)}, {S(hi, Signed3)}]";
    }

    /// <summary>Three plain sentences: which features to use on this data, by how much, and how sure.</summary>
    public static string[] Sentences(ComparisonSummary s)
    {
        var o = s.Options;
        int seeds = o.Seeds.Length;
        if (s.TooFewTestRows)
        {
            var best = o.LabelFractions.Select(fr => s.Scores.Where(x => x.Fraction == fr).MaxBy(x => x.Mean))
                .OfType<FeatureScore>().ToList();
            return
            [
                $"{o.Dataset} is too small for a verdict on which features to use: its {s.TestRows} test rows are fewer " +
                $"than the {Comparison.MinTestRows} a verdict needs, and one row moves the test {s.Metric} by " +
                $"{S(1.0 / Math.Max(1, s.TestRows), "0.000")}.",
                "The highest means were " + string.Join("; ", best.Select(b =>
                    $"{Named(b.Features)} with {Comparison.Percent(b.Fraction)} of the labels " +
                    $"({S(b.Mean, "0.000")}, {Diff(s, b.Features, CompareFeatures.RawInput, b.Fraction)} over the raw " +
                    "input)")) + ", differences of a few test rows.",
                $"Not sure at all: the intervals over {seeds} seed{(seeds == 1 ? "" : "s")} say nothing about which " +
                $"{s.TestRows} rows the test set drew; compare again on data with at least {Comparison.MinTestRows} " +
                $"test rows and {Comparison.MinDistinctDifferences} or more seeds.",
            ];
        }
        var chosen = o.LabelFractions.GroupBy(fr => s.Choice[fr]).ToList();
        var which = chosen.Select(g => g.Key is { } c ? $"use {Phrase(c)} with {Fractions(g)}"
            : $"there is no verdict with {Fractions(g)}");
        string first = $"On {o.Dataset}, {string.Join("; ", which)}.";

        var much = new List<string>();
        var sure = new List<(double Fraction, string Clause)>();
        foreach (var fr in o.LabelFractions)
        {
            var at = s.Scores.Where(x => x.Fraction == fr).OrderByDescending(x => x.Mean).ToList();
            if (at.Count == 0) continue;
            var (top, runner) = (at[0], at.Count > 1 ? at[1] : null);
            string pct = $"with {Comparison.Percent(fr)} of the labels";
            if (s.Choice[fr] is { } c && c != top.Features)
                much.Add($"{pct} {Named(c)} scores {S(s.Score(c, fr)!.Mean, "0.000")} and {Named(top.Features)} " +
                    $"{S(top.Mean, "0.000")}, {Diff(s, top.Features, c, fr)} over it: not a difference to pay for");
            else
                much.Add($"{pct} {Named(top.Features)} leads at {S(top.Mean, "0.000")}" + (runner is null ? "" :
                    $", {Diff(s, top.Features, runner.Features, fr)} over {Named(runner.Features)}") +
                    (top.Features != CompareFeatures.RawInput && runner?.Features != CompareFeatures.RawInput
                        ? $" and {Diff(s, top.Features, CompareFeatures.RawInput, fr)} over the raw input" : ""));
            var beaten = s.Pairs.Where(p => p.Fraction == fr && p.Decisive)
                .Select(p => p.Mean > 0 ? (W: p.A, L: p.B) : (W: p.B, L: p.A)).Where(x => x.W == s.Choice[fr]).ToList();
            sure.Add((fr, s.Choice[fr] switch
            {
                null => $"too few distinct paired differences for a verdict (at least {Comparison.MinDistinctDifferences}" +
                        (seeds < Comparison.MinDistinctDifferences
                            ? $" are needed: run {Comparison.MinDistinctDifferences} or more seeds)"
                            : "; seeds that differ by the same test rows: more seeds or more test rows would " +
                              "separate them)"),
                CompareFeatures.RawInput when s.Pairs.Count(p => p.Fraction == fr && p.B == CompareFeatures.RawInput
                        && p.Decisive && p.Mean < 0) == 3 => "all three encoders score below the raw input with 95% " +
                        "intervals below 0, so pretraining did not pay at this budget",
                CompareFeatures.RawInput => "no encoder beats the raw input with a 95% interval above 0, so pretraining " +
                        "did not pay at this budget",
                { } k when beaten.Count == 0 => $"{Named(k)} is not beaten with a 95% interval above 0, nor does it " +
                        "beat the cheaper features with one",
                { } k => $"{Named(k)} beats {string.Join(" and ", beaten.Select(b => Named(b.L)))} with 95% intervals " +
                        "above 0",
            }));
        }
        var sureText = sure.GroupBy(x => x.Clause).Select(g => $"with {Fractions(g.Select(x => x.Fraction))} {g.Key}");
        static string Cap(string t) => t.Length == 0 ? t : char.ToUpperInvariant(t[0]) + t[1..];
        return
        [
            first,
            Cap(string.Join("; ", much)) + $" (test {s.Metric}, mean of {seeds} seed{(seeds == 1 ? "" : "s")}; " +
            "differences paired by seed with 95% intervals).",
            Cap(string.Join("; ", sureText)) + $"; the intervals cover the {seeds} seeds (initialisation, masks, " +
            $"batches, label subset), not which {s.TestRows} rows the test set drew.",
        ];
    }

    /// <summary>The features' name inside a sentence.</summary>
    private static string Named(CompareFeatures f) => f switch
    {
        CompareFeatures.RawInput => "the raw input",
        CompareFeatures.RandomInit => "random init",
        _ => Comparison.Name(f),
    };

    /// <summary>The markdown: what ran, the scores, the paired differences, the three sentences.</summary>
    public static string Markdown(ComparisonSummary s, string command, string recipe)
    {
        var o = s.Options;
        var sb = new StringBuilder();
        sb.AppendLine($"# Does pretraining pay on {o.Dataset}?").AppendLine();
        sb.AppendLine($"Made by `{command}`: {recipe}; seeds {string.Join(", ", o.Seeds)}; the " +
            $"{Evaluation.ProbeOptions.Name(o.Probe)} linear probe on mean features; " +
            $"{s.TestRows} test rows; written {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC on a " +
            $"{Environment.ProcessorCount}-core " +
            "machine. Mean ± sample std over seeds; per-seed cells in compare.md and cells/.").AppendLine();
        void Table((string[] Header, List<string[]> Rows) t)
        {
            sb.AppendLine("| " + string.Join(" | ", t.Header) + " |")
                .AppendLine("|" + string.Concat(Enumerable.Repeat("---|", t.Header.Length)));
            foreach (var r in t.Rows) sb.AppendLine("| " + string.Join(" | ", r) + " |");
        }
        Table(ScoreTable(s));
        sb.AppendLine().AppendLine("Paired differences A - B (per seed, over the seeds both have): mean [95% interval, " +
            "Student t]; * marks a verdict: the interval excludes 0, with at least " +
            $"{Comparison.MinTestRows} test rows and " +
            $"{Comparison.MinDistinctDifferences} distinct differences (forest plot: compare-pairs.png).").AppendLine();
        Table(PairTable(s));
        sb.AppendLine().AppendLine("**Verdict.** " + string.Join(" ", Sentences(s)));
        return sb.ToString();
    }

    /// <summary>The results JSON: settings, rows (encoder as in `run --json`'s rows: mae, metamae, random_init,
    /// raw_input), pairs, the choice per label fraction (encoder null: no verdict) and the sentences.</summary>
    public static JsonObject Json(ComparisonSummary s, string recipe)
    {
        var o = s.Options;
        static JsonNode? Num(double v) => double.IsFinite(v) ? v : null;
        return new JsonObject
        {
            ["dataset"] = o.Dataset, ["metric"] = s.Metric, ["test_rows"] = s.TestRows, ["preset"] = o.Preset,
            ["steps"] = o.Steps, ["seeds"] = new JsonArray(o.Seeds.Select(x => (JsonNode)x).ToArray()),
            ["label_fractions"] = new JsonArray(o.LabelFractions.Select(x => (JsonNode)x).ToArray()),
            ["probe"] = Evaluation.ProbeOptions.Name(o.Probe), ["recipe"] = recipe,
            ["too_small"] = s.TooFewTestRows,
            ["rows"] = new JsonArray(s.Scores.Select(x => (JsonNode)new JsonObject
            {
                ["encoder"] = Comparison.Key(x.Features), ["label_fraction"] = x.Fraction, ["test_mean"] = x.Mean,
                ["test_std"] = x.Std, ["seeds"] = x.N,
            }).ToArray()),
            ["pairs"] = new JsonArray(s.Pairs.Select(p => (JsonNode)new JsonObject
            {
                ["a"] = Comparison.Key(p.A), ["b"] = Comparison.Key(p.B), ["label_fraction"] = p.Fraction, ["mean"] = p.Mean,
                ["lo"] = Num(p.Lo), ["hi"] = Num(p.Hi), ["seeds"] = p.N, ["distinct_differences"] = p.Distinct,
                ["evidence"] = p.Evidence switch
                {
                    Evidence.Enough => "enough", Evidence.TooFewTestRows => "too_few_test_rows",
                    _ => "too_few_distinct_differences",
                },
                ["verdict"] = p.Decisive,
            }).ToArray()),
            ["choice"] = new JsonArray(o.LabelFractions.Select(fr => (JsonNode)new JsonObject
            {
                ["label_fraction"] = fr, ["encoder"] = s.Choice[fr] is { } c ? Comparison.Key(c) : null,
            }).ToArray()),
            ["sentences"] = new JsonArray(Sentences(s).Select(x => (JsonNode)x).ToArray()),
        };
    }
}
