using MetaMae.Data;
using MetaMae.Evaluation;
using MetaMae.Model;
using MetaMae.Training;
using static TorchSharp.torch;

namespace MetaMae.Tests;

/// <summary>Every shipped dataset and generator through a tiny pretrain + probe (library path of `metamae run`).</summary>
public class ShippedDatasetRunTests
{
    public static TheoryData<string> Names() { var d = new TheoryData<string>(); foreach (var e in Catalog.Entries) d.Add(e.Name); return d; }

    [Theory]
    [MemberData(nameof(Names))]
    public void TinyRunWorksOnEveryCatalogEntry(string name)
    {
        var e = Catalog.Get(name);
        var ds = Catalog.Load(name);
        Assert.True(ds.Train.Count > 1);
        Assert.All(ds.Spec.RawShape, s => Assert.True(s > 0));
        Assert.False(ds.Train.X.isnan().any().item<bool>(), $"{name}: NaN in the inputs");
        // a small subset keeps the whole catalog within seconds (full-size runs are `metamae run` commands)
        var train = ds.Train.Take(Enumerable.Range(0, Math.Min(96, ds.Train.Count)).ToArray());
        var test = ds.Test?.Take(Enumerable.Range(0, Math.Min(48, ds.Test.Count)).ToArray());
        ds = new Dataset(ds.Name, ds.Spec, train, test, ds.ClassNames, ds.Task);
        var cfg = new RunConfig("metamae", name, ds.Spec, e.Preset.Apply(ModelConfig.Tiny), e.Preset.Objective(true),
            new TrainOptions { Steps = 2, Batch = 8, LogEvery = 1 });
        var pre = Pretrainer.Run(ds.Train.X, cfg, Tmp.Dir("ds-" + name));
        Assert.True(double.IsFinite(pre.FinalLoss));
        if (!ds.IsLabeled) { Assert.Throws<ArgumentException>(() => LinearProbe.Run(pre.Model, ds, new ProbeOptions { Epochs = 1 })); return; }
        var r = LinearProbe.Run(pre.Model, ds, new ProbeOptions { Epochs = 2, Batch = 64 });
        Assert.Equal(ds.Task == TaskKind.Regression ? "spearman" : "accuracy", r.Metric);
        Assert.True(double.IsFinite(r.Test));
    }

    [Fact]
    public void GeneratorsAreSeededAndShapedLikeThePaperData()
    {
        var a = Data.Generators.Pamap2Like.Generate(2, 1, seed: 3);
        var b = Data.Generators.Pamap2Like.Generate(2, 1, seed: 3);
        Assert.True(T.Same(a.Train.X, b.Train.X));
        Assert.Equal([52L, 320L], a.Spec.RawShape);
        Assert.Equal(12, a.ClassNames.Length);
        var w = Data.Generators.WaferLike.Generate(90, 30);
        Assert.Equal(9, w.ClassNames.Length);
        var s = Data.Generators.TapeLike.Stability(50, 20);
        Assert.Equal(TaskKind.Regression, s.Task);
        Assert.Equal(50, s.Train.Targets!.Length);
    }

    [Fact]
    public void SatelliteReshapesBandsAsTheReadmeSays()
    {
        var dir = Tmp.Dir("sat");
        var f = Path.Combine(dir, "s.csv");
        var head = string.Join(",", Enumerable.Range(1, 36).Select(i => "x" + i)) + ",label,split";
        File.WriteAllText(f, head + "\n" + string.Join(",", Enumerable.Range(0, 36)) + ",a,train\n" + string.Join(",", Enumerable.Range(0, 36).Select(i => 2 * i)) + ",b,train\n" + string.Join(",", Enumerable.Range(0, 36).Select(i => 3 * i)) + ",a,test\n");
        var ds = Shipped.Satellite(f);
        // T[b,r,c] = x[(r*3+c)*4+b]; rows v and 2v, per-band standardised: X[1]-X[0] = v/s_b, so the ratio of two
        // cells of band 1 is the ratio of their raw values: pixel (0,1) = x6 = 5, pixel (0,2) = x10 = 9
        var x = ds.Train.X;
        double ratio = (x[1, 1, 0, 1] - x[0, 1, 0, 1]).item<float>() / (double)(x[1, 1, 0, 2] - x[0, 1, 0, 2]).item<float>();
        Assert.Equal(5.0 / 9.0, ratio, 4);
    }
}

