using System.Text;
using MetaMae.Data;
using MetaMae.Data.Dabs;
using MetaMae.Modalities;

namespace MetaMae.Tests;

/// <summary>Image, TIFF, wafer-map and speech readers on fixtures in the real formats, the log-mel recipe, and seeded fuzzing of every reader.</summary>
public class DabsMediaTests
{
    // ---------- CIFAR-10 / ImageNet32 ----------
    static byte[] Record(int label, int labelBytes, Func<int, byte> px)
    {
        var r = new byte[labelBytes + 3072];
        r[0] = (byte)label; if (labelBytes == 2) r[1] = (byte)(label >> 8);
        for (int k = 0; k < 3072; k++) r[labelBytes + k] = px(k);
        return r;
    }

    internal static string CifarDir()
    {
        var d = Tmp.Dir("cifar");
        for (int b = 1; b <= 5; b++)
            File.WriteAllBytes(Path.Combine(d, $"data_batch_{b}.bin"), [.. Record(b % 3, 1, k => (byte)(k % 256)), .. Record((b + 1) % 3, 1, _ => 255)]);
        File.WriteAllBytes(Path.Combine(d, "test_batch.bin"), Record(2, 1, _ => 51));
        return d;
    }

    [Fact]
    public void Cifar10RecordsOf3073Bytes()
    {
        var ds = Images.Cifar10(CifarDir());
        Assert.Equal(new GridSpec(3, 32, 32, 4, 4), ds.Spec);
        Assert.Equal(10, ds.Train.Count);
        Assert.Equal(["0-airplane", "1-automobile", "2-bird"], ds.ClassNames);
        Assert.Equal(1L, ds.Train.Labels![0]);
        Assert.Equal(5 / 255f, ds.Train.X[0, 0, 0, 5].item<float>(), 6);        // red plane, pixel 5
        Assert.Equal(((1024 + 3) % 256) / 255f, ds.Train.X[0, 1, 0, 3].item<float>(), 6);   // green plane
        Assert.Equal(0.2f, ds.Test!.X[0, 2, 31, 31].item<float>(), 6);
    }

    [Fact]
    public void CifarAndImageNetTruncationAndBadLabelAreNamed()
    {
        var d = CifarDir();
        var p = Path.Combine(d, "test_batch.bin");
        File.WriteAllBytes(p, new byte[3072]);
        Assert.Contains($"{p}: size 3072 bytes is not a multiple of the 3073-byte record", Assert.Throws<DataFormatException>(() => Images.Cifar10(d)).Message);
        File.WriteAllBytes(p, Record(10, 1, _ => 0));
        Assert.Contains("record 0 (byte 0): label 10, expected 0..9", Assert.Throws<DataFormatException>(() => Images.Cifar10(d)).Message);

        var i = Tmp.Dir("imagenet32");
        File.WriteAllBytes(Path.Combine(i, "train.bin"), [.. Record(999, 2, _ => 1), .. Record(5, 2, _ => 2)]);
        File.WriteAllBytes(Path.Combine(i, "val.bin"), Record(999, 2, _ => 3));
        var ds = Images.ImageNet32(i);
        Assert.Equal(["0005", "0999"], ds.ClassNames);
        File.WriteAllBytes(Path.Combine(i, "val.bin"), Record(1000, 2, _ => 3));
        Assert.Contains("label 1000, expected 0..999", Assert.Throws<DataFormatException>(() => Images.ImageNet32(i)).Message);
    }

