using MetaMae.Modalities;
using static TorchSharp.torch;

namespace MetaMae.Data;

/// <summary>Loaders of the shipped real datasets (data/NAME/); each follows the dataset's README.</summary>
public static class Shipped
{
    /// <summary>Speech recipe, scaled down from DABS (224 mels, hop 672, n_fft 2048 on 150,526 samples) for
    /// 0.30-0.75 s clips: 12,096 samples (0.756 s), n_fft 512 (32 ms), hop 189 -> 65 frames cropped to 64, 64 mels.</summary>
    public const int SpeechSamples = 12096, SpeechFft = 512, SpeechHop = 189, SpeechMels = 64, SpeechFrames = 64, SpeechRate = 16000;

    /// <summary>Numeric CSV rows -> a dataset with x of shape (N, ..shape); rows are reshaped by <paramref name="reshape"/>.</summary>
    static Dataset FromRows(string name, Formats.NumericRows r, InputSpec spec, Func<float[], float[]> reshape,
        int? standardizeAxis, bool standardize = true)
    {
        var shape = spec.RawShape;
        long per = shape.Aggregate(1L, (a, b) => a * b);
        var flat = new float[r.Rows.Count * per];
        for (int i = 0; i < r.Rows.Count; i++)
        {
            var v = reshape(r.Rows[i]);
            if (v.Length != per)
                throw new DataFormatException($"{r.Path}: row {i + 1} has {r.Rows[i].Length} values, " +
                    $"expected {per} for {spec.Describe()}");
            Array.Copy(v, 0, flat, i * per, per);
        }
        var x = tensor(flat, [r.Rows.Count, .. shape]);
        if (standardize) x = Formats.Standardize(x, r.IsTrain, standardizeAxis);
        return Readers.Build(name, r.Path, spec, x, r.Labels, r.IsTrain, r.HasSplit);
    }

    /// <summary>Satellite: 36 values per row -> (4 bands, 3, 3), T[b,r,c] = x[(r*3+c)*4+b]; per-band standardisation
    /// (train statistics).</summary>
    public static Dataset Satellite(string path)
    {
        var r = Formats.NumericCsv(path, requireLabel: true);
        if (r.FeatureNames.Length != 36)
            throw new DataFormatException($"{path}: {r.FeatureNames.Length} feature columns, expected 36 (x1..x36)");
        return FromRows("satellite", r, new GridSpec(4, 3, 3, 1, 1), v =>
        {
            var t = new float[36];
            for (int b = 0; b < 4; b++)
                for (int i = 0; i < 3; i++)
                    for (int j = 0; j < 3; j++) t[b * 9 + i * 3 + j] = v[(i * 3 + j) * 4 + b];
            return t;
        }, standardizeAxis: 1);
    }

    /// <summary>Spambase: 57 heavy-tailed features -> log(1+x), then standardised per feature with training statistics.</summary>
    public static Dataset Spambase(string path)
    {
        var r = Formats.NumericCsv(path, requireLabel: true);
        if (r.FeatureNames.Length != 57) throw new DataFormatException($"{path}: {r.FeatureNames.Length} feature columns, expected 57");
        return FromRows("spambase", r, new TabularSpec(57), v => v.Select(a => MathF.Log(1 + MathF.Max(a, 0))).ToArray(),
            standardizeAxis: 1);
    }

    /// <summary>Digits: 64 values 0..16 -> (1, 8, 8) / 16, patch 2x2 (16 tokens).</summary>
    public static Dataset Digits(string path)
    {
        var r = Formats.NumericCsv(path, requireLabel: true);
        if (r.FeatureNames.Length != 64)
            throw new DataFormatException($"{path}: {r.FeatureNames.Length} feature columns, expected 64 (p0..p63)");
        return FromRows("digits", r, new GridSpec(1, 8, 8, 2, 2), v => v.Select(a => a / 16f).ToArray(), null, standardize: false);
    }

    /// <summary>Emoji: index.csv (file, category, split) of 32x32 RGB PNGs -> (3, 32, 32) in [0, 1], patch 4x4.</summary>
    public static Dataset Emoji(string indexPath) =>
        IndexedFiles("emoji", indexPath, "category", new GridSpec(3, 32, 32, 4, 4), f => Formats.Png(f, 3, 32, 32), null);