/// <summary>Bring-your-own data in every generic format, and their bad-input errors.</summary>
public class ByoDataTests
{
    static readonly Random R = new(1);

    internal static void Png(string path, int w, int h, int seed)
    {
        var rng = new Random(seed);
        var rgb = new byte[w * h * 3];
        for (int i = 0; i < w * h; i++) { rgb[3 * i] = (byte)rng.Next(256); rgb[3 * i + 1] = (byte)(seed * 40); rgb[3 * i + 2] = (byte)rng.Next(256); }
        File.WriteAllBytes(path, PngWriter.Rgb(w, h, rgb));
    }

    internal static void Wav(string path, int samples, double freq)
    {
        using var s = new BinaryWriter(File.Create(path));
        s.Write("RIFF"u8); s.Write(36 + 2 * samples); s.Write("WAVE"u8); s.Write("fmt "u8); s.Write(16); s.Write((short)1); s.Write((short)1);
        s.Write(16000); s.Write(32000); s.Write((short)2); s.Write((short)16); s.Write("data"u8); s.Write(2 * samples);
        for (int i = 0; i < samples; i++) s.Write((short)(8000 * Math.Sin(2 * Math.PI * freq * i / 16000)));
    }

    internal static string TabularCsv(string dir)
    {
        var f = Path.Combine(dir, "t.csv");
        File.WriteAllLines(f, ["a,b,c,label", .. Enumerable.Range(0, 30).Select(i => $"{i},{i * 0.5},{R.NextDouble():F3},{(i % 2 == 0 ? "x" : "y")}")]);
        return f;
    }

    internal static string Fasta(string dir)
    {
        var f = Path.Combine(dir, "s.fasta");
        File.WriteAllLines(f, Enumerable.Range(0, 20).SelectMany(i => new[] { $">s{i}|{(i % 2 == 0 ? "p" : "q")}", new string("ACGT"[i % 4], 5 + i % 3), "GATT" }));
        return f;
    }

    internal static string SeriesCsv(string dir)
    {
        var f = Path.Combine(dir, "ser.csv");
        File.WriteAllLines(f, ["c1,c2", .. Enumerable.Range(0, 400).Select(i => $"{Math.Sin(i * 0.1):F4},{i % 7}")]);
        return f;
    }

    [Fact]
    public void TabularCsvWithLabelAndSeededSplit()
    {
        var ds = ByoData.Load(TabularCsv(Tmp.Dir("byo-tab")), new ByoOptions { Modality = "tabular" });
        Assert.Equal([3L], ds.Spec.RawShape);
        Assert.Equal(2, ds.ClassNames.Length);
        Assert.Equal(24, ds.Train.Count);   // 15 per class, 3 each to test
        Assert.Equal(6, ds.Test!.Count);
    }

    [Fact]
    public void FastaSequencesInferTheAlphabetAndPad()
    {
        var ds = ByoData.Load(Fasta(Tmp.Dir("byo-fa")), new ByoOptions { Modality = "sequence" });
        var spec = Assert.IsType<Modalities.TokenSpec>(ds.Spec);
        Assert.Equal(5, spec.Vocab);           // padding + ACGT
        Assert.Equal(11, spec.Length);
        Assert.Equal(0, spec.PadId);
        var e = Assert.Throws<DataFormatException>(() => ByoData.Load(Fasta(Tmp.Dir("byo-fa2")), new ByoOptions { Modality = "sequence", Alphabet = "ACG" }));
        Assert.Contains("symbol 'T'", e.Message);
    }

    [Fact]
    public void CsvStringsAndTokenIds()
    {
        var dir = Tmp.Dir("byo-csv");
        var f = Path.Combine(dir, "q.csv");
        File.WriteAllLines(f, ["sequence,label,split", "ABBA,u,train", "BAAB,v,train", "AAAA,u,test", "BBBB,v,test"]);
        var ds = ByoData.Load(f, new ByoOptions { Modality = "sequence" });
        Assert.Equal(2, ds.Train.Count);
        var g = Path.Combine(dir, "ids.csv");
        File.WriteAllLines(g, ["t1,t2,t3,label", "0,1,2,a", "3,1,0,b", "2,2,2,a", "1,0,3,b", "0,0,1,a"]);
        var dt = ByoData.Load(g, new ByoOptions { Modality = "tokens" });
        Assert.Equal(4, ((Modalities.TokenSpec)dt.Spec).Vocab);
        File.WriteAllLines(g, ["t1,t2,label", "0,1.5,a", "3,1,b"]);
        Assert.Contains("token id", Assert.Throws<DataFormatException>(() => ByoData.Load(g, new ByoOptions { Modality = "tokens" })).Message);
    }

