using MetaMae.Modalities;
using ScottPlot;
using Color = ScottPlot.Color;   // Spectre.Console (a global using of the CLI) has a Color too

namespace MetaMae.Cli;

/// <summary>
/// PNG pictures with ScottPlot (no native dependencies): loss and probe curves, and
/// input / masked input / reconstruction and support / Nearby-S / query sets of samples.
/// </summary>
public static class Plots
{
    const int Width = 900;

    /// <summary>Loss curve from metrics.csv (step, loss, reconstruction, contrast, ...).</summary>
    public static string LossCurve(string metricsCsv, string png)
    {
        var rows = File.ReadLines(metricsCsv).Skip(1).Select(l => l.Split(',')).Where(f => f.Length >= 3).ToList();
        if (rows.Count == 0) throw new InvalidDataException($"{metricsCsv}: no loss rows to plot");
        double P(string s) => s.Length == 0 ? double.NaN : double.Parse(s, System.Globalization.CultureInfo.InvariantCulture);
        var steps = rows.Select(f => P(f[0])).ToArray();
        var plt = new Plot();
        AddLine(plt, steps, rows.Select(f => P(f[1])).ToArray(), "total loss");
        AddLine(plt, steps, rows.Select(f => P(f[2])).ToArray(), "reconstruction (query)");
        if (rows[0].Length > 3 && rows.All(f => f[3].Length > 0)) AddLine(plt, steps, rows.Select(f => P(f[3])).ToArray(), "task contrast");
        plt.Title("pretraining loss");
        plt.XLabel("step");
        plt.YLabel("loss");
        plt.ShowLegend();
        plt.SavePng(png, Width, 500);
        return png;
    }

    /// <summary>Linear-probe curves: validation metric and training loss per epoch (or per point x, named xLabel).</summary>
    public static string ProbeCurve(double[] validation, double[] trainLoss, string metric, string png, double[]? x = null,
        string xLabel = "epoch")
    {
        var plt = new Plot();
        var epochs = x ?? Enumerable.Range(1, validation.Length).Select(i => (double)i).ToArray();
        AddLine(plt, epochs, validation, $"validation {metric}");
        if (trainLoss.Length == validation.Length) AddLine(plt, epochs, trainLoss, "training loss");
        plt.Title("linear probe");
        plt.XLabel(xLabel);
        plt.ShowLegend();
        plt.SavePng(png, Width, 500);
        return png;
    }

    static void AddLine(Plot plt, double[] xs, double[] ys, string label)
    {
        var s = plt.Add.ScatterLine(xs, ys);
        s.LegendText = label;
        s.LineWidth = 2;
    }

    /// <summary>Input / masked input / reconstruction of each sample, drawn as the spec suits: images, lines per
    /// channel, coloured strips.</summary>
    public static string Samples(InputSpec spec, MaskedReconstruction r, string png, string title)
    {
        var plt = new Plot();
        int n = (int)r.Raw.shape[0];
        switch (spec)
        {
            case GridSpec g: DrawGrids(plt, g, r, n); break;
            case TokenSpec t: DrawTokens(plt, t, r, n); break;
            default: DrawLines(plt, spec, r, n); break;
        }
        plt.Title(title);
        plt.SavePng(png, Width, spec is SequenceSpec or TabularSpec ? 260 * n : 120 + 90 * n);
        return png;
    }

    static double[,] Image(Tensor chw)
    {
        // channel mean, (H, W); row 0 drawn at the top
        using var img = chw.to(ScalarType.Float64).mean([0]);
        int h = (int)img.shape[0], w = (int)img.shape[1];
        var a = img.data<double>().ToArray();
        var o = new double[h, w];
        for (int i = 0; i < h; i++) for (int j = 0; j < w; j++) o[i, j] = a[i * w + j];
        return o;
    }

    static void DrawGrids(Plot plt, GridSpec g, MaskedReconstruction r, int n)
    {
        string[] heads = ["input", "masked input", "reconstruction"];
        double gap = g.Width * 0.1;
        for (int i = 0; i < n; i++)
        {
            var input = Image(r.Raw[i]);
            var masked = (double[,])input.Clone();
            var (gh, gw) = g.TokenGrid;
            var mask = r.Mask[i].data<float>().ToArray();
            for (int t = 0; t < mask.Length; t++)
                if (mask[t] > 0)
                    for (int y = 0; y < g.PatchH; y++) for (int x = 0; x < g.PatchW; x++)
                        masked[t / gw * g.PatchH + y, t % gw * g.PatchW + x] = double.NaN;
            var recon = Image(r.Predicted[i]);
            double lo = input.Cast<double>().Min(), hi = input.Cast<double>().Max();
            var panels = new[] { input, masked, recon };
            for (int c = 0; c < 3; c++)
            {
                var hm = plt.Add.Heatmap(panels[c]);
                hm.Colormap = new ScottPlot.Colormaps.Viridis();
                hm.NaNCellColor = Colors.LightGray;
                hm.ManualRange = new ScottPlot.Range(lo, hi);
                double left = c * (g.Width + gap), top = -i * (g.Height + gap);
                hm.Position = new CoordinateRect(left, left + g.Width, top - g.Height, top);
                if (i == 0) plt.Add.Text(heads[c], left, top + g.Height * 0.15).LabelFontSize = 14;
            }
        }
        plt.Axes.SquareUnits();
        plt.Axes.Frameless();
        plt.HideGrid();
    }

