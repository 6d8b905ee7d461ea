using ScottPlot;

namespace MetaMae.Experiments;

/// <summary>One PNG per table (ScottPlot): grouped bars with ± std error bars, or accuracy-vs-time lines for efficiency.</summary>
public static class ExperimentPlots
{
    public static void Write(ExperimentPlan plan, IReadOnlyList<CellResult> results, string path)
    {
        var plt = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        string metric = results.Select(r => r.Metric).FirstOrDefault() ?? "test";
        if (plan.Kind == "efficiency")
        {
            int i = 0;
            foreach (var row in plan.Rows)
                foreach (var col in plan.Columns)
                {
                    var pts = plan.EvalSteps.Select(s => results.Where(r => r.Row == row.Label && r.Column == col)
                        .SelectMany(r => r.Points.Where(p => p.Step == s)).ToList()).Where(l => l.Count > 0).ToList();
                    if (pts.Count == 0) continue;
                    var sc = plt.Add.Scatter(pts.Select(l => l.Average(p => p.Seconds)).ToArray(),
                        pts.Select(l => l.Average(p => p.Test)).ToArray());
                    sc.LegendText = plan.Columns.Count > 1 ? $"{row.Label} ({col})" : row.Label;
                    sc.Color = palette.GetColor(i++);
                }
            plt.XLabel("pretraining time (s)");
            plt.YLabel($"test {metric}");
            plt.ShowLegend();
        }
        else
        {
            int nCols = plan.Columns.Count, nRows = plan.Rows.Length;
            double width = 0.8 / nRows;
            var bars = new List<Bar>();
            for (int ri = 0; ri < nRows; ri++)
                for (int ci = 0; ci < nCols; ci++)
                {
                    var v = results.Where(r => r.Row == plan.Rows[ri].Label && r.Column == plan.Columns[ci]).Select(r => r.Test).ToList();
                    if (v.Count == 0) continue;
                    var (m, sd) = ExperimentSuite.MeanStd(v);
                    bars.Add(new Bar
                    {
                        Position = ci + (ri - (nRows - 1) / 2.0) * width, Value = m, Error = sd, Size = width * 0.9,
                        FillColor = palette.GetColor(ri),
                    });
                }
            plt.Add.Bars(bars);
            plt.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
                Enumerable.Range(0, nCols).Select(i => (double)i).ToArray(), plan.Columns.ToArray());
            for (int ri = 0; ri < nRows; ri++)
                plt.Legend.ManualItems.Add(new LegendItem { LabelText = plan.Rows[ri].Label, FillColor = palette.GetColor(ri) });
            plt.ShowLegend(Alignment.LowerRight);
            plt.YLabel($"test {metric} (mean ± std over seeds)");
            var vals = results.Select(r => r.Test).ToList();
            if (vals.Count > 0) plt.Axes.SetLimitsY(Math.Min(0, vals.Min() - 0.05), Math.Max(1, vals.Max() + 0.05));
        }
        plt.Title(plan.Title);
        plt.SavePng(path, 900, 540);
    }

    /// <summary>The paired differences A - B per column: one marker per pair and column with its 95% interval, 0 dashed.</summary>
    public static void WritePairs(ExperimentPlan plan, IReadOnlyList<CellResult> results, string path)
    {
        var plt = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        int nPairs = plan.Pairs.Length;
        double width = 0.8 / nPairs;
        for (int pi = 0; pi < nPairs; pi++)
        {
            var xs = new List<double>();
            var ys = new List<double>();
            var errs = new List<double>();
            for (int ci = 0; ci < plan.Columns.Count; ci++)
                if (ExperimentSuite.PairedDifference(results, plan.Pairs[pi], plan.Columns[ci]) is { N: > 1 } d)
                {
                    xs.Add(ci + (pi - (nPairs - 1) / 2.0) * width);
                    ys.Add(d.Mean);
                    errs.Add(d.Hi - d.Mean);
                }
            if (xs.Count == 0) continue;
            var eb = plt.Add.ErrorBar(xs.ToArray(), ys.ToArray(), errs.ToArray());
            eb.Color = palette.GetColor(pi);
            var sc = plt.Add.ScatterPoints(xs.ToArray(), ys.ToArray());
            sc.Color = palette.GetColor(pi);
            sc.LegendText = $"{plan.Pairs[pi].A} - {plan.Pairs[pi].B}";
        }
        var zero = plt.Add.HorizontalLine(0);
        zero.LinePattern = LinePattern.Dashed;
        zero.Color = Colors.Gray;
        plt.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            Enumerable.Range(0, plan.Columns.Count).Select(i => (double)i).ToArray(), plan.Columns.ToArray());
        plt.YLabel("paired difference of the test metric (mean, 95% interval over seeds)");
        plt.ShowLegend(Alignment.UpperRight);
        plt.Title(plan.Title + ": paired differences");
        plt.SavePng(path, 900, 540);
    }
}