    [Fact]
    public void ImageAndAudioFoldersPerClass()
    {
        var dir = Tmp.Dir("byo-img");
        foreach (var c in new[] { "cat", "dog" })
        {
            Directory.CreateDirectory(Path.Combine(dir, c));
            for (int i = 0; i < 5; i++) Png(Path.Combine(dir, c, $"{i}.png"), 16, 16, i + (c == "dog" ? 3 : 0));
        }
        var ds = ByoData.Load(dir, new ByoOptions { Modality = "image" });
        Assert.Equal([3L, 16L, 16L], ds.Spec.RawShape);
        Assert.Equal(8, ds.Train.Count);
        Png(Path.Combine(dir, "dog", "big.png"), 20, 16, 1);
        Assert.Contains("expected 16x16", Assert.Throws<DataFormatException>(() => ByoData.Load(dir, new ByoOptions { Modality = "image" })).Message);
        File.Delete(Path.Combine(dir, "dog", "big.png"));
        Directory.CreateDirectory(Path.Combine(dir, "empty"));
        Assert.Contains("empty class", Assert.Throws<DataFormatException>(() => ByoData.Load(dir, new ByoOptions { Modality = "image" })).Message);

        var ad = Tmp.Dir("byo-wav");
        foreach (var (c, fq) in new[] { ("low", 300.0), ("high", 2000.0) })
        {
            Directory.CreateDirectory(Path.Combine(ad, c));
            for (int i = 0; i < 5; i++) Wav(Path.Combine(ad, c, $"{i}.wav"), 6000 + 500 * i, fq + 10 * i);
        }
        var da = ByoData.Load(ad, new ByoOptions { Modality = "audio" });
        Assert.Equal([1L, 64L, 64L], da.Spec.RawShape);
        Assert.False(da.Train.X.isnan().any().item<bool>());
    }

    [Fact]
    public void SeriesCsvIsCutIntoWindows()
    {
        var ds = ByoData.Load(SeriesCsv(Tmp.Dir("byo-ser")), new ByoOptions { Modality = "series", Length = 40, Patch = 4 });
        Assert.Equal([2L, 40L], ds.Spec.RawShape);
        Assert.Equal(8, ds.Train.Count);      // 320 training steps / 40
        Assert.False(ds.IsLabeled);
    }

    [Fact]
    public void BadInputNamesTheFileLineAndField()
    {
        var dir = Tmp.Dir("byo-bad");
        var f = Path.Combine(dir, "b.csv");
        File.WriteAllLines(f, ["a,b,label", "1,2,x", "1,NaN,y"]);
        Assert.Contains("b.csv:3: field 'b' is 'NaN'", Assert.Throws<DataFormatException>(() => ByoData.Load(f, new ByoOptions { Modality = "tabular", Missing = MissingPolicy.Error })).Message);
        File.WriteAllLines(f, ["a,b,label", "1,2,x", "1,2"]);
        Assert.Contains("b.csv:3: expected 3 fields", Assert.Throws<DataFormatException>(() => ByoData.Load(f, new ByoOptions { Modality = "tabular" })).Message);
        File.WriteAllLines(f, ["a,b,label,split", "1,2,x,train", "1,3,y,valid"]);
        Assert.Contains("expected 'train' or 'test'", Assert.Throws<DataFormatException>(() => ByoData.Load(f, new ByoOptions { Modality = "tabular" })).Message);
        var img = Tmp.Dir("byo-bad-img");
        Directory.CreateDirectory(Path.Combine(img, "train", "a"));
        Png(Path.Combine(img, "train", "a", "1.png"), 8, 8, 1);
        Assert.Contains("missing split", Assert.Throws<DataFormatException>(() => ByoData.Load(img, new ByoOptions { Modality = "image" })).Message);
    }
}

