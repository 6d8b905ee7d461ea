using MetaMae.Modalities;

namespace MetaMae.Data.Dabs;

/// <summary>
/// WM-811K (LSWMD) wafer maps, from a CSV export of the pickle (see docs/dabs-datasets.md):
/// columns failureType (one of the 9 patterns), split (train / test, from trianTestLabel), rows,
/// cols, map (rows*cols digits 0/1/2, row-major). Pixels become {0,1,2} x 127.5, replicated to 3
/// channels and resized (bilinear) to 32x32, scaled to [0, 1] like the RGB sets (value / 255).
/// Unlabelled wafers are not part of the export.
/// </summary>
public static class WaferMap
{
    public static readonly string[] Patterns =
        ["Center", "Donut", "Edge-Loc", "Edge-Ring", "Loc", "Near-full", "Random", "Scratch", "none"];
    public static readonly GridSpec Spec = Images.Spec;

    public static Dataset Load(string path, DabsOptions? o = null)
    {
        o ??= new();
        var t = CsvTable.Read(path);
        int fi = t.Column("failureType"), si = t.Column("split"), ri = t.Column("rows"), ci = t.Column("cols"), mi = t.Column("map");
        var trX = new List<float[]>(); var trY = new List<string>();
        var teX = new List<float[]>(); var teY = new List<string>();
        foreach (var (line, f) in t.Rows)
        {
            var where = $"{path}:{line}";
            var label = f[fi];
            if (Array.IndexOf(Patterns, label) < 0)
                throw new DataFormatException($"{where}: field 'failureType' is '{DabsIo.Short(label)}', " +
                    $"expected one of {string.Join(", ", Patterns)}");
            bool train = Formats.ParseSplit(path, line, "split", f[si]);
            if (!int.TryParse(f[ri], out var rows) || !int.TryParse(f[ci], out var cols)
                || rows < 1 || cols < 1 || rows > 1000 || cols > 1000)
                throw new DataFormatException($"{where}: fields 'rows' and 'cols' must be integers in 1..1000 " +
                    $"(got '{DabsIo.Short(f[ri])}', '{DabsIo.Short(f[ci])}')");
            var m = f[mi];
            if (m.Length != rows * cols)
                throw new DataFormatException($"{where}: field 'map' has {m.Length} digits, " +
                    $"expected rows x cols = {rows * cols}");
            var (xs, ys) = train ? (trX, trY) : (teX, teY);
            if (o.MaxPerSplit > 0 && xs.Count >= o.MaxPerSplit) continue;
            var img = new float[3 * rows * cols];
            for (int i = 0; i < m.Length; i++)
            {
                int v = m[i] - '0';
                if (v < 0 || v > 2)
                    throw new DataFormatException($"{where}: field 'map' position {i + 1}: '{m[i]}', " +
                        "expected a digit 0, 1 or 2");
                float px = v * 127.5f / 255f;
                for (int c = 0; c < 3; c++) img[c * rows * cols + i] = px;
            }
            xs.Add(DabsIo.Resize(img, 3, rows, cols, 32, 32)); ys.Add(label);
        }
        return DabsIo.Classification(DabsIo.Limited("wafermap", o), path, Spec, trX, null, trY, teX, null, teY);
    }
}
