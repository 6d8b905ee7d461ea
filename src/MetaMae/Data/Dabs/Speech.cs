using MetaMae.Modalities;
using static TorchSharp.torch;

namespace MetaMae.Data.Dabs;

/// <summary>
/// The DABS speech recipe: waveform cropped / zero-padded to 150,526 samples; power mel
/// spectrogram (n_fft 2048, hop 672, Hann window, centred with reflect padding, power 2, 224 mel
/// bins on the HTK mel scale without filter normalisation, 0 Hz to Nyquist, as torchaudio's
/// MelSpectrogram defaults); decibels 10 log10(max(x, 1e-10)) (ref 1) clipped to 80 dB below the
/// spectrogram's maximum; then (x - mean) / std with the dataset's constants. Result: 1x224x224.
/// </summary>
public static class LogMel
{
    public const int Samples = 150_526, NFft = 2048, Hop = 672, Mels = 224, SampleRate = 16000;
    public const double TopDb = 80;
    public static readonly GridSpec Spec = new(1, Mels, Mels, 16, 16);

    static double HzToMel(double f) => 2595.0 * Math.Log10(1.0 + f / 700.0);
    static double MelToHz(double m) => 700.0 * (Math.Pow(10.0, m / 2595.0) - 1.0);

    /// <summary>torchaudio.functional.melscale_fbanks(n_freqs, 0, sr/2, n_mels, sr, norm=None, mel_scale="htk"):
    /// (n_freqs, n_mels).</summary>
    public static double[,] FilterBank(int nFreqs = NFft / 2 + 1, int nMels = Mels, int sampleRate = SampleRate)
    {
        double fMax = sampleRate / 2.0;
        var allF = Enumerable.Range(0, nFreqs).Select(i => fMax * i / (nFreqs - 1)).ToArray();
        double mMin = HzToMel(0), mMax = HzToMel(fMax);
        var fPts = Enumerable.Range(0, nMels + 2).Select(i => MelToHz(mMin + (mMax - mMin) * i / (nMels + 1))).ToArray();
        var fb = new double[nFreqs, nMels];
        for (int k = 0; k < nFreqs; k++)
            for (int m = 0; m < nMels; m++)
            {
                double down = (allF[k] - fPts[m]) / (fPts[m + 1] - fPts[m]);
                double up = (fPts[m + 2] - allF[k]) / (fPts[m + 2] - fPts[m + 1]);
                fb[k, m] = Math.Max(0, Math.Min(down, up));
            }
        return fb;
    }

    static readonly Dictionary<(int, int, int), Tensor> FilterBanks = new();
    static readonly object Gate = new();

    /// <summary>Power mel spectrogram in dB (before normalisation): (Mels, frames) for a waveform of any length
    /// (>= 1025 samples).</summary>
    public static float[,] MelDb(float[] wave, int sampleRate = SampleRate)
    {
        if (sampleRate != SampleRate) throw new ArgumentException($"the DABS recipe expects {SampleRate} Hz audio (got {sampleRate} Hz)");
        return MelDb(wave, sampleRate, NFft, Hop, Mels);
    }

    /// <summary>The same recipe with other sizes (shorter clips): (mels, frames) in dB, clipped to TopDb below the maximum.</summary>
    public static float[,] MelDb(float[] wave, int sampleRate, int nFft, int hop, int mels)
    {
        Tensor fbT;
        lock (Gate)
        {
            if (!FilterBanks.TryGetValue((nFft, mels, sampleRate), out fbT!))
            {
                var fb = FilterBank(nFft / 2 + 1, mels, sampleRate);
                var flat = fb.Cast<double>().ToArray();
                fbT = tensor(flat, [fb.GetLength(0), fb.GetLength(1)]).DetachFromDisposeScope();
                FilterBanks[(nFft, mels, sampleRate)] = fbT;
            }
        }
        using var scope = NewDisposeScope();
        var x = tensor(wave.Select(v => (double)v).ToArray());
        var win = hann_window(nFft, periodic: true, dtype: ScalarType.Float64);
        var spec = stft(x, nFft, hop, nFft, win, center: true, pad_mode: TorchSharp.PaddingModes.Reflect, normalized: false,
            onesided: true, return_complex: true);
        var power = spec.abs().pow(2);                                           // (freqs, frames)
        var mel = fbT.t().matmul(power);                                         // (mels, frames)
        var db = mel.clamp_min(1e-10).log10().mul(10.0);
        db = db.clamp_min(db.max().item<double>() - TopDb).to(ScalarType.Float32);
        int frames = (int)db.shape[1];
        var data = db.contiguous().data<float>().ToArray();
        var r = new float[mels, frames];
        Buffer.BlockCopy(data, 0, r, 0, data.Length * 4);
        return r;
    }

