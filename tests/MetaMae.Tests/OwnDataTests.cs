using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using MetaMae.Data;
using MetaMae.Evaluation;
using MetaMae.Modalities;
using MetaMae.Model;
using MetaMae.Objectives;
using MetaMae.Training;
using TorchSharp;
using static TorchSharp.torch;
using MetaMae.IO;

namespace MetaMae.Tests;

/// <summary>Users' own data end to end: real-world tables (ids, non-numeric columns, missing cells), small data,
/// run folders and locks, and `metamae embed`.</summary>
public class OwnDataTests
{
    /// <summary>A 40-row gene table: an id column, a free-text column, and empty / NA / NaN / ? cells.</summary>
    internal static string GeneTable(string dir, string file = "genes.csv")
    {
        var rng = new Random(5);
        var lines = new List<string> { "gene,note,alpha0,alpha7,alpha14,label" };
        string[] missing = ["", "NA", "NaN", "?"];
        for (int i = 0; i < 40; i++)
        {
            string label = i % 2 == 0 ? "G1" : "S";
            var v = Enumerable.Range(0, 3).Select(j => ((label == "S" ? 1 : -1) + rng.NextDouble()).ToString("F3", CultureInfo.InvariantCulture)).ToArray();
            if (i % 5 == 1) v[i % 3] = missing[i / 5 % 4];                    // 8 missing cells, each marker twice
            lines.Add($"Y{i:D3}C,{(i % 3 == 0 ? "ribosomal" : "kinase")},{string.Join(",", v)},{label}");
        }
        var f = Path.Combine(dir, file);
        File.WriteAllLines(f, lines);
        return f;
    }

    [Fact]
    public void TableIdAndNonNumericColumnsAreNotFeaturesAndMissingCellsAreCounted()
    {
        var f = GeneTable(Tmp.Dir("own-tab"));
        var ds = ByoData.Load(f, new ByoOptions { Modality = "tabular", IdColumn = "gene" });
        Assert.Equal([3L], ds.Spec.RawShape);                                  // alpha0, alpha7, alpha14
        var r = ds.Report!;
        Assert.Equal("gene", r.IdColumn);
        var (col, why) = Assert.Single(r.LeftOut);
        Assert.Equal("note", col);
        Assert.Contains("not numeric (line 2: 'ribosomal')", why);
        Assert.Equal(8, r.MissingTrain + r.MissingTest);
        Assert.Equal(8, r.MissingByColumn.Values.Sum());
        Assert.Equal(8L, ds.Train.X.isnan().sum().item<long>() + ds.Test!.X.isnan().sum().item<long>());
        Assert.Equal(r.MissingTrain, ds.Train.X.isnan().sum().item<long>());
        Assert.Equal("Y000C", ds.Train.Ids![0]);
        Assert.Contains("Y001C", ds.Train.Ids.Concat(ds.Test.Ids!));
        // standardised with the observed training values: mean 0, std 1 per feature
        using var x = ds.Train.X.to(ScalarType.Float64);
        for (int k = 0; k < 3; k++)
        {
            var v = x[.., k].data<double>().ToArray().Where(d => !double.IsNaN(d)).ToArray();
            Assert.Equal(0, v.Average(), 6);
            Assert.Equal(1, Math.Sqrt(v.Select(d => d * d).Average()), 5);
        }
        Assert.Contains(r.Lines(), l => l.Contains("8 missing cells") && l.Contains("masked in pretraining"));

        // --ignore-columns, and --missing error names the line and field
        var ig = ByoData.Load(f, new ByoOptions { Modality = "tabular", IdColumn = "gene", IgnoreColumns = ["alpha7"] });
        Assert.Equal([2L], ig.Spec.RawShape);
        Assert.Contains(ig.Report!.LeftOut, l => l.Column == "alpha7" && l.Reason == "--ignore-columns");
        var e = Assert.Throws<DataFormatException>(() => ByoData.Load(f, new ByoOptions { Modality = "tabular", Missing = MissingPolicy.Error }));
        Assert.Contains("genes.csv:3: field 'alpha7' is '', expected a number (--missing error)", e.Message);
        var u = Assert.Throws<DataFormatException>(() => ByoData.Load(f, new ByoOptions { Modality = "tabular", IdColumn = "name" }));
        Assert.Contains("missing column 'name'", u.Message);
    }

