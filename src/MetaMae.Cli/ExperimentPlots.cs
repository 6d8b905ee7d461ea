using MetaMae.Experiments;
using ScottPlot;
using Color = ScottPlot.Color;   // Spectre.Console (a global using of the CLI) has a Color too

namespace MetaMae.Cli;

/// <summary>One PNG per table (ScottPlot): a dot plot of mean ± std per row and column, or accuracy-vs-time lines for
/// efficiency plans. In the CLI, not the library (issue 30): the MetaMae package carries no plotting dependency; a
/// suite run from the library writes its tables, and its pictures when given these (<see cref="Instance"/>).</summary>
public sealed class ExperimentPlots : IExperimentPlots
{
    /// <summary>The plots the CLI's bench-suite and compare draw.</summary>
    public static readonly ExperimentPlots Instance = new();

    void IExperimentPlots.Write(ExperimentPlan plan, IReadOnlyList<CellResult> results, string path) =>
        Write(plan, results, path);

    void IExperimentPlots.WritePairs(ExperimentPlan plan, IReadOnlyList<CellResult> results, string path) =>
        WritePairs(plan, results, path);

    public static void Write(ExperimentPlan plan, IReadOnlyList<CellResult> results, string path)
    {
        var plt = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        string metric = results.Select(r => r.Metric).FirstOrDefault() ?? "test";
        if (plan.Kind == PlanKind.Efficiency)
        {
            int i = 0;
            foreach (var row in plan.Rows)
                foreach (var col in plan.Columns)
                {
                    string legend = plan.Columns.Count > 1 ? $"{row.Label} ({col})" : row.Label;
                    var cells = results.Where(r => r.Row == row.Label && r.Column == col).ToList();
                    if (cells.Count > 0 && cells.All(r => r.Points.Count == 0))
                    {
                        // no curve (raw input, random init): a dashed level across the plot to read the curves against
                        var line = plt.Add.HorizontalLine(cells.Average(r => r.Test));
                        line.LinePattern = LinePattern.Dashed;
                        line.Color = palette.GetColor(i++);
                        line.LegendText = legend;
                        continue;
                    }
                    var pts = plan.EvalSteps.Select(s => cells.SelectMany(r => r.Points.Where(p => p.Step == s)).ToList())
                        .Where(l => l.Count > 0).ToList();
                    if (pts.Count == 0) continue;
                    double[] xs = pts.Select(l => l.Average(p => p.Seconds)).ToArray();
                    double[] ys = pts.Select(l => l.Average(p => p.Test)).ToArray();
                    var color = palette.GetColor(i++);
                    var sc = plt.Add.Scatter(xs, ys);
                    sc.LegendText = legend;
                    sc.Color = color;
                    // ± sample std over seeds at each eval step
                    var eb = plt.Add.ErrorBar(xs, ys, pts.Select(l => ExperimentSuite.MeanStd(l.Select(p => p.Test).ToList()).Std).ToArray());
                    eb.Color = color;
                }
            plt.XLabel("pretraining time (s)");
            plt.YLabel($"test {metric}");
            plt.ShowLegend();
        }
        else
        {
            // one marker per row and column with its ± std bar (a dot plot: the axis fits the values, so rows a few
            // points apart stay apart, which bars from 0 hide); one colour per row (Category20: up to 20 rows)
            var rowPalette = new ScottPlot.Palettes.Category20();
            int nCols = plan.Columns.Count, nRows = plan.Rows.Length;
            double width = 0.8 / nRows;
            for (int ri = 0; ri < nRows; ri++)
            {
                var xs = new List<double>();
                var ys = new List<double>();
                var errs = new List<double>();
                for (int ci = 0; ci < nCols; ci++)
                {
                    var v = results.Where(r => r.Row == plan.Rows[ri].Label && r.Column == plan.Columns[ci])
                        .Select(r => r.Test).ToList();
                    if (v.Count == 0) continue;
                    var (m, sd) = ExperimentSuite.MeanStd(v);
                    xs.Add(ci + (ri - (nRows - 1) / 2.0) * width);
                    ys.Add(m);
                    errs.Add(double.IsFinite(sd) ? sd : 0);
                }
                if (xs.Count == 0) continue;
                var eb = plt.Add.ErrorBar(xs.ToArray(), ys.ToArray(), errs.ToArray());
                eb.Color = rowPalette.GetColor(ri);
                var sc = plt.Add.ScatterPoints(xs.ToArray(), ys.ToArray());
                sc.Color = rowPalette.GetColor(ri);
                sc.MarkerSize = 7;
                sc.LegendText = plan.Rows[ri].Label;
            }
            plt.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
                Enumerable.Range(0, nCols).Select(i => (double)i).ToArray(), plan.Columns.ToArray());
            for (int ci = 1; ci < nCols; ci++)
            {
                var sep = plt.Add.VerticalLine(ci - 0.5);                   // column separators
                sep.Color = Colors.LightGray;
            }
            plt.ShowLegend(Edge.Right);
            plt.YLabel($"test {metric} (mean ± std over seeds)");
        }
        plt.Title(ShortTitle(plan));                                        // the full title heads the .md table
        plt.SavePng(path, 1200, 560);
    }

    /// <summary>The paired differences A - B as a forest plot: one row per pair (labelled on the left, in the plan's
    /// order from the top), one colour per column (dataset) within the row, each a marker at the mean with its 95%
    /// interval; filled where it is significant (<see cref="ExperimentSuite.Significant"/>, or the caller's
    /// <paramref name="filled"/> rule of a pair in a column, said in <paramref name="filledMeans"/>), open where not; 0
    /// dashed.</summary>
    public static void WritePairs(ExperimentPlan plan, IReadOnlyList<CellResult> results, string path,
        Func<PlanPair, string, bool>? filled = null, string filledMeans = "excludes 0, >= 3 seeds")
    {
        var plt = new Plot();
        IPalette palette = plan.Columns.Count <= 10 ? new ScottPlot.Palettes.Category10() : new ScottPlot.Palettes.Category20();
        int nPairs = plan.Pairs.Length, nCols = plan.Columns.Count;
        double band = 0.7 / nCols;                                          // a row's markers share 0.7 of its height
        for (int ci = 0; ci < nCols; ci++)
        {
            var color = palette.GetColor(ci);
            var (xs, ys, lo, hi, significant) = (new List<double>(), new List<double>(), new List<double>(),
                new List<double>(), new List<bool>());
            for (int pi = 0; pi < nPairs; pi++)
                if (ExperimentSuite.PairedDifference(results, plan.Pairs[pi], plan.Columns[ci]) is { N: > 1 } d)
                {
                    xs.Add(d.Mean);
                    ys.Add(nPairs - 1 - pi + ((nCols - 1) / 2.0 - ci) * band);  // first pair and column on top
                    lo.Add(d.Mean - d.Lo);
                    hi.Add(d.Hi - d.Mean);
                    significant.Add(filled?.Invoke(plan.Pairs[pi], plan.Columns[ci]) ?? ExperimentSuite.Significant(d));
                }
            if (xs.Count == 0) continue;
            var eb = plt.Add.ErrorBar(xs.ToArray(), ys.ToArray(), new double[xs.Count]);
            (eb.YErrorNegative, eb.YErrorPositive) = (null, null);
            eb.XErrorNegative = lo.ToArray();
            eb.XErrorPositive = hi.ToArray();
            eb.Color = color;
            foreach (bool full in new[] { true, false })                    // the filled set (maybe empty) has the legend
            {
                var idx = Enumerable.Range(0, xs.Count).Where(i => significant[i] == full).ToArray();
                var sc = plt.Add.ScatterPoints(idx.Select(i => xs[i]).ToArray(), idx.Select(i => ys[i]).ToArray());
                sc.Color = color;
                sc.MarkerShape = full ? MarkerShape.FilledCircle : MarkerShape.OpenCircle;
                sc.MarkerSize = 8;
                sc.MarkerLineWidth = 1.5f;
                if (full) sc.LegendText = plan.Columns[ci];
            }
        }
        var zero = plt.Add.VerticalLine(0);
        zero.LinePattern = LinePattern.Dashed;
        zero.Color = Colors.Gray;
        for (int pi = 1; pi < nPairs; pi++)
        {
            var sep = plt.Add.HorizontalLine(pi - 0.5);                   // row separators
            sep.Color = Colors.LightGray;
        }
        plt.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            Enumerable.Range(0, nPairs).Select(i => (double)(nPairs - 1 - i)).ToArray(),
            plan.Pairs.Select(PairLabel).ToArray());
        plt.Axes.SetLimitsY(-0.6, nPairs - 0.4);
        plt.XLabel($"A - B: test metric, mean over seeds with its 95% interval (filled: {filledMeans})");
        plt.ShowLegend(Edge.Right);
        plt.Title($"{ShortTitle(plan)}: paired differences A - B over seeds");
        plt.SavePng(path, 1400, 140 + nPairs * Math.Max(36, 9 * nCols));
    }

    /// <summary>"A - B" for the plot's left axis; when A and B share their qualifiers after the first comma ("MAE,
    /// token features" - "Random init, token features") they are written once: "MAE - Random init | token features".
    /// </summary>
    public static string PairLabel(PlanPair pair)
    {
        static (string Name, string Qualifiers) Split(string label)
        {
            int i = label.IndexOf(", ", StringComparison.Ordinal);
            return i < 0 ? (label, "") : (label[..i], label[(i + 2)..]);
        }
        var (a, b) = (Split(pair.A), Split(pair.B));
        return a.Qualifiers == b.Qualifiers && a.Qualifiers.Length > 0 ? $"{a.Name} - {b.Name} | {a.Qualifiers}" : $"{pair.A} - {pair.B}";
    }

    /// <summary>The plan's title when short, else its name: a picture's title must fit above the plot.</summary>
    private static string ShortTitle(ExperimentPlan plan) => plan.Title.Length <= 70 ? plan.Title : plan.Name;
}