    /// <summary>The full recipe: crop / pad, log-mel dB, normalise; (1, 224, 224) flattened.</summary>
    public static float[] Features(float[] wave, float mean, float std, int sampleRate = SampleRate)
    {
        var w = new float[Samples];
        Array.Copy(wave, w, Math.Min(wave.Length, Samples));
        var db = MelDb(w, sampleRate);
        if (db.GetLength(1) != Mels) throw new InvalidOperationException($"recipe gave {db.GetLength(1)} frames, expected {Mels}");
        var o = new float[Mels * Mels];
        for (int m = 0; m < Mels; m++)
            for (int t = 0; t < Mels; t++) o[m * Mels + t] = (db[m, t] - mean) / std;
        return o;
    }
}

/// <summary>Minimal RIFF WAVE reader: PCM 8/16/24/32-bit integer or 32-bit float, mono.</summary>
public static class Wav
{
    public static (float[] Samples, int SampleRate) Read(string path)
    {
        DabsIo.RequireFile(path, "a WAV file");
        return Parse(path, File.ReadAllBytes(path));
    }

    public static (float[] Samples, int SampleRate) Parse(string path, byte[] b)
    {
        DataFormatException Bad(string what) => DabsIo.Err(path, "WAV: " + what);
        if (b.Length < 12 || b[0] != 'R' || b[1] != 'I' || b[2] != 'F' || b[3] != 'F'
            || b[8] != 'W' || b[9] != 'A' || b[10] != 'V' || b[11] != 'E')
            throw Bad("not a RIFF/WAVE file (FLAC or other formats: convert with ffmpeg, see docs/dabs-datasets.md)");
        int pos = 12, fmtTag = 0, channels = 0, rate = 0, bits = 0;
        bool haveFmt = false;
        while (pos + 8 <= b.Length)
        {
            string id = System.Text.Encoding.ASCII.GetString(b, pos, 4);
            long size = BitConverter.ToUInt32(b, pos + 4);
            long body = pos + 8;
            if (body + size > b.Length) throw Bad($"chunk '{id}' of {size} bytes runs past the end of the file ({b.Length} bytes)");
            if (id == "fmt ")
            {
                if (size < 16) throw Bad($"fmt chunk of {size} bytes, expected at least 16");
                fmtTag = BitConverter.ToUInt16(b, (int)body); channels = BitConverter.ToUInt16(b, (int)body + 2);
                rate = BitConverter.ToInt32(b, (int)body + 4); bits = BitConverter.ToUInt16(b, (int)body + 14);
                if (fmtTag == 0xFFFE && size >= 26) fmtTag = BitConverter.ToUInt16(b, (int)body + 24);   // WAVE_FORMAT_EXTENSIBLE
                haveFmt = true;
            }
            else if (id == "data")
            {
                if (!haveFmt) throw Bad("data chunk before the fmt chunk");
                if (channels != 1) throw Bad($"{channels} channels, expected mono (convert with ffmpeg -ac 1)");
                if (rate <= 0) throw Bad($"sample rate {rate}");
                bool ok = (fmtTag == 1 && bits is 8 or 16 or 24 or 32) || (fmtTag == 3 && bits == 32);
                if (!ok) throw Bad($"format {fmtTag} with {bits} bits is not supported (PCM 8/16/24/32-bit or 32-bit float)");
                int bps = bits / 8;
                long n = size / bps;
                if (n == 0) throw Bad("no samples");
                var s = new float[n];
                for (long i = 0; i < n; i++)
                {
                    int at = (int)(body + i * bps);
                    s[i] = fmtTag == 3 ? BitConverter.ToSingle(b, at) : bits switch
                    {
                        8 => (b[at] - 128) / 128f,
                        16 => BitConverter.ToInt16(b, at) / 32768f,
                        24 => ((b[at] | b[at + 1] << 8 | b[at + 2] << 16) << 8 >> 8) / 8388608f,
                        _ => BitConverter.ToInt32(b, at) / 2147483648f,
                    };
                    if (!float.IsFinite(s[i])) throw Bad($"sample {i} is not a finite number");
                }
                return (s, rate);
            }
            pos = (int)(body + size + (size & 1));
        }
        throw Bad(haveFmt ? "no data chunk" : "no fmt chunk");
    }
}