    /// <summary>Speech digits: index.csv (file, label, split) of 16 kHz WAVs -> log-mel (1, 64 mels, 64 frames),
    /// normalised by the training split's mean and std (as DABS normalises by the dataset's), patch 8x8.</summary>
    public static Dataset SpeechDigits(string indexPath) =>
        IndexedFiles("speech-digits", indexPath, "label", new GridSpec(1, SpeechMels, SpeechFrames, 8, 8), SpeechFeatures,
            standardizeAxis: -1);

    public static float[] SpeechFeatures(string wavPath)
    {
        var m = Formats.LogMel(Formats.Wav(wavPath, SpeechRate), SpeechSamples, SpeechFft, SpeechHop, SpeechMels,
            SpeechRate,
            out int frames);
        var o = new float[SpeechMels * SpeechFrames];
        for (int i = 0; i < SpeechMels; i++) Array.Copy(m, i * frames, o, i * SpeechFrames, SpeechFrames);
        return o;
    }

    /// <summary>An index CSV with a file column (relative path), a label column and a split column.
    /// standardizeAxis: null = none, -1 = one scalar mean/std of the training split.</summary>
    public static Dataset IndexedFiles(string name, string indexPath, string labelColumn, InputSpec spec,
        Func<string, float[]> load,
        int? standardizeAxis)
    {
        var t = CsvTable.Read(indexPath);
        int fi = t.Column("file"), li = t.Column(labelColumn), pi = t.Column("split");
        string dir = Path.GetDirectoryName(Path.GetFullPath(indexPath))!;
        long per = spec.RawShape.Aggregate(1L, (a, b) => a * b);
        var flat = new float[t.Rows.Count * per];
        var labels = new List<string>();
        var isTrain = new List<bool>();
        int n = 0;
        foreach (var (line, f) in t.Rows)
        {
            if (f[fi].Length == 0 || Path.IsPathRooted(f[fi]) || f[fi].Split('/', '\\').Contains(".."))
                throw new DataFormatException($"{indexPath}:{line}: field 'file' is '{f[fi]}', expected a relative path inside {dir}");
            if (f[li].Length == 0) throw new DataFormatException($"{indexPath}:{line}: field '{labelColumn}' is empty, expected a label");
            float[] v;
            try { v = load(Path.Combine(dir, f[fi])); }
            catch (DataFormatException e) { throw new DataFormatException($"{indexPath}:{line}: {e.Message}"); }
            Array.Copy(v, 0, flat, n * per, per);
            labels.Add(f[li]);
            isTrain.Add(Formats.ParseSplit(indexPath, line, "split", f[pi]));
            n++;
        }
        var x = tensor(flat, [n, .. spec.RawShape]);
        if (standardizeAxis is int a) x = Formats.Standardize(x, isTrain, a < 0 ? null : a);
        return Readers.Build(name, indexPath, spec, x, labels, isTrain, true);
    }

    /// <summary>ECG (one lead, 360 Hz, unlabeled): standardised with the first 80 % (train), cut into
    /// non-overlapping windows of 320 samples (0.89 s); train = windows in the first 80 %, test = the rest.</summary>
    public static Dataset Ecg(string path, int window = 320)
    {
        var r = Formats.NumericCsv(path, labelColumn: null);
        if (r.FeatureNames.Length != 1) throw new DataFormatException($"{path}: {r.FeatureNames.Length} columns, expected one (mV)");
        return SeriesWindows("ecg", path, r.Rows.Select(v => v[0]).ToArray(), 1, window, 5);
    }

    /// <summary>One long multichannel series (time-major values, channels interleaved) -> windows; 80/20 in time.</summary>
    public static Dataset SeriesWindows(string name, string path, float[] values, int channels, int window, int patch)
    {
        int steps = values.Length / channels;
        int cut = (int)(steps * 0.8);
        int nTr = cut / window, nTe = (steps - cut) / window;
        if (nTr < 2) throw new DataFormatException($"{path}: {steps} time steps give {nTr} training windows of {window}; need at least 2");
        var flat = new float[(nTr + nTe) * channels * window];
        var isTrain = new List<bool>();
        int k = 0;
        void Take(int start)
        {
            for (int c = 0; c < channels; c++)
                for (int s = 0; s < window; s++) flat[(k * channels + c) * window + s] = values[(start + s) * channels + c];
            k++;
        }
        for (int i = 0; i < nTr; i++) { Take(i * window); isTrain.Add(true); }
        for (int i = 0; i < nTe; i++) { Take(cut + i * window); isTrain.Add(false); }
        var x = Formats.Standardize(tensor(flat, [k, channels, window]), isTrain, 1);
        return Readers.Build(name, path, new SequenceSpec(channels, window, patch), x, null, isTrain, false);
    }
}