    [Fact]
    public void MissingTokensAreMaskedFirstAndNeverTargetsOrSupport()
    {
        // 4 samples x 10 tokens, mask ratio 0.5: sample s has s + 1 missing tokens (at most 5 = the masked count)
        var observed = ones(4, 10);
        for (int s = 0; s < 4; s++) for (int k = 0; k <= s; k++) observed[s, 2 * k + 1] = 0;
        using var gen = new Generator().manual_seed(2);
        using var m = Masking.Random(4, 10, 0.5, gen, CPU, ScalarType.Float32, observed);
        Assert.Equal(5, m.Keep);
        using var missing = 1 - observed;
        Assert.Equal(missing.sum().item<float>(), (m.Mask * missing).sum().item<float>());   // every missing token masked
        Assert.Equal(0f, (m.Query * missing).sum().item<float>());                           // never a target
        Assert.Equal((m.Mask * observed).sum().item<float>(), m.Query.sum().item<float>());  // every other masked one is
        using var g2 = new Generator().manual_seed(3);
        using var support = m.Support(new SequenceSpec(1, 10, 1), 1.0, g2);
        Assert.Equal(0f, (support * missing).sum().item<float>());

        // the objective's loss on a table with NaN cells is finite and ignores what value those cells are stored as
        manual_seed(0);
        using var model = new MetaMaeModel(new TabularSpec(6), ModelConfig.Tiny);
        var raw = randn(8, 6);
        raw[0, 1] = float.NaN;
        raw[3, 4] = float.NaN;
        var obj = new MetaMaeObjective(new ObjectiveOptions { MaskRatio = 0.5 });
        double Loss(Tensor x) { using var g = new Generator().manual_seed(9); manual_seed(1); return obj.Loss(model, model.Spec.Patchify(x), g).Total.ToDouble(); }
        double a = Loss(raw);
        Assert.True(double.IsFinite(a), $"loss {a}");
        var other = raw.clone();
        other[0, 1] = 0f;
        other[3, 4] = 0f;
        Assert.NotEqual(a, Loss(other), 6);      // the same cells observed (value 0) are targets: a different loss
    }

    [Fact]
    public void PretrainingOnMissingCellsNeedsToBeToldAndAMaskingObjective()
    {
        var spec = new TabularSpec(4);
        using var x = randn(8, 4);
        x[5, 2] = float.NaN;
        RunConfig Cfg(string algo) => new(algo, "toy", spec, ModelConfig.Tiny, new ObjectiveOptions { MaskRatio = 0.5 },
            new TrainOptions { Steps = 2, Batch = 4 });
        var r = Pretrainer.Run(x, Cfg("metamae"), Tmp.Dir("own-nan"), missingCells: true);
        Assert.True(double.IsFinite(r.FinalLoss), $"loss {r.FinalLoss}");
        var e = Assert.Throws<ArgumentException>(() => Pretrainer.Run(x, Cfg("capri"), Tmp.Dir("own-nan2"), missingCells: true));
        Assert.Contains("--algo capri cannot mask them", e.Message);
        x[6, 1] = float.PositiveInfinity;
        Assert.Contains("sample 6 holds an infinity", Assert.Throws<ArgumentException>(() =>
            Pretrainer.Run(x, Cfg("metamae"), Tmp.Dir("own-nan3"), missingCells: true)).Message);
    }