    // ---------- class-folder images (BMP via StbImageSharp, PPM) ----------
    static byte[] Bmp(int w, int h, Func<int, int, (byte R, byte G, byte B)> px)
    {
        int stride = (w * 3 + 3) & ~3, size = 54 + stride * h;
        var b = new byte[size];
        b[0] = (byte)'B'; b[1] = (byte)'M';
        BitConverter.GetBytes(size).CopyTo(b, 2); BitConverter.GetBytes(54).CopyTo(b, 10); BitConverter.GetBytes(40).CopyTo(b, 14);
        BitConverter.GetBytes(w).CopyTo(b, 18); BitConverter.GetBytes(h).CopyTo(b, 22); BitConverter.GetBytes((short)1).CopyTo(b, 26);
        BitConverter.GetBytes((short)24).CopyTo(b, 28);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                var (r, g, bl) = px(x, h - 1 - y);                                    // bottom-up rows
                int at = 54 + y * stride + x * 3;
                b[at] = bl; b[at + 1] = g; b[at + 2] = r;
            }
        return b;
    }

    static byte[] Ppm(int w, int h, byte v) => [.. Encoding.ASCII.GetBytes($"P6\n# test\n{w} {h}\n255\n"), .. Enumerable.Repeat(v, 3 * w * h)];

    internal static string ImageFolder()
    {
        var d = Tmp.Dir("imgfolder");
        foreach (var split in new[] { "train", "test" })
        {
            Directory.CreateDirectory(Path.Combine(d, split, "red"));
            Directory.CreateDirectory(Path.Combine(d, split, "gray"));
            File.WriteAllBytes(Path.Combine(d, split, "red", "a.bmp"), Bmp(64, 48, (x, y) => (255, 0, (byte)(x < 32 ? 0 : 255))));
            File.WriteAllBytes(Path.Combine(d, split, "gray", "b.ppm"), Ppm(5, 7, 102));
        }
        return d;
    }

    [Fact]
    public void ImageFolderDecodesAndResizesTo32()
    {
        var ds = Images.Folder("cub", ImageFolder());
        Assert.Equal(["gray", "red"], ds.ClassNames);
        Assert.Equal(2, ds.Train.Count);
        Assert.Equal(0.4f, ds.Train.X[0, 1, 10, 10].item<float>(), 5);         // PPM grey 102/255, resized from 5x7
        Assert.Equal(1f, ds.Train.X[1, 0, 3, 3].item<float>(), 5);             // red
        Assert.Equal(0f, ds.Train.X[1, 2, 3, 3].item<float>(), 5);             // blue off on the left half
        Assert.Equal(1f, ds.Train.X[1, 2, 3, 28].item<float>(), 5);            // blue on the right half
    }

    [Fact]
    public void ImageFolderErrorsNameTheFile()
    {
        var d = ImageFolder();
        var bad = Path.Combine(d, "test", "red", "a.bmp");
        File.WriteAllBytes(bad, [1, 2, 3]);
        Assert.Contains($"{bad}: cannot decode", Assert.Throws<DataFormatException>(() => Images.Folder("x", d)).Message);
        File.Delete(bad);
        Assert.Contains("empty class", Assert.Throws<DataFormatException>(() => Images.Folder("x", d)).Message);
    }

    // ---------- EuroSAT TIFF ----------
    /// <summary>A baseline little-endian TIFF: 16-bit, spp bands, chunky, one strip; band b pixel i = 1000 b + i.</summary>
    internal static byte[] Tiff(int w, int h, int spp, bool planar = false)
    {
        var ms = new MemoryStream();
        var bw = new BinaryWriter(ms);
        int n = 10, ifd = 8, bpsAt = ifd + 2 + 12 * n + 4, dataAt = bpsAt + 2 * spp;
        bw.Write((byte)'I'); bw.Write((byte)'I'); bw.Write((ushort)42); bw.Write(ifd);
        bw.Write((ushort)n);
        void Tag(ushort tag, ushort type, int count, int value) { bw.Write(tag); bw.Write(type); bw.Write(count); if (type == 3 && count == 1) { bw.Write((ushort)value); bw.Write((ushort)0); } else bw.Write(value); }
        Tag(256, 3, 1, w); Tag(257, 3, 1, h); Tag(258, 3, spp, bpsAt); Tag(259, 3, 1, 1); Tag(262, 3, 1, 1);
        Tag(273, 4, 1, dataAt); Tag(277, 3, 1, spp); Tag(278, 3, 1, h); Tag(279, 4, 1, w * h * spp * 2); Tag(284, 3, 1, planar ? 2 : 1);
        bw.Write(0);
        for (int s = 0; s < spp; s++) bw.Write((ushort)16);
        if (planar) { for (int b = 0; b < spp; b++) for (int i = 0; i < w * h; i++) bw.Write((ushort)(1000 * b + i)); }
        else for (int i = 0; i < w * h; i++) for (int b = 0; b < spp; b++) bw.Write((ushort)(1000 * b + i));
        return ms.ToArray();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void TiffReadsChunkyAndPlanarBands(bool planar)
    {
        var t = MetaMae.Data.Dabs.Tiff.Parse("x.tif", Tiff(4, 3, 13, planar));
        Assert.Equal((4, 3, 13), (t.Width, t.Height, t.Bands));
        Assert.Equal(12000 + 7, t.Data[12 * 12 + 7]);
        Assert.Equal(5, t.Data[5]);
    }

    [Fact]
    public void EuroSatNormalisesPerBandAndSplitsPerClass()
    {
        var d = Tmp.Dir("eurosat");
        foreach (var c in new[] { "Forest", "River" })
        {
            Directory.CreateDirectory(Path.Combine(d, c));
            for (int k = 0; k < 5; k++) File.WriteAllBytes(Path.Combine(d, c, $"{c}_{k}.tif"), Tiff(64, 64, 13));
        }
        var ds = EuroSat.Load(d);
        Assert.Equal(new GridSpec(13, 64, 64, 8, 8), ds.Spec);
        Assert.Equal((8, 2), (ds.Train.Count, ds.Test!.Count));
        Assert.Equal((9000 + 64 + 2 - 12.0956f) / 4.7207f, ds.Train.X[0, 9, 1, 2].item<float>(), 3);
        File.WriteAllBytes(Path.Combine(d, "River", "River_0.tif"), Tiff(32, 32, 13));
        Assert.Contains("expected 13 bands x 64x64", Assert.Throws<DataFormatException>(() => EuroSat.Load(d)).Message);
    }

    // ---------- WaferMap ----------
    internal static string WaferCsv()
    {
        var p = Path.Combine(Tmp.Dir("wafer"), "wafermap.csv");
        File.WriteAllText(p, "failureType,split,rows,cols,map\nnone,train,2,2,0122\nCenter,train,3,2,012210\nnone,test,2,2,2222\n");
        return p;
    }

    [Fact]
    public void WaferMapScalesAndResizes()
    {
        var ds = WaferMap.Load(WaferCsv());
        Assert.Equal(["Center", "none"], ds.ClassNames);
        Assert.Equal(new GridSpec(3, 32, 32, 4, 4), ds.Spec);
        Assert.Equal(0f, ds.Train.X[0, 0, 0, 0].item<float>(), 5);
        Assert.Equal(1f, ds.Train.X[0, 2, 31, 31].item<float>(), 5);       // pixel 2 -> 255 -> 1.0
        Assert.Equal(1f, ds.Test!.X[0, 1, 16, 16].item<float>(), 5);
    }

    [Theory]
    [InlineData("Blob,train,1,1,0", "field 'failureType' is 'Blob'")]
    [InlineData("none,train,2,2,012", "field 'map' has 3 digits, expected rows x cols = 4")]
    [InlineData("none,train,1,1,3", "field 'map' position 1: '3'")]
    [InlineData("none,valid,1,1,0", "expected 'train' or 'test'")]
    public void WaferMapMalformedRows(string row, string what)
    {
        var p = Path.Combine(Tmp.Dir("wafer"), "wafermap.csv");
        File.WriteAllText(p, "failureType,split,rows,cols,map\nnone,train,1,1,0\nnone,test,1,1,0\n" + row + "\n");
        var e = Assert.Throws<DataFormatException>(() => WaferMap.Load(p));
        Assert.Contains($"{p}:4", e.Message);
        Assert.Contains(what, e.Message);
    }

    // ---------- WAV and the log-mel recipe ----------
    internal static byte[] WavBytes(float[] s, int rate = 16000)
    {
        var ms = new MemoryStream();
        var bw = new BinaryWriter(ms);
        bw.Write(Encoding.ASCII.GetBytes("RIFF")); bw.Write(36 + s.Length * 2); bw.Write(Encoding.ASCII.GetBytes("WAVEfmt "));
        bw.Write(16); bw.Write((short)1); bw.Write((short)1); bw.Write(rate); bw.Write(rate * 2); bw.Write((short)2); bw.Write((short)16);
        bw.Write(Encoding.ASCII.GetBytes("data")); bw.Write(s.Length * 2);
        foreach (var v in s) bw.Write((short)Math.Round(Math.Clamp(v, -1, 1) * 32767));
        return ms.ToArray();
    }

    static float[] Sine(double hz, int n, double amp = 0.5) => Enumerable.Range(0, n).Select(i => (float)(amp * Math.Sin(2 * Math.PI * hz * i / 16000))).ToArray();

    [Fact]
    public void WavRoundTrip()
    {
        var (s, rate) = Wav.Parse("t.wav", WavBytes([0f, 0.5f, -0.5f]));
        Assert.Equal(16000, rate);
        Assert.Equal(new[] { 0f, 0.5f, -0.5f }, s);                          // 16-bit 0, 16384, -16384
        Assert.Contains("not a RIFF/WAVE", Assert.Throws<DataFormatException>(() => Wav.Parse("t.flac", Encoding.ASCII.GetBytes("fLaC0000000000"))).Message);
    }

    [Fact]
    public void MelFilterBankFollowsTheHtkScale()
    {
        var fb = LogMel.FilterBank();
        Assert.Equal((1025, 224), (fb.GetLength(0), fb.GetLength(1)));
        // HTK: mel(f) = 2595 log10(1 + f/700); filter m peaks at the (m+1)-th of 226 equally spaced mel points
        double melMax = 2595 * Math.Log10(1 + 8000 / 700.0);
        for (int m = 40; m < 224; m += 37)
        {
            double centre = 700 * (Math.Pow(10, melMax * (m + 1) / 225 / 2595) - 1);
            int peak = Enumerable.Range(0, 1025).MaxBy(k => fb[k, m]);
            Assert.InRange(peak * 8000.0 / 1024, centre - 8000.0 / 1024, centre + 8000.0 / 1024);
        }
    }

    [Fact]
    public void SineEnergyLandsInTheRightMelBinAndDbIsClippedAt80()
    {
        var db = LogMel.MelDb(Sine(1000, LogMel.Samples));
        Assert.Equal((224, 224), (db.GetLength(0), db.GetLength(1)));
        double melMax = 2595 * Math.Log10(1 + 8000 / 700.0);
        double mel1k = 2595 * Math.Log10(1 + 1000 / 700.0);
        int expected = (int)Math.Round(mel1k / melMax * 225) - 1;             // the filter centred nearest 1 kHz
        int best = Enumerable.Range(0, 224).MaxBy(m => db[m, 112]);
        Assert.InRange(best, expected - 1, expected + 1);
        // independent value: power of a sine of amplitude A in a periodic-Hann frame of 2048 is (A * sum(w) / 2)^2 at its bin
        // summed over the filter's weights; here check the top within 1 dB of 10 log10((0.5*1024/2)^2 * weight-sum) bound
        float max = db.Cast<float>().Max(), min = db.Cast<float>().Min();
        Assert.Equal(max - 80f, min, 3);                                      // top_db clipping
        Assert.InRange(max, 10 * Math.Log10(Math.Pow(0.5 * 1024 / 2, 2) * 0.2), 10 * Math.Log10(Math.Pow(0.5 * 1024 / 2, 2) * 2.5));
        // silence is 10 log10(1e-10) = -100 dB everywhere
        var silent = LogMel.MelDb(new float[LogMel.Samples]);
        Assert.All(silent.Cast<float>(), v => Assert.Equal(-100f, v, 3));
    }

    [Fact]
    public void FeaturesPadShortAudioAndNormalise()
    {
        var f = LogMel.Features(new float[100], -100f, 2f);
        Assert.Equal(224 * 224, f.Length);
        Assert.All(f, v => Assert.Equal(0f, v, 3));                           // (-100 - -100) / 2
    }

    [Fact]
    public void SpeechCommandsLayoutAndSampleRateCheck()
    {
        var d = Tmp.Dir("gsc");
        foreach (var w in new[] { "yes", "no", "_background_noise_" })
        {
            Directory.CreateDirectory(Path.Combine(d, w));
            File.WriteAllBytes(Path.Combine(d, w, "a_nohash_0.wav"), WavBytes(Sine(440, 2000)));
            File.WriteAllBytes(Path.Combine(d, w, "b_nohash_0.wav"), WavBytes(Sine(880, 2000)));
        }
        File.WriteAllText(Path.Combine(d, "testing_list.txt"), "yes/b_nohash_0.wav\nno/b_nohash_0.wav\n");
        var ds = SpeechSets.SpeechCommands(d);
        Assert.Equal(new GridSpec(1, 224, 224, 16, 16), ds.Spec);
        Assert.Equal(["no", "yes"], ds.ClassNames);
        Assert.Equal((2, 2), (ds.Train.Count, ds.Test!.Count));
        var p = Path.Combine(d, "yes", "a_nohash_0.wav");
        File.WriteAllBytes(p, WavBytes(Sine(440, 2000), 8000));
        Assert.Contains($"{p}: sample rate 8000 Hz, expected 16000", Assert.Throws<DataFormatException>(() => SpeechSets.SpeechCommands(d)).Message);
    }

    // ---------- seeded fuzzing: every reader loads or throws DataFormatException ----------
    static void Fuzz(string name, byte[] fixture, string path, Action load, int n = 200)
    {
        var rng = new Random(name.Aggregate(17, (h, c) => h * 31 + c));
        int ok = 0, rejected = 0;
        for (int i = 0; i < n; i++)
        {
            var b = (byte[])fixture.Clone();
            int kind = rng.Next(4);
            if (kind == 0) for (int k = 0; k < 1 + rng.Next(4); k++) b[rng.Next(b.Length)] = (byte)rng.Next(256);
            else if (kind == 1) b = b[..rng.Next(b.Length)];
            else if (kind == 2) { int at = rng.Next(b.Length); b = [.. b[..at], .. Enumerable.Range(0, 1 + rng.Next(8)).Select(_ => (byte)rng.Next(256)), .. b[at..]]; }
            else { int at = rng.Next(b.Length), len = rng.Next(1, 16); b = [.. b[..at], .. b[Math.Min(b.Length, at + len)..]]; }
            File.WriteAllBytes(path, b);
            try { load(); ok++; }
            catch (DataFormatException) { rejected++; }
            catch (Exception e) { Assert.Fail($"{name} mutation {i} (kind {kind}): {e.GetType().Name}: {e.Message}"); }
        }
        Assert.Equal(n, ok + rejected);
        Assert.True(rejected > 0, $"{name}: no mutation was rejected");
    }

    [Fact]
    public void FuzzBinaryReaders()
    {
        var c = CifarDir();
        var p = Path.Combine(c, "test_batch.bin");
        Fuzz("cifar", File.ReadAllBytes(p), p, () => Images.Cifar10(c));
        var tif = Path.Combine(Tmp.Dir("tif"), "a.tif");
        Fuzz("tiff", Tiff(8, 8, 13), tif, () => MetaMae.Data.Dabs.Tiff.Read(tif), 400);
        var wav = Path.Combine(Tmp.Dir("wav"), "a.wav");
        Fuzz("wav", WavBytes(Sine(440, 64)), wav, () => Wav.Read(wav), 400);
        var img = ImageFolder();
        var ppm = Path.Combine(img, "train", "gray", "b.ppm");
        Fuzz("ppm", File.ReadAllBytes(ppm), ppm, () => Images.Folder("x", img));
        var bmp = Path.Combine(img, "train", "red", "a.bmp");
        File.WriteAllBytes(ppm, Ppm(5, 7, 102));
        Fuzz("bmp", Bmp(6, 5, (x, y) => ((byte)x, (byte)y, 9)), bmp, () => Images.Folder("x", img));
    }

    [Fact]
    public void FuzzTextReaders()
    {
        var pam = DabsReaderTests.Pamap2Dir(4);
        var p = Path.Combine(pam, "subject105.dat");
        Fuzz("pamap2", File.ReadAllBytes(p), p, () => Pamap2.Load(pam), 150);
        var h = Path.Combine(Tmp.Dir("higgs"), "HIGGS.csv");
        var higgs = Encoding.ASCII.GetBytes(string.Join("", Enumerable.Range(0, 6).Select(i => $"{i % 2}," + string.Join(',', Enumerable.Range(0, 28).Select(k => (k * 0.5).ToString(System.Globalization.CultureInfo.InvariantCulture))) + "\n")));
        Fuzz("higgs", higgs, h, () => Higgs.Load(h));
        var g = DabsReaderTests.GenomicsDir();
        var gp = Path.Combine(g, "test.csv");
        Fuzz("genomics", File.ReadAllBytes(gp), gp, () => Genomics.Load(g));
        foreach (var task in Enum.GetValues<TapeTask>())
        {
            var d = DabsReaderTests.TapeDir(task);
            var tp = Path.Combine(d, Tape.Layout(task).Test);
            Fuzz("tape-" + task, File.ReadAllBytes(tp), tp, () => Tape.Load(task, d), 100);
        }
        var w = WaferCsv();
        Fuzz("wafermap", File.ReadAllBytes(w), w, () => WaferMap.Load(w));
    }
}