/// <summary>Speech sets in their DABS folder layouts (WAV; LibriSpeech's FLAC converted, see the docs).</summary>
public static class SpeechSets
{
    /// <summary>Dataset mean / std of the dB spectrogram (DABS).</summary>
    public static readonly Dictionary<string, (float Mean, float Std)> Stats = new()
    {
        ["librispeech"] = (-22.924f, 12.587f), ["audiomnist"] = (-90.293f, 11.799f), ["fluent-speech"] = (-31.809f, 13.127f),
        ["speech-commands"] = (-46.847f, 19.151f), ["voxceleb1"] = (-37.075f, 19.776f),
    };

    static Dataset Build(string name, string where, List<(string File, string Label, bool Train)> items, DabsOptions o)
    {
        if (items.Count == 0) throw DabsIo.Err(where, "no .wav files found");
        var (mean, std) = Stats[name];
        var trX = new List<float[]>(); var trY = new List<string>();
        var teX = new List<float[]>(); var teY = new List<string>();
        foreach (var (f, label, train) in items)
        {
            var (xs, ys) = train ? (trX, trY) : (teX, teY);
            if (o.MaxPerSplit > 0 && xs.Count >= o.MaxPerSplit) continue;
            var (w, sr) = Wav.Read(f);
            if (sr != LogMel.SampleRate)
                throw DabsIo.Err(f, $"sample rate {sr} Hz, expected {LogMel.SampleRate} " +
                    "(resample with ffmpeg -ar 16000)");
            xs.Add(LogMel.Features(w, mean, std)); ys.Add(label);
        }
        return DabsIo.Classification(DabsIo.Limited(name, o), where, LogMel.Spec, trX, null, trY, teX, null, teY);
    }

    /// <summary>
    /// LibriSpeech train-clean-100 converted to WAV: dir/train-clean-100/SPEAKER/CHAPTER/*.wav; label =
    /// speaker (251 classes). Per speaker, every 5th file in path order is test, the rest train
    /// (test-clean's speakers are disjoint from train-clean-100's, so it cannot score a speaker probe).
    /// </summary>
    public static Dataset LibriSpeech(string dir, DabsOptions? o = null)
    {
        o ??= new();
        var d = Path.Combine(dir, "train-clean-100");
        DabsIo.RequireDir(d, "LibriSpeech train-clean-100 converted to WAV");
        var items = new List<(string, string, bool)>();
        foreach (var spk in DabsIo.Files(d, ".wav").GroupBy(f => Path.GetRelativePath(d, f).Split(Path.DirectorySeparatorChar)[0]))
            items.AddRange(spk.Select((f, i) => (f, spk.Key, i % 5 != 4)));
        return Build("librispeech", dir, items, o);
    }