/// <summary>Seeded mutations of valid inputs: every reader either loads or throws DataFormatException.</summary>
public class ReaderFuzzTests
{
    static byte[] Mutate(byte[] src, Random r)
    {
        var b = new List<byte>(src);
        int k = 1 + r.Next(4);
        for (int m = 0; m < k && b.Count > 0; m++)
        {
            int i = r.Next(b.Count);
            switch (r.Next(7))
            {
                case 0: b.RemoveRange(i, b.Count - i); break;                                     // truncate
                case 1: b[i] ^= (byte)(1 << r.Next(8)); break;                                    // flip a bit
                case 2: b[i] = (byte)r.Next(256); break;                                          // garbage byte
                case 3: b.InsertRange(i, "NaN"u8.ToArray()); break;                               // insert NaN
                case 4: b.InsertRange(i, ","u8.ToArray()); break;                                 // duplicate / add a field
                case 5: { int j = Math.Min(b.Count, i + 1 + r.Next(12)); b.RemoveRange(i, j - i); break; } // delete bytes / fields
                default: { int j = Math.Min(b.Count, i + 1 + r.Next(20)); b.InsertRange(i, b.GetRange(i, j - i)); break; } // duplicate a run
            }
        }
        return b.ToArray();
    }

    static void Fuzz(string name, string valid, Action<string> load, int n = 200)
    {
        var orig = File.ReadAllBytes(valid);
        load(valid);                                    // the unmutated input loads
        var r = new Random(name.Aggregate(17, (a, c) => a * 31 + c) & 0xffff);   // stable across processes
        int loaded = 0, rejected = 0;
        for (int i = 0; i < n; i++)
        {
            File.WriteAllBytes(valid, Mutate(orig, r));
            try { using var scope = NewDisposeScope(); load(valid); loaded++; }
            catch (DataFormatException) { rejected++; }
            catch (Exception e) { File.WriteAllBytes(valid + ".fail", File.ReadAllBytes(valid)); Assert.Fail($"{name} mutation {i}: {e.GetType().Name}: {e.Message}"); }
        }
        File.WriteAllBytes(valid, orig);
        Assert.True(rejected > 0, $"{name}: no mutation was rejected ({loaded} loaded)");
    }

    [Fact] public void TabularCsv() { var f = ByoDataTests.TabularCsv(Tmp.Dir("fz-tab")); Fuzz("tab", f, p => ByoData.Load(p, new ByoOptions { Modality = "tabular" })); }
    [Fact] public void FastaSequences() { var f = ByoDataTests.Fasta(Tmp.Dir("fz-fa")); Fuzz("fasta", f, p => ByoData.Load(p, new ByoOptions { Modality = "sequence", Alphabet = "ACGT" })); }
    [Fact] public void SeriesCsv() { var f = ByoDataTests.SeriesCsv(Tmp.Dir("fz-ser")); Fuzz("series", f, p => ByoData.Load(p, new ByoOptions { Modality = "series", Length = 40, Patch = 4 })); }

    [Fact]
    public void SpambaseLikeCsv()
    {
        var dir = Tmp.Dir("fz-spam");
        var f = Path.Combine(dir, "s.csv");
        File.WriteAllLines(f, [string.Join(",", Enumerable.Range(0, 57).Select(i => "f" + i)) + ",label,split",
            .. Enumerable.Range(0, 6).Select(i => string.Join(",", Enumerable.Range(0, 57).Select(j => ((i * j) % 5 * 0.1).ToString("F1"))) + $",{(i % 2 == 0 ? "spam" : "nonspam")},{(i < 4 ? "train" : "test")}")]);
        Fuzz("spambase", f, p => Shipped.Spambase(p));
    }

    [Fact]
    public void Png()
    {
        var f = Path.Combine(Tmp.Dir("fz-png"), "a.png");
        ByoDataTests.Png(f, 8, 8, 1);
        Fuzz("png", f, p => Formats.Png(p, 3, 8, 8), 300);
    }

    [Fact]
    public void Wav()
    {
        var f = Path.Combine(Tmp.Dir("fz-wav"), "a.wav");
        ByoDataTests.Wav(f, 800, 440);
        Fuzz("wav", f, p => Formats.Wav(p, 16000), 300);
    }
}