    [Fact]
    public void EmbeddingsRoundTripInEveryFormatAndEqualTheLibraryFeatures()
    {
        var dir = Tmp.Dir("own-embed");
        var ds = ByoData.Load(GeneTable(dir), new ByoOptions { Modality = "tabular", IdColumn = "gene" });
        manual_seed(0);
        using var model = new MetaMaeModel(ds.Spec, ModelConfig.Tiny);
        var all = cat([ds.Train.X, ds.Test!.X], 0);
        var ids = ds.Train.Ids!.Concat(ds.Test.Ids!).ToArray();
        var labels = ds.Train.Labels!.Concat(ds.Test.Labels!).Select(l => ds.ClassNames[l]).ToArray();
        int n = ids.Length;
        foreach (var kind in new[] { FeatureKind.Mean, FeatureKind.Cls, FeatureKind.Tokens })
        {
            using var expect = model.ExtractFeatures(all, kind, batch: 7);
            Assert.False(expect.isnan().any().item<bool>());                       // missing cells imputed
            long per = expect.numel() / n;
            foreach (var ext in new[] { ".csv", ".npy", ".safetensors" })
            {
                var path = Path.Combine(dir, $"e-{kind}{ext}");
                var r = Embeddings.Write(model, ds, path, new EmbedOptions { Features = kind, Batch = 5 });
                Assert.Equal(n, r.Rows);
                float[] got;
                string[] gotIds, gotSplit, gotLabel;
                if (ext == ".csv")
                {
                    var t = CsvTable.Read(path);
                    Assert.Equal(["id", "split", "label", "f0"], t.Header.Take(4));
                    Assert.Equal(3 + per, t.Header.Length);
                    gotIds = t.Rows.Select(x => x.Fields[0]).ToArray();
                    gotSplit = t.Rows.Select(x => x.Fields[1]).ToArray();
                    gotLabel = t.Rows.Select(x => x.Fields[2]).ToArray();
                    got = t.Rows.SelectMany(x => x.Fields.Skip(3).Select(v => float.Parse(v, CultureInfo.InvariantCulture))).ToArray();
                }
                else if (ext == ".npy")
                {
                    (got, var shape) = ReadNpy(path);
                    Assert.Equal(expect.shape, shape);
                    var t = CsvTable.Read(r.RowsFile!);
                    gotIds = t.Rows.Select(x => x.Fields[0]).ToArray();
                    gotSplit = t.Rows.Select(x => x.Fields[1]).ToArray();
                    gotLabel = t.Rows.Select(x => x.Fields[2]).ToArray();
                }
                else
                {
                    var (ts, meta) = SafeTensors.Load(path);
                    Assert.Equal(expect.shape, ts["features"].shape);
                    got = ts["features"].data<float>().ToArray();
                    gotIds = JsonNode.Parse(meta["ids"])!.AsArray().Select(x => (string)x!).ToArray();
                    var classes = JsonNode.Parse(meta["classes"])!.AsArray().Select(x => (string)x!).ToArray();
                    gotLabel = ts["label"].data<long>().ToArray().Select(l => classes[l]).ToArray();
                    gotSplit = ts["split"].data<byte>().ToArray().Select(b => b == 1 ? "train" : "test").ToArray();
                    Assert.Equal(FeatureExtraction.Name(kind), meta["features"]);
                }
                // the library's features to float32 rounding: its batches (7) are not the writer's (5), and on some
                // CPUs (AVX2 without AVX-512) the matmul's blocking, hence the last bits, depends on the batch's rows
                var want = expect.data<float>().ToArray();
                Assert.Equal(want.Length, got.Length);
                for (int i = 0; i < want.Length; i++)
                    Assert.True(Math.Abs(want[i] - got[i]) <= 1e-5f * Math.Max(1f, Math.Abs(want[i])),
                        $"{kind}{ext}: feature {i} is {got[i]:R}, the library's {want[i]:R}");
                Assert.Equal(ids, gotIds);
                Assert.Equal(labels, gotLabel);
                Assert.Equal(Enumerable.Repeat("train", ds.Train.Count).Concat(Enumerable.Repeat("test", ds.Test.Count)), gotSplit);
            }
        }
        using var mean = model.ExtractFeatures(all, FeatureKind.Mean);
        using var cls = model.ExtractFeatures(all, FeatureKind.Cls);
        Assert.False(T.Same(mean, cls));
        var only = Embeddings.Write(model, ds, Path.Combine(dir, "test.csv"), new EmbedOptions { Split = "test" });
        Assert.Equal(ds.Test.Count, only.Rows);
        Assert.Contains("expected a file ending in", Assert.Throws<ArgumentException>(() =>
            Embeddings.Write(model, ds, Path.Combine(dir, "e.txt"), new EmbedOptions())).Message);
    }

    /// <summary>An independent .npy reader (format 1.0, little-endian float32, C order).</summary>
    static (float[] Data, long[] Shape) ReadNpy(string path)
    {
        var b = File.ReadAllBytes(path);
        Assert.Equal("\x93NUMPY", Encoding.Latin1.GetString(b, 0, 6));
        int hl = BitConverter.ToUInt16(b, 8);
        Assert.Equal(0, (10 + hl) % 64);
        var header = Encoding.ASCII.GetString(b, 10, hl);
        Assert.Contains("'descr': '<f4'", header);
        Assert.Contains("'fortran_order': False", header);
        var dims = header[(header.IndexOf("'shape': (") + 10)..header.IndexOf(')')];
        var shape = dims.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(long.Parse).ToArray();
        var data = new float[(b.Length - 10 - hl) / 4];
        Buffer.BlockCopy(b, 10 + hl, data, 0, data.Length * 4);
        Assert.Equal(shape.Aggregate(1L, (x, y) => x * y), data.Length);
        return (data, shape);
    }

