using MetaMae.Modalities;

namespace MetaMae.Data.Dabs;

/// <summary>
/// PAMAP2 (UCI) Protocol/subject10X.dat: space-separated rows of 54 columns (timestamp, activity id,
/// heart rate, 3 IMUs x 17). NaN (missing readings) are filled per column by linear interpolation
/// (nearest value at the ends); the 52 channels are columns 2..53. Windows of 320 consecutive
/// steps of one activity (non-overlapping, stride 320 by default) become samples; activities
/// 1,2,3,4,5,6,7,12,13,16,17,24 are the 12 classes (0 = transient, and the optional activities of
/// the Optional/ folder, are not classes in DABS and are counted, not read). Subjects 1,2,3,4,7,8,9
/// train, 5 and 6 test.
/// </summary>
public static class Pamap2
{
    public const int Channels = 52, Window = 320, Columns = 54;
    public static readonly int[] Activities = [1, 2, 3, 4, 5, 6, 7, 12, 13, 16, 17, 24];
    public static readonly int[] TrainSubjects = [1, 2, 3, 4, 7, 8, 9], TestSubjects = [5, 6];
    public static readonly SequenceSpec Spec = new(Channels, Window, 5);

    /// <summary>dir is the Protocol folder holding subject101.dat .. subject109.dat.</summary>
    public static Dataset Load(string dir, DabsOptions? o = null, int stride = Window)
    {
        o ??= new();
        DabsIo.RequireDir(dir, "the PAMAP2 Protocol folder with subject101.dat ... subject109.dat");
        if (stride < 1) throw new ArgumentException($"PAMAP2 window stride must be >= 1 (got {stride})");
        var trX = new List<float[]>(); var trY = new List<string>();
        var teX = new List<float[]>(); var teY = new List<string>();
        foreach (var (subjects, xs, ys) in new[] { (TrainSubjects, trX, trY), (TestSubjects, teX, teY) })
            foreach (var s in subjects)
            {
                var path = Path.Combine(dir, $"subject10{s}.dat");
                DabsIo.RequireFile(path, $"PAMAP2 subject {s}");
                foreach (var (x, act) in Windows(path, stride))
                {
                    if (o.MaxPerSplit > 0 && xs.Count >= o.MaxPerSplit) break;
                    xs.Add(x); ys.Add(act.ToString());
                }
            }
        // class names are the activity ids in numeric order
        var ds = DabsIo.Classification(DabsIo.Limited("pamap2", o), dir, Spec, trX, null, trY, teX, null, teY);
        return ds;
    }

    /// <summary>Reads one subject file; returns (52 x 320 channel-major window, activity id) pairs.</summary>
    public static IEnumerable<(float[] X, int Activity)> Windows(string path, int stride = Window)
    {
        var (data, act) = ReadFile(path);
        int n = act.Length;
        var result = new List<(float[], int)>();
        int start = 0;
        while (start < n)
        {
            int end = start;
            while (end < n && act[end] == act[start]) end++;
            if (Array.IndexOf(Activities, act[start]) >= 0)
                for (int w = start; w + Window <= end; w += stride)
                {
                    var x = new float[Channels * Window];
                    for (int c = 0; c < Channels; c++)
                        for (int t = 0; t < Window; t++) x[c * Window + t] = data[c][w + t];
                    result.Add((x, act[start]));
                }
            start = end;
        }
        return result;
    }

    /// <summary>The 52 channels (NaN interpolated) and the activity column of a subject file.</summary>
    public static (float[][] Channels, int[] Activity) ReadFile(string path)
    {
        var cols = new List<float>[Channels];
        for (int c = 0; c < Channels; c++) cols[c] = [];
        var act = new List<int>();
        long line = 0;
        foreach (var raw in File.ReadLines(path))
        {
            line++;
            if (raw.Trim().Length == 0) continue;
            var f = raw.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length != Columns)
                throw new DataFormatException($"{path}:{line}: expected {Columns} space-separated columns " +
                    $"(timestamp, activity, heart rate, 3 x 17 IMU), found {f.Length}");
            var a = DabsIo.Float(f[1], $"{path}:{line}: column 2 (activity id)");
            if (a != Math.Floor(a) || a < 0 || a > 24)
                throw new DataFormatException($"{path}:{line}: column 2 (activity id) is {f[1]}, expected an integer in 0..24");
            act.Add((int)a);
            for (int c = 0; c < Channels; c++)
            {
                var s = f[c + 2];
                if (s.Equals("NaN", StringComparison.OrdinalIgnoreCase)) { cols[c].Add(float.NaN); continue; }
                cols[c].Add(DabsIo.Float(s, $"{path}:{line}: column {c + 3}"));
            }
        }
        if (act.Count == 0) throw new DataFormatException($"{path}: no data rows");
        var data = new float[Channels][];
        for (int c = 0; c < Channels; c++)
        {
            var v = cols[c].ToArray();
            Interpolate(v, () => $"{path}: column {c + 3} has no value at all (only NaN); cannot interpolate");
            data[c] = v;
        }
        return (data, act.ToArray());
    }

    /// <summary>Fills NaN in place by linear interpolation between the nearest values; ends take the nearest value.</summary>
    public static void Interpolate(float[] v, Func<string> allNan)
    {
        int prev = -1;
        for (int i = 0; i < v.Length; i++)
        {
            if (float.IsNaN(v[i])) continue;
            if (prev < 0) for (int j = 0; j < i; j++) v[j] = v[i];
            else for (int j = prev + 1; j < i; j++) v[j] = v[prev] + (v[i] - v[prev]) * (j - prev) / (i - prev);
            prev = i;
        }
        if (prev < 0) throw new DataFormatException(allNan());
        for (int j = prev + 1; j < v.Length; j++) v[j] = v[prev];
    }
}
