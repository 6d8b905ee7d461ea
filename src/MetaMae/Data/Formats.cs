using System.Globalization;
using SkiaSharp;
using static TorchSharp.torch;

namespace MetaMae.Data;

/// <summary>
/// Low-level readers of generic file formats (numeric CSV, PNG, WAV) and the log-mel transform.
/// Every malformed input raises <see cref="DataFormatException"/> naming the file, line or field.
/// </summary>
public static class Formats
{
    /// <summary>A numeric CSV: feature rows, optional label strings, train/test flags (true when no split column).</summary>
    public sealed record NumericRows(string Path, string[] FeatureNames, List<float[]> Rows, List<string>? Labels, List<bool> IsTrain, bool HasSplit);

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
        if (requireLabel && li < 0) throw new DataFormatException($"{path}: missing label column '{labelColumn}' (header has: {string.Join(", ", t.Header)})");
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

    public static float ParseFloat(string path, long line, string field, string v)
    {
        if (!double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d))
            throw new DataFormatException($"{path}:{line}: field '{field}' is '{Trunc(v)}', expected a number");
        if (!double.IsFinite(d) || Math.Abs(d) > float.MaxValue)
            throw new DataFormatException($"{path}:{line}: field '{field}' is '{Trunc(v)}', expected a finite number (NaN and infinities are not allowed)");
        return (float)d;
    }

    public static bool ParseSplit(string path, long line, string field, string v) => v switch
    {
        "train" => true,
        "test" => false,
        _ => throw new DataFormatException($"{path}:{line}: field '{field}' is '{Trunc(v)}', expected 'train' or 'test'"),
    };

    static string Trunc(string s) => s.Length > 40 ? s[..40] + "..." : s;

    /// <summary>
    /// Decodes a PNG (any colour type) with SkiaSharp into (C, H, W) floats in [0, 1], C = 1 (grey) or 3 (RGB;
    /// transparent pixels composited over white). The image must be exactly height x width.
    /// </summary>
    public static float[] Png(string path, int channels, int height, int width)
    {
        if (!File.Exists(path)) throw new DataFormatException($"{path}: image file not found");
        byte[] bytes = File.ReadAllBytes(path);
        if (bytes.Length < 8 || bytes[0] != 0x89 || bytes[1] != (byte)'P' || bytes[2] != (byte)'N' || bytes[3] != (byte)'G')
            throw new DataFormatException($"{path}: not a PNG file (bad signature)");
        SKBitmap? decoded;
        try { decoded = SKBitmap.Decode(bytes); }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or NullReferenceException)
        { throw new DataFormatException($"{path}: cannot decode the PNG ({e.Message})"); }
        using var bmp = decoded;
        if (bmp is null || bmp.Width <= 0 || bmp.Height <= 0) throw new DataFormatException($"{path}: cannot decode the PNG (corrupt or truncated)");
        if (bmp.Width != width || bmp.Height != height)
            throw new DataFormatException($"{path}: image is {bmp.Width}x{bmp.Height}, expected {width}x{height}");
        var v = new float[channels * height * width];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
            {
                var c = bmp.GetPixel(x, y);
                float a = c.Alpha / 255f;
                float r = (c.Red * a + 255 * (1 - a)) / 255f, g = (c.Green * a + 255 * (1 - a)) / 255f, b = (c.Blue * a + 255 * (1 - a)) / 255f;
                if (channels == 1) v[y * width + x] = 0.299f * r + 0.587f * g + 0.114f * b;
                else { v[y * width + x] = r; v[height * width + y * width + x] = g; v[2 * height * width + y * width + x] = b; }
            }
        return v;
    }

    /// <summary>Reads a RIFF WAVE file of 16-bit PCM mono audio at the expected sample rate; samples in [-1, 1).</summary>
    public static float[] Wav(string path, int sampleRate)
    {
        if (!File.Exists(path)) throw new DataFormatException($"{path}: audio file not found");
        var b = File.ReadAllBytes(path);
        if (b.Length < 12 || b[0] != 'R' || b[1] != 'I' || b[2] != 'F' || b[3] != 'F' || b[8] != 'W' || b[9] != 'A' || b[10] != 'V' || b[11] != 'E')
            throw new DataFormatException($"{path}: not a RIFF WAVE file");
        int pos = 12;
        int? channels = null, rate = null, bits = null, format = null;
        while (pos >= 0 && pos + 8L <= b.Length)
        {
            string id = System.Text.Encoding.ASCII.GetString(b, pos, 4);
            long size = BitConverter.ToUInt32(b, pos + 4);
            long body = pos + 8;
            if (id == "fmt ")
            {
                if (size < 16 || body + 16 > b.Length) throw new DataFormatException($"{path}: truncated 'fmt ' chunk");
                format = BitConverter.ToUInt16(b, (int)body);
                channels = BitConverter.ToUInt16(b, (int)body + 2);
                rate = (int)BitConverter.ToUInt32(b, (int)body + 4);
                bits = BitConverter.ToUInt16(b, (int)body + 14);
            }
            else if (id == "data")
            {
                if (format is null) throw new DataFormatException($"{path}: 'data' chunk before the 'fmt ' chunk");
                if (format != 1 || bits != 16) throw new DataFormatException($"{path}: audio format {format} with {bits} bits, expected 16-bit PCM (format 1)");
                if (channels != 1) throw new DataFormatException($"{path}: {channels} channels, expected mono");
                if (rate != sampleRate) throw new DataFormatException($"{path}: sample rate {rate} Hz, expected {sampleRate} Hz");
                if (body + size > b.Length) throw new DataFormatException($"{path}: 'data' chunk claims {size} bytes but only {b.Length - body} remain (truncated file)");
                if (size % 2 != 0) throw new DataFormatException($"{path}: 'data' chunk has an odd number of bytes ({size}) for 16-bit samples");
                if (size == 0) throw new DataFormatException($"{path}: no audio samples");
                var s = new float[size / 2];
                for (int i = 0; i < s.Length; i++) s[i] = BitConverter.ToInt16(b, (int)body + 2 * i) / 32768f;
                return s;
            }
            long next = body + size + (size & 1);
            if (next > b.Length) break;
            pos = (int)next;
        }
        throw new DataFormatException($"{path}: no 'data' chunk (truncated or not PCM WAVE)");
    }

    /// <summary>
    /// The DABS speech recipe, with sizes as parameters: crop / zero-pad to <paramref name="samples"/>, centred
    /// STFT (Hann window, power 2), an HTK mel filterbank (torchaudio's default), then decibels with ref 1 and
    /// top 80 dB below the clip's maximum. Returns (mels, frames) floats (not yet normalised).
    /// </summary>
    public static float[] LogMel(float[] wave, int samples, int nFft, int hop, int mels, int sampleRate, out int frames)
    {
        using var scope = NewDisposeScope();
        var w = new float[samples];
        Array.Copy(wave, w, Math.Min(samples, wave.Length));
        var x = tensor(w);
        var spec = stft(x, nFft, hop, nFft, hann_window(nFft), center: true, pad_mode: TorchSharp.PaddingModes.Reflect, return_complex: true)
            .abs().pow(2);                                                        // (nFft/2+1, frames)
        frames = (int)spec.shape[1];
        var fb = tensor(MelFilterbank(nFft / 2 + 1, mels, sampleRate), [mels, nFft / 2 + 1]);
        var mel = fb.matmul(spec);                                                // (mels, frames)
        var db = 10 * mel.clamp_min(1e-10).log10();
        db = db.clamp_min(db.max().item<float>() - 80);
        return db.contiguous().data<float>().ToArray();
    }

    /// <summary>Triangular HTK-scale mel filters from 0 Hz to Nyquist, no normalisation (torchaudio melscale_fbanks defaults).</summary>
    public static float[] MelFilterbank(int nFreqs, int mels, int sampleRate)
    {
        static double HzToMel(double f) => 2595 * Math.Log10(1 + f / 700);
        static double MelToHz(double m) => 700 * (Math.Pow(10, m / 2595) - 1);
        double fMax = sampleRate / 2.0;
        var allFreqs = Enumerable.Range(0, nFreqs).Select(i => fMax * i / (nFreqs - 1)).ToArray();
        double mMax = HzToMel(fMax);
        var pts = Enumerable.Range(0, mels + 2).Select(i => MelToHz(mMax * i / (mels + 1))).ToArray();
        var fb = new float[mels * nFreqs];
        for (int m = 0; m < mels; m++)
            for (int k = 0; k < nFreqs; k++)
            {
                double f = allFreqs[k];
                double down = (f - pts[m]) / (pts[m + 1] - pts[m]);
                double up = (pts[m + 2] - f) / (pts[m + 2] - pts[m + 1]);
                fb[m * nFreqs + k] = (float)Math.Max(0, Math.Min(down, up));
            }
        return fb;
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