    [Fact]
    public void RunLockRefusesASecondHolderAndAStaleLockFileDoesNotBlock()
    {
        var dir = Tmp.Dir("own-lock");
        using (RunLock.Acquire(dir))
        {
            var e = Assert.Throws<InvalidOperationException>(() => RunLock.Acquire(dir));
            Assert.Contains("in use by another run", e.Message);
        }
        Assert.True(File.Exists(Path.Combine(dir, RunLock.FileName)));          // left behind, as after a crash
        using (RunLock.Acquire(dir)) { }
    }

    [Theory]
    [InlineData("yeast cell:cycle", "yeast_cell_cycle")]
    [InlineData("dna-splice", "dna-splice")]
    [InlineData("a/b\\c", "a_b_c")]
    [InlineData("..", "data")]
    public void RunFolderNamesKeepSafeCharactersOnly(string stem, string expected) =>
        Assert.Equal(expected, MetaMae.Cli.ByoCli.SafeName(stem));

    static (int Code, string Out, string Err) MetamaeIn(string cwd, params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "MetaMae.Cli.dll");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = cwd };
        psi.ArgumentList.Add(dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, output, err.Result);
    }

    /// <summary>A 40-row table with an id column and missing cells, raw file to embeddings through the CLI.</summary>
    [Fact]
    public void CliRunsASmallTableWithMissingCellsFromRawFileToEmbeddings()
    {
        var dir = Tmp.Dir("own-cli");
        GeneTable(dir, "yeast cell:cycle.csv");
        string[] data = ["--data", "yeast cell:cycle.csv", "--modality", "tabular", "--id-column", "gene"];
        var (code, output, err) = MetamaeIn(dir, ["run", .. data, "--preset", "tiny", "--steps", "4", "--probe-epochs", "2", "--threads", "2", "--json"]);
        Assert.True(code == 0, err);
        Assert.Contains("data: column 'note' left out: not numeric", err);
        Assert.Contains("data: 8 missing cells", err);
        Assert.Contains("took HIGGS's", err);                                    // which preset values and why
        Assert.Contains("data: batch 32: the preset's batch 256 is larger than the 32 training samples", err);
        var run = Path.Combine(dir, "runs", "yeast_cell_cycle-metamae-tiny-s0");
        Assert.True(File.Exists(Path.Combine(run, "pretrain", "checkpoint.safetensors")), string.Join(",", Directory.GetDirectories(dir, "*", SearchOption.AllDirectories)));
        var cfg = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "pretrain", "config.json")))!;
        Assert.Equal(8, (int)cfg["data"]!["missing_cells_train"]! + (int)cfg["data"]!["missing_cells_test"]!);
        Assert.Equal("note", (string?)cfg["data"]!["left_out_columns"]![0]!["column"]);
        Assert.Equal(32, (int)cfg["train"]!["batch"]!);
        var json = JsonNode.Parse(output.Trim().Split('\n')[^1])!;
        Assert.Equal(8, (int)json["data"]!["missing_cells_train"]! + (int)json["data"]!["missing_cells_test"]!);

        // an explicit --batch larger than the data is still an error
        var big = MetamaeIn(dir, ["pretrain", .. data, "--preset", "tiny", "--steps", "2", "--batch", "64", "--out", "big"]);
        Assert.Equal(2, big.Code);
        Assert.Contains("--batch 64 is larger than the 32 training samples", big.Err);

        // a second run on a held --out is refused
        using (RunLock.Acquire(Path.Combine(dir, "held")))
        {
            var held = MetamaeIn(dir, ["pretrain", .. data, "--preset", "tiny", "--steps", "2", "--out", "held"]);
            Assert.Equal(2, held.Code);
            Assert.Contains("is in use by another run", held.Err);
        }

        var emb = MetamaeIn(dir, ["embed", "--checkpoint", Path.Combine(run, "pretrain", "checkpoint.safetensors"), .. data,
            "--out", "genes.csv.out.csv", "--features", "cls", "--json"]);
        Assert.True(emb.Code == 0, emb.Err);
        var t = CsvTable.Read(Path.Combine(dir, "genes.csv.out.csv"));
        Assert.Equal(40, t.Rows.Count);
        Assert.Equal(3 + 64, t.Header.Length);
        Assert.Equal(Enumerable.Range(0, 40).Select(i => $"Y{i:D3}C").Order(), t.Rows.Select(r => r.Fields[0]).Order());
        Assert.Equal(40, (int)JsonNode.Parse(emb.Out.Trim().Split('\n')[^1])!["rows"]!);
    }

    [Fact]
    public void ImageFolderReadsJpegAndMixedFormats()
    {
        // the README promises PNG/JPEG class folders; until 2026-12-03 only *.png files were counted
        var dir = Tmp.Dir("own-jpg");
        foreach (var c in new[] { "cat", "dog" })
        {
            Directory.CreateDirectory(Path.Combine(dir, c));
            for (int i = 0; i < 3; i++) SeededReaderFuzzTests.Jpeg(Path.Combine(dir, c, $"{i}.jpg"), 8, 8, i);
            ByoDataTests.Png(Path.Combine(dir, c, "3.png"), 8, 8, 7);
        }
        var ds = ByoData.Load(dir, new ByoOptions { Modality = "image" });
        Assert.Equal(8, ds.Train.Count + ds.Test!.Count);                       // 3 JPEGs + 1 PNG per class
        Assert.Equal(new long[] { 3, 8, 8 }, ds.Spec.RawShape);
        Assert.Contains(ds.Train.Ids!.Concat(ds.Test.Ids!), id => id.EndsWith(".jpg"));
        SeededReaderFuzzTests.Jpeg(Path.Combine(dir, "cat", "big.jpg"), 9, 8, 1);   // one size per folder
        var e = Assert.Throws<DataFormatException>(() => ByoData.Load(dir, new ByoOptions { Modality = "image" }));
        Assert.Contains("big.jpg", e.Message);
    }

    [Fact]
    public void ImageCaptionCsvPacksLikeEmojiCaptions()
    {
        var dir = Tmp.Dir("own-imcap");
        Directory.CreateDirectory(Path.Combine(dir, "img"));
        var lines = new List<string> { "file,caption,label" };
        for (int i = 0; i < 10; i++)
        {
            var rgb = Enumerable.Range(0, 8 * 8 * 3).Select(k => (byte)((k * (i + 1)) % 256)).ToArray();
            File.WriteAllBytes(Path.Combine(dir, "img", $"{i}.png"), PngWriter.Rgb(8, 8, rgb));
            lines.Add($"img/{i}.png,\"a {(i % 2 == 0 ? "red" : "blue")} thing, number {i}\",{(i % 2 == 0 ? "red" : "blue")}");
        }
        var csv = Path.Combine(dir, "pairs.csv");
        File.WriteAllLines(csv, lines);
        var ds = ByoData.Load(csv, new ByoOptions { Modality = "image-caption" });
        Assert.Equal(VisionLanguage.Spec(), ds.Spec);                            // the emoji-captions packing
        Assert.Equal(["blue", "red"], ds.ClassNames);
        Assert.Equal(8, ds.Train.Count);
        Assert.Equal(2, ds.Test!.Count);
        Assert.All(ds.Train.Ids!.Concat(ds.Test.Ids!), id => Assert.StartsWith("img/", id));
        // the caption part is the WordPiece encoding of the caption: [CLS] a red thing ...
        var tok = VisionLanguage.Tokenizer(Path.Combine(Catalog.DataRoot(), "bert-base-uncased", "vocab.txt"));
        var (split, id) = ds.Train.Ids!.Contains("img/2.png") ? (ds.Train, "img/2.png") : (ds.Test, "img/2.png");
        int row = Array.IndexOf(split.Ids!, id);
        var expect = VisionLanguage.Encode(tok, "a red thing, number 2").Select(v => (float)v).ToArray();
        Assert.Equal(expect, split.X[row].slice(0, 3 * 32 * 32, 3 * 32 * 32 + 32, 1).data<float>().ToArray());

        File.WriteAllLines(csv, ["file,caption", "img/0.png,one", "img/1.png,two", "img/2.png,three", "img/3.png,four", "img/4.png,five"]);
        var unl = ByoData.Load(csv, new ByoOptions { Modality = "image-caption" });
        Assert.False(unl.IsLabeled);
        File.WriteAllLines(csv, ["file,caption", "img/0.png,one", "img/99.png,two"]);
        Assert.Contains("pairs.csv:3: field 'file'", Assert.Throws<DataFormatException>(() => ByoData.Load(csv, new ByoOptions { Modality = "image-caption" })).Message);
    }
}
