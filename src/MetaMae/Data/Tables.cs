using System.Globalization;
using System.Text.Json.Nodes;
using MetaMae.Modalities;
using static TorchSharp.torch;

namespace MetaMae.Data;

/// <summary>
/// What a reader of users' own data left out, imputed or chose; printed at the start of a run and stored in
/// its config.json (nothing is dropped silently).
/// </summary>
public sealed class DataReport
{
    /// <summary>Id column (its values name the samples), or null.</summary>
    public string? IdColumn { get; set; }
    /// <summary>Columns that are not features, each with why (asked for, not numeric, no values).</summary>
    public List<(string Column, string Reason)> LeftOut { get; } = [];
    /// <summary>Missing cells of the feature columns per split.</summary>
    public long MissingTrain { get; set; }
    public long MissingTest { get; set; }
    /// <summary>Missing cells per feature column (only columns with any).</summary>
    public SortedDictionary<string, long> MissingByColumn { get; } = new(StringComparer.Ordinal);
    /// <summary>Further notes (e.g. the split that was made).</summary>
    public List<string> Notes { get; } = [];

    /// <summary>One line per fact, for the start of a run.</summary>
    public IEnumerable<string> Lines()
    {
        if (IdColumn is not null) yield return $"data: column '{IdColumn}' is the sample id (not a feature)";
        foreach (var (c, why) in LeftOut) yield return $"data: column '{c}' left out: {why}";
        if (MissingTrain + MissingTest > 0)
            yield return $"data: {MissingTrain + MissingTest} missing cells ({MissingTrain} train, {MissingTest} test; " +
                string.Join(", ", MissingByColumn.Select(kv => $"{kv.Key} {kv.Value}")) +
                "): masked in pretraining (never a reconstruction target), imputed with the training mean in features";
        foreach (var n in Notes) yield return "data: " + n;
    }

    public JsonObject ToJson() => new()
    {
        ["id_column"] = IdColumn,
        ["left_out_columns"] = new JsonArray(LeftOut.Select(l =>
            (JsonNode)new JsonObject { ["column"] = l.Column, ["reason"] = l.Reason }).ToArray()),
        ["missing_cells_train"] = MissingTrain,
        ["missing_cells_test"] = MissingTest,
        ["missing_cells_by_column"] = new JsonObject(MissingByColumn.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))),
        ["notes"] = new JsonArray(Notes.Select(n => (JsonNode)n).ToArray()),
    };
}

/// <summary>
/// Tables (`--modality tabular`): a CSV whose feature columns are numbers. Not features: the label and split
/// columns, an id column (`--id-column`), listed columns (`--ignore-columns`) and, found automatically, any
/// column holding a value that is not a number or a missing marker (reported once, left out). Missing cells
/// (<see cref="Missing.Markers"/>) become NaN (see <see cref="Missing"/>), or with
/// <see cref="MissingPolicy.Error"/> an error naming line and field. Features are standardised with the mean
/// and std of the observed training values.
/// </summary>
public static class Tables
{
    public static Dataset Read(string name, string path, ByoOptions o)
    {
        var t = CsvTable.Read(path);
        string? labelColumn = o.LabelColumn ?? "label";
        int li = t.Header.Contains(labelColumn) ? t.Column(labelColumn) : -1;
        if (o.LabelColumn is not null && li < 0)
            throw new DataFormatException($"{path}: missing label column '{o.LabelColumn}' (header has: {string.Join(", ", t.Header)})");
        int pi = Array.IndexOf(t.Header, o.SplitColumn);
        int ii = o.IdColumn is null ? -1 : t.Column(o.IdColumn);
        var ignore = o.IgnoreColumns ?? [];
        foreach (var c in ignore) t.Column(c);                                     // an unknown name is an error
        var report = new DataReport { IdColumn = o.IdColumn };
        var feat = new List<int>();
        for (int j = 0; j < t.Header.Length; j++)
        {
            if (j == li || j == pi || j == ii) continue;
            if (ignore.Contains(t.Header[j])) { report.LeftOut.Add((t.Header[j], "--ignore-columns")); continue; }
            string? bad = null;
            bool any = false;
            foreach (var (line, f) in t.Rows)
            {
                var v = f[j];
                if (Missing.IsMissing(v)) continue;
                if (!double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out _))
                {
                    bad = $"not numeric (line {line}: '{Trunc(v)}')";
                    break;
                }
                any = true;
            }
            if (bad is null && !any) bad = "no values (every cell is missing)";
            if (bad is not null) report.LeftOut.Add((t.Header[j], bad));
            else feat.Add(j);
        }
        if (feat.Count == 0)
            throw new DataFormatException($"{path}: no numeric feature columns (header has: {string.Join(", ", t.Header)}; " +
                string.Join("; ", report.LeftOut.Select(l => $"'{l.Column}' {l.Reason}")) + ")");