    static void DrawLines(Plot plt, InputSpec spec, MaskedReconstruction r, int n)
    {
        // (N, C, T) for sequences, (N, 1, F) for tabular rows
        using var raw = (spec is TabularSpec ? r.Raw.unsqueeze(1) : r.Raw).to(ScalarType.Float64);
        using var rec = (spec is TabularSpec ? r.Predicted.unsqueeze(1) : r.Predicted).to(ScalarType.Float64);
        int channels = (int)raw.shape[1], len = (int)raw.shape[2], p = spec is SequenceSpec s ? s.PatchLength : 1;
        double span = 1.2 * Math.Max(1e-6, raw.abs().max().item<double>()) * 2, offset = 0;
        var palette = new ScottPlot.Palettes.Category10();
        for (int i = 0; i < n; i++, offset -= span * 1.3)
        {
            var mask = r.Mask[i].data<float>().ToArray();
            for (int t = 0; t < mask.Length; t++)
                if (mask[t] > 0)
                {
                    var sp = plt.Add.Rectangle(t * p - 0.5, (t + 1) * p - 0.5, offset - span / 2, offset + span / 2);
                    sp.FillColor = Colors.LightGray.WithAlpha(0.6);
                    sp.LineWidth = 0;
                }
            var xs = Enumerable.Range(0, len).Select(v => (double)v).ToArray();
            for (int c = 0; c < channels; c++)
            {
                var color = palette.GetColor(c);
                var y = raw[i, c].data<double>().ToArray().Select(v => v + offset).ToArray();
                var l = plt.Add.ScatterLine(xs, y, color);
                l.LineWidth = 1.5f;
                if (i == 0) l.LegendText = channels > 1 ? $"input, channel {c}" : "input";
                // the reconstruction of each masked token, dashed
                for (int t = 0; t < mask.Length; t++)
                {
                    if (mask[t] == 0) continue;
                    var px = Enumerable.Range(t * p, p).Select(v => (double)v).ToArray();
                    var py = px.Select(v => rec[i, c, (long)v].item<double>() + offset).ToArray();
                    var d = px.Length == 1 ? plt.Add.Scatter(px, py, color) : plt.Add.ScatterLine(px, py, color);
                    d.LinePattern = LinePattern.Dashed;
                    d.LineWidth = 2;
                    d.MarkerSize = px.Length == 1 ? 6 : 0;
                    if (i == 0 && t == Array.FindIndex(mask, v => v > 0))
                        d.LegendText = channels > 1 ? $"reconstruction, channel {c}" : "reconstruction";
                }
            }
        }
        plt.Legend.ManualItems.Add(new LegendItem { LabelText = "masked tokens (grey)", FillColor = Colors.LightGray });
        plt.ShowLegend();
        plt.XLabel(spec is TabularSpec ? "feature" : "time step");
        plt.YLabel("samples (offset)");
    }

    static void DrawTokens(Plot plt, TokenSpec t, MaskedReconstruction r, int n)
    {
        var palette = new ScottPlot.Palettes.Category10();
        string[] heads = ["input", "masked", "reconstruction"];
        for (int i = 0; i < n; i++)
        {
            var ids = r.Raw[i].data<long>().ToArray();
            var rec = r.Predicted[i].data<long>().ToArray();
            var mask = r.Mask[i].data<float>().ToArray();
            for (int row = 0; row < 3; row++)
            {
                double top = -(i * 4 + row);
                for (int k = 0; k < t.Length; k++)
                {
                    bool masked = mask[k] > 0;
                    var color = row switch
                    {
                        0 => palette.GetColor((int)ids[k]),
                        1 => masked ? Colors.White : palette.GetColor((int)ids[k]),
                        _ => palette.GetColor((int)rec[k]),
                    };
                    var rect = plt.Add.Rectangle(k, k + 1, top - 0.9, top);
                    rect.FillColor = color;
                    rect.LineWidth = row == 2 && masked ? 2 : 0;
                    rect.LineColor = rec[k] == ids[k] ? Colors.Black : Colors.Red;
                }
                var label = plt.Add.Text(i == 0 ? heads[row] : row == 0 ? $"sample {i}" : "", -0.5, top - 0.1);
                label.Alignment = Alignment.UpperRight;
                label.LabelFontSize = 11;
            }
        }
        for (int v = 0; v < Math.Min(t.Vocab, 10); v++)
            plt.Legend.ManualItems.Add(new LegendItem { LabelText = $"id {v}", FillColor = palette.GetColor(v) });
        plt.Legend.ManualItems.Add(new LegendItem
        {
            LabelText = "reconstructed (black: right, red: wrong)", FillColor = Colors.White, OutlineColor = Colors.Black,
        });
        plt.ShowLegend(Edge.Bottom);
        plt.Axes.SetLimitsX(-t.Length * 0.2, t.Length + 0.5);
        plt.Axes.Frameless();
        plt.HideGrid();
    }

