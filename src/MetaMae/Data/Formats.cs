using System.Globalization;
using static TorchSharp.torch;

namespace MetaMae.Data;

/// <summary>
/// Low-level readers of generic file formats (numeric CSV, PNG, WAV) and the log-mel transform.
/// Every malformed input raises <see cref="DataFormatException"/> naming the file, line or field.
/// </summary>
public static class Formats
{
    /// <summary>A numeric CSV: feature rows, optional label strings, train/test flags (true when no split column).</summary>
    public sealed record NumericRows(string Path, string[] FeatureNames, List<float[]> Rows, List<string>? Labels,
        List<bool> IsTrain, bool HasSplit);

    /// <summary>
    /// Reads a CSV whose feature columns are numbers. Feature columns are all columns except the label,
    /// split and listed ignored columns.
    /// NaN, infinities and non-numbers are errors naming line and field.
    /// </summary>
    public static NumericRows NumericCsv(string path, string? labelColumn = "label", string splitColumn = "split",
        IReadOnlyCollection<string>? ignore = null, bool requireLabel = false)
    {
        var t = CsvTable.Read(path);
        int li = labelColumn is not null && t.Header.Contains(labelColumn) ? t.Column(labelColumn) : -1;
        if (requireLabel && li < 0)
            throw new DataFormatException($"{path}: missing label column '{labelColumn}' (header has: " +
                $"{string.Join(", ", t.Header)})");
        int pi = Array.IndexOf(t.Header, splitColumn);
        var feat = Enumerable.Range(0, t.Header.Length)
            .Where(i => i != li && i != pi && (ignore is null || !ignore.Contains(t.Header[i]))).ToArray();
        if (feat.Length == 0) throw new DataFormatException($"{path}: no feature columns (header has: {string.Join(", ", t.Header)})");
        var rows = new List<float[]>(t.Rows.Count);
        var labels = li >= 0 ? new List<string>(t.Rows.Count) : null;
        var isTrain = new List<bool>(t.Rows.Count);
        foreach (var (line, f) in t.Rows)
        {
            var r = new float[feat.Length];
            for (int j = 0; j < feat.Length; j++) r[j] = ParseFloat(path, line, t.Header[feat[j]], f[feat[j]]);
            rows.Add(r);
            if (labels is not null)
            {
                if (f[li].Length == 0) throw new DataFormatException($"{path}:{line}: field '{t.Header[li]}' is empty, expected a label");
                labels.Add(f[li]);
            }
            isTrain.Add(pi < 0 || ParseSplit(path, line, t.Header[pi], f[pi]));
        }
        return new NumericRows(path, feat.Select(i => t.Header[i]).ToArray(), rows, labels, isTrain, pi >= 0);
    }

    public static float ParseFloat(string path, long line, string field, string v) => ParseFinite(v) switch
    {
        (true, var x) => x,
        (false, _) when !double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out _) =>
            throw new DataFormatException($"{path}:{line}: field '{field}' is '{Trunc(v)}', expected a number"),
        _ => throw new DataFormatException(
            $"{path}:{line}: field '{field}' is '{Trunc(v)}', expected a finite number (NaN and infinities are not allowed)"),
    };

    /// <summary>A number written in invariant culture that is finite as a float (every reader's rule for a value).</summary>
    public static (bool Ok, float Value) ParseFinite(string v) =>
        double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d)
            && Math.Abs(d) <= float.MaxValue ? (true, (float)d) : (false, 0f);

    public static bool ParseSplit(string path, long line, string field, string v) => v switch
    {
        "train" => true,
        "test" => false,
        _ => throw new DataFormatException($"{path}:{line}: field '{field}' is '{Trunc(v)}', expected 'train' or 'test'"),
    };

    static string Trunc(string s) => s.Length > 40 ? s[..40] + "..." : s;

    /// <summary>
    /// Decodes an image file (PNG, JPEG, BMP, ... via the shared decoder <see cref="Dabs.Images.Decode"/>) into
    /// (C, H, W) floats in [0, 1], C = 1 (grey, ITU-R 601 luma) or 3 (RGB). The image must be exactly height x width.
    /// </summary>
    public static float[] Png(string path, int channels, int height, int width)
    {
        if (!File.Exists(path)) throw new DataFormatException($"{path}: image file not found");
        var (chw, w, h) = Dabs.Images.Decode(path);
        if (w != width || h != height)
            throw new DataFormatException($"{path}: image is {w}x{h}, expected {width}x{height}");
        if (channels == 3) return chw;
        int n = w * h;
        var g = new float[n];
        for (int i = 0; i < n; i++) g[i] = 0.299f * chw[i] + 0.587f * chw[n + i] + 0.114f * chw[2 * n + i];
        return g;
    }

    /// <summary>A mono WAV (via the shared reader <see cref="Dabs.Wav"/>) at the expected sample rate; samples in [-1, 1).</summary>
    public static float[] Wav(string path, int sampleRate)
    {
        if (!File.Exists(path)) throw new DataFormatException($"{path}: audio file not found");
        var (s, rate) = Dabs.Wav.Read(path);
        if (rate != sampleRate) throw new DataFormatException($"{path}: sample rate {rate} Hz, expected {sampleRate} Hz");
        return s;
    }

    /// <summary>
    /// The DABS speech recipe, with sizes as parameters: crop / zero-pad to <paramref name="samples"/>, centred
    /// STFT (Hann window, power 2), an HTK mel filterbank (torchaudio's default), then decibels with ref 1 and
    /// top 80 dB below the clip's maximum. Returns (mels, frames) floats (not yet normalised).
    /// </summary>
    public static float[] LogMel(float[] wave, int samples, int nFft, int hop, int mels, int sampleRate, out int frames)
    {
        var w = new float[samples];
        Array.Copy(wave, w, Math.Min(samples, wave.Length));
        var db = Dabs.LogMel.MelDb(w, sampleRate, nFft, hop, mels);              // (mels, frames)
        frames = db.GetLength(1);
        var flat = new float[db.Length];
        Buffer.BlockCopy(db, 0, flat, 0, flat.Length * 4);
        return flat;
    }

    /// <summary>Standardises x in place along one axis group: statistics of the training rows, per index of
    /// <paramref name="perAxis"/> (e.g. 1 = per feature / channel) or one scalar (perAxis null). Std 0 -> 1.</summary>
    public static Tensor Standardize(Tensor x, IReadOnlyList<bool> isTrain, int? perAxis)
    {
        using var scope = NewDisposeScope();
        var trIdx = tensor(Enumerable.Range(0, isTrain.Count).Where(i => isTrain[i]).Select(i => (long)i).ToArray());
        var tr = x.index_select(0, trIdx).to_type(ScalarType.Float64);
        Tensor mean, std;
        if (perAxis is int a)
        {
            var dims = Enumerable.Range(0, (int)x.dim()).Where(d => d != a).Select(d => (long)d).ToArray();
            mean = tr.mean(dims, keepdim: true);
            std = tr.std(dims, keepdim: true, unbiased: false);
        }
        else { mean = tr.mean(); std = tr.std(unbiased: false); }
        std = where(std > 1e-8, std, ones_like(std));
        return ((x.to_type(ScalarType.Float64) - mean) / std).to_type(ScalarType.Float32).MoveToOuterDisposeScope();
    }
}