        int n = t.Rows.Count, d = feat.Count;
        var values = new double[n * d];
        var labels = li >= 0 ? new List<string>(n) : null;
        var ids = new List<string>(n);
        var split = new List<bool>(n);
        for (int r = 0; r < n; r++)
        {
            var (line, f) = t.Rows[r];
            for (int k = 0; k < d; k++)
            {
                var v = f[feat[k]];
                if (Missing.IsMissing(v))
                {
                    if (o.Missing == MissingPolicy.Error)
                        throw new DataFormatException($"{path}:{line}: field '{t.Header[feat[k]]}' is '{v}', " +
                            "expected a number (--missing error)");
                    values[r * d + k] = double.NaN;
                }
                else values[r * d + k] = Formats.ParseFloat(path, line, t.Header[feat[k]], v);   // rejects infinities
            }
            if (labels is not null)
            {
                if (f[li].Length == 0) throw new DataFormatException($"{path}:{line}: field '{t.Header[li]}' is empty, expected a label");
                labels.Add(f[li]);
            }
            if (ii >= 0 && f[ii].Length == 0)
                throw new DataFormatException($"{path}:{line}: field '{t.Header[ii]}' is empty, expected a sample id");
            ids.Add(ii >= 0 ? f[ii] : $"line {line}");
            split.Add(pi < 0 || Formats.ParseSplit(path, line, t.Header[pi], f[pi]));
        }
        var isTrain = pi >= 0 ? split : ByoData.RandomSplit(labels, n, o.SplitSeed);

        // standardise with the observed training values; a feature with none there is left out too
        var keep = new List<int>();
        var mean = new double[d];
        var std = new double[d];
        for (int k = 0; k < d; k++)
        {
            double s = 0, s2 = 0;
            long c = 0;
            for (int r = 0; r < n; r++)
                if (isTrain[r] && !double.IsNaN(values[r * d + k])) { s += values[r * d + k]; c++; }
            if (c == 0) { report.LeftOut.Add((t.Header[feat[k]], "no values in the training rows")); continue; }
            mean[k] = s / c;
            for (int r = 0; r < n; r++)
                if (isTrain[r] && !double.IsNaN(values[r * d + k])) s2 += Math.Pow(values[r * d + k] - mean[k], 2);
            std[k] = Math.Sqrt(s2 / c);
            if (std[k] <= 1e-8) std[k] = 1;
            keep.Add(k);
        }
        if (keep.Count == 0) throw new DataFormatException($"{path}: no feature column has values in the training rows");
        var x = new float[n * keep.Count];
        for (int r = 0; r < n; r++)
            for (int q = 0; q < keep.Count; q++)
            {
                int k = keep[q];
                double v = values[r * d + k];
                if (double.IsNaN(v))
                {
                    if (isTrain[r]) report.MissingTrain++; else report.MissingTest++;
                    var col = t.Header[feat[k]];
                    report.MissingByColumn[col] = report.MissingByColumn.GetValueOrDefault(col) + 1;
                    x[r * keep.Count + q] = float.NaN;
                }
                else x[r * keep.Count + q] = (float)((v - mean[k]) / std[k]);
            }
        var ds = Readers.Build(name, path, new TabularSpec(keep.Count), tensor(x, [n, keep.Count]), labels, isTrain, true, ids);
        ds.Report = report;
        return ds;
    }

    static string Trunc(string s) => s.Length > 40 ? s[..40] + "..." : s;
}