    /// <summary>Support set S (visible), Nearby-S tokens drawn into the support, other Nearby-S candidates and the
    /// query (masked) on the token grid of one sample.</summary>
    public static string SupportSets(InputSpec spec, MaskedReconstruction r, int sample, double nearbyRatio, string png)
    {
        var (rows, cols) = spec.TokenGrid;
        using var mask = r.Mask[sample].unsqueeze(0);
        using var near = spec.NearbyMasked(mask)[0];
        var m = r.Mask[sample].data<float>().ToArray();
        var s = r.Support[sample].data<float>().ToArray();
        var nb = near.data<float>().ToArray();
        var cats = new (string Label, Color Color)[]
        {
            ("support S (visible)", Colors.SteelBlue), ($"Nearby-S drawn into the support (r = {nearbyRatio})", Colors.Orange),
            ("Nearby-S candidate, not drawn (query)", Colors.Moccasin), ("query (masked)", Colors.LightGray),
        };
        var plt = new Plot();
        for (int t = 0; t < m.Length; t++)
        {
            int c = m[t] == 0 ? 0 : s[t] > 0 ? 1 : nb[t] > 0 ? 2 : 3;
            int row = t / cols, col = t % cols;
            var rect = plt.Add.Rectangle(col, col + 1, -row - 1, -row);
            rect.FillColor = cats[c].Color;
            rect.LineColor = Colors.White;
            rect.LineWidth = 1;
        }
        foreach (var (label, color) in cats) plt.Legend.ManualItems.Add(new LegendItem { LabelText = label, FillColor = color });
        plt.ShowLegend(Edge.Bottom);
        plt.Title($"sample {sample}: token grid {rows} x {cols}, {m.Count(v => v > 0)} of {m.Length} masked");
        plt.Axes.SquareUnits();
        plt.Axes.Frameless();
        plt.HideGrid();
        plt.SavePng(png, Width, rows == 1 ? 300 : Math.Min(900, 200 + Width * rows / cols));
        return png;
    }
}

/// <summary>Reconstruction images for TensorBoard: per sample, rows input / masked (0) / reconstruction, scaled to [0, 1].</summary>
public static class TensorBoardImages
{
    /// <summary>(3, H, W) image of a <see cref="MaskedReconstruction"/>: every sample as a 2D array (grid: channel
    /// mean; sequence: channels x time; tabular / tokens: one row), three panels stacked per sample.</summary>
    public static Tensor Image(InputSpec spec, MaskedReconstruction r)
    {
        using var scope = NewDisposeScope();
        Tensor As2D(Tensor x) => spec switch     // (N, h, w)
        {
            GridSpec => x.to(ScalarType.Float32).mean([1]),
            SequenceSpec => x.to(ScalarType.Float32),
            _ => x.to(ScalarType.Float32).unsqueeze(1),
        };
        var input = As2D(r.Raw);
        var recon = As2D(r.Predicted);
        var tokMask = spec.Unpatchify(spec.IsDiscrete ? r.Mask : r.Mask.unsqueeze(-1).expand(-1, -1, spec.TokenWidth));
        var masked = input * (1 - As2D(tokMask));
        var lo = input.min();
        var hi = input.max();
        var rows = new List<Tensor>();
        long w = input.shape[2];
        for (int i = 0; i < input.shape[0]; i++)
        {
            rows.Add(input[i]); rows.Add(masked[i]); rows.Add(recon[i]);
            rows.Add(full(1, w, float.NaN));                      // separator line
        }
        var img = ((cat(rows, 0) - lo) / (hi - lo + 1e-8)).clamp(0, 1).nan_to_num(1.0);
        int scale = (int)Math.Max(1, Math.Min(16, 512 / Math.Max(w, img.shape[0])));
        img = img.repeat_interleave(scale, 0).repeat_interleave(scale, 1);
        return img.unsqueeze(0).expand(3, -1, -1).contiguous().MoveToOuterDisposeScope();
    }
}