    /// <summary>AudioMNIST: dir/data/SPEAKER/DIGIT_SPEAKER_INDEX.wav; label = digit; speakers 01..48 train, 49..60 test.</summary>
    public static Dataset AudioMnist(string dir, DabsOptions? o = null)
    {
        o ??= new();
        var d = Path.Combine(dir, "data");
        DabsIo.RequireDir(d, "AudioMNIST data/ folder with one folder per speaker");
        var items = new List<(string, string, bool)>();
        foreach (var f in DabsIo.Files(d, ".wav"))
        {
            var parts = Path.GetFileNameWithoutExtension(f).Split('_');
            if (parts.Length != 3 || parts[0].Length != 1 || !char.IsAsciiDigit(parts[0][0]) || !int.TryParse(parts[1], out var spk))
                throw DabsIo.Err(f, "file name is not DIGIT_SPEAKER_INDEX.wav");
            items.Add((f, parts[0], spk <= 48));
        }
        return Build("audiomnist", dir, items, o);
    }

    /// <summary>Google Speech Commands v0.02: dir/WORD/*.wav, testing_list.txt names the test files; label = word.</summary>
    public static Dataset SpeechCommands(string dir, DabsOptions? o = null)
    {
        o ??= new();
        var listPath = Path.Combine(dir, "testing_list.txt");
        DabsIo.RequireFile(listPath, "the Speech Commands test list");
        var test = File.ReadAllLines(listPath).Select(l => l.Trim()).Where(l => l.Length > 0).ToHashSet();
        var items = new List<(string, string, bool)>();
        foreach (var w in Directory.GetDirectories(dir).Order(StringComparer.Ordinal))
        {
            var word = Path.GetFileName(w);
            if (word.StartsWith('_')) continue;                            // _background_noise_ is not a class
            foreach (var f in DabsIo.Files(w, ".wav"))
                items.Add((f, word, !test.Contains(word + "/" + Path.GetFileName(f))));
        }
        return Build("speech-commands", dir, items, o);
    }

    /// <summary>Fluent Speech Commands: dir/data/train_data.csv and test_data.csv (path, action, object, location);
    /// label = the intent action|object|location.</summary>
    public static Dataset FluentSpeech(string dir, DabsOptions? o = null)
    {
        o ??= new();
        var items = new List<(string, string, bool)>();
        foreach (var (csv, train) in new[] { ("train_data.csv", true), ("test_data.csv", false) })
        {
            var t = CsvTable.Read(Path.Combine(dir, "data", csv));
            int pi = t.Column("path"), ai = t.Column("action"), oi = t.Column("object"), li = t.Column("location");
            foreach (var (line, f) in t.Rows)
            {
                var wav = Path.Combine(dir, f[pi]);
                if (!File.Exists(wav)) throw new DataFormatException($"{t.Path}:{line}: field 'path' names {wav}, which does not exist");
                items.Add((wav, $"{f[ai]}|{f[oi]}|{f[li]}", train));
            }
        }
        return Build("fluent-speech", dir, items, o);
    }

    /// <summary>VoxCeleb1 identification: dir/iden_split.txt ("1|2|3 idXXXXX/VIDEO/NNNNN.wav"; 1, 2 train, 3 test) and
    /// dir/wav/...; label = speaker.</summary>
    public static Dataset VoxCeleb1(string dir, DabsOptions? o = null)
    {
        o ??= new();
        var split = Path.Combine(dir, "iden_split.txt");
        DabsIo.RequireFile(split, "the VoxCeleb1 identification split");
        var items = new List<(string, string, bool)>();
        int line = 0;
        foreach (var l in File.ReadLines(split))
        {
            line++;
            if (l.Trim().Length == 0) continue;
            var p = l.Trim().Split(' ', 2);
            if (p.Length != 2 || p[0] is not ("1" or "2" or "3"))
                throw new DataFormatException($"{split}:{line}: expected '1|2|3 SPEAKER/VIDEO/FILE.wav'");
            var wav = Path.Combine(dir, "wav", p[1]);
            if (!File.Exists(wav)) throw new DataFormatException($"{split}:{line}: {wav} does not exist");
            items.Add((wav, p[1].Split('/')[0], p[0] != "3"));
        }
        return Build("voxceleb1", dir, items, o);
    }
}
