using System.Text;
using MetaMae.Data;
using MetaMae.Data.Dabs;
using Xunit.Abstractions;

namespace MetaMae.Tests;

/// <summary>
/// Every reader against seeded mutations of a valid file (FuzzHarness): it loads, or throws one
/// DataFormatException naming the damaged file; no other exception type, no hang (a time limit per case).
/// The default suite runs 100 cases per reader; the Fuzz category (FuzzTheoryAttribute) runs 1,000 per reader.
/// JPEG fixtures are encoded with SkiaSharp (ScottPlot's renderer, already a dependency); StbImageSharp decodes them.
/// </summary>
public class SeededReaderFuzzTests(ITestOutputHelper output)
{
    /// <summary>A reader: the file to damage, its valid bytes, and the load that reads it.</summary>
    private sealed record Target(string File, byte[] Valid, Action Load);

    private static Target Of(string file, Action load) => new(file, System.IO.File.ReadAllBytes(file), load);

    private static string Write(string name, string text)
    {
        var p = Path.Combine(Tmp.Dir("fuzz"), name);
        System.IO.File.WriteAllText(p, text);
        return p;
    }

    private static Target Make(string reader)
    {
        switch (reader)
        {
            case "csv-tabular":
            {
                var p = ByoDataTests.TabularCsv(Tmp.Dir("fz-tab"));
                return Of(p, () => ByoData.Load(p, new ByoOptions { Modality = "tabular" }));
            }
            case "csv-pixels":
            {
                var p = Write("pixels.csv", "p0,p1,p2,p3,p4,p5,p6,p7,p8,p9,p10,p11,label,split\n" + string.Concat(Enumerable.Range(0, 16)
                    .Select(i => string.Join(",", Enumerable.Range(0, 12).Select(k => (i * 37 + k * 11) % 256)) +
                                 $",{(i % 2 == 0 ? "a" : "b")},{(i % 4 == 3 ? "test" : "train")}\n")));
                return Of(p, () => ByoData.Load(p, new ByoOptions { Modality = "image", ImageShape = "3x2x2" }));
            }
            case "csv-series":
            {
                var p = Write("series.csv", "c1,c2,label\n" + string.Concat(Enumerable.Range(0, 120).Select(i =>
                    $"{Math.Sin(i * 0.1):F4},{i % 7},{(i < 60 ? "walk" : "run")}\n")));
                return Of(p, () => ByoData.Load(p, new ByoOptions { Modality = "series", Length = 20, Patch = 4 }));
            }
            case "csv-tokens":
            {
                var p = Write("tokens.csv", "t0,t1,t2,t3,label,split\n" + string.Concat(Enumerable.Range(0, 24).Select(i =>
                    $"{i % 5},{(i * 3) % 7},{i % 2},{(i + 1) % 4},{(i % 2 == 0 ? "a" : "b")},{(i % 4 == 3 ? "test" : "train")}\n")));
                return Of(p, () => ByoData.Load(p, new ByoOptions { Modality = "tokens" }));
            }
            case "csv-sequence":
            {
                var p = Write("seq.csv", "sequence,label,split\n" + string.Concat(Enumerable.Range(0, 20).Select(i =>
                    $"{new string("ACGT"[i % 4], 3)}GAT{"ACGT"[(i / 4) % 4]},{(i % 2 == 0 ? "p" : "q")},{(i % 5 == 4 ? "test" : "train")}\n")));
                return Of(p, () => Readers.SequenceCsv("s", p, "ACGT"));
            }
            case "fasta":
            {
                var p = ByoDataTests.Fasta(Tmp.Dir("fz-fa"));
                return Of(p, () => ByoData.Load(p, new ByoOptions { Modality = "sequence" }));
            }
            case "png-folder":
            {
                var d = Tmp.Dir("fz-png");
                foreach (var c in new[] { "cat", "dog" })
                {
                    Directory.CreateDirectory(Path.Combine(d, c));
                    for (int i = 0; i < 3; i++) ByoDataTests.Png(Path.Combine(d, c, $"{i}.png"), 8, 8, i + (c == "cat" ? 0 : 3));
                }
                return Of(Path.Combine(d, "dog", "1.png"), () => ByoData.Load(d, new ByoOptions { Modality = "image" }));
            }
            case "jpeg-folder":
            {
                var d = Tmp.Dir("fz-jpg");
                foreach (var c in new[] { "cat", "dog" })
                {
                    Directory.CreateDirectory(Path.Combine(d, c));
                    for (int i = 0; i < 3; i++) Jpeg(Path.Combine(d, c, $"{i}.jpg"), 8, 8, i + (c == "cat" ? 0 : 3));
                }
                return Of(Path.Combine(d, "dog", "1.jpg"), () => ByoData.Load(d, new ByoOptions { Modality = "image" }));
            }
            case "image-caption-csv":
            {
                var d = Tmp.Dir("fz-imcap");
                Directory.CreateDirectory(Path.Combine(d, "img"));
                var lines = new List<string> { "file,caption,label,split" };
                for (int i = 0; i < 8; i++)
                {
                    ByoDataTests.Png(Path.Combine(d, "img", $"{i}.png"), 8, 8, i);
                    string c = i % 2 == 0 ? "red" : "blue";
                    lines.Add($"img/{i}.png,\"a {c} thing, number {i}\",{c},{(i >= 6 ? "test" : "train")}");
                }
                var csv = Path.Combine(d, "pairs.csv");
                File.WriteAllLines(csv, lines);
                return Of(csv, () => ByoData.Load(csv, new ByoOptions { Modality = "image-caption" }));
            }
            case "bmp-folder":
            {
                var d = DabsMediaTests.ImageFolder();
                return Of(Path.Combine(d, "test", "red", "a.bmp"), () => Images.Folder("x", d));
            }
            case "ppm-folder":
            {
                var d = DabsMediaTests.ImageFolder();
                return Of(Path.Combine(d, "train", "gray", "b.ppm"), () => Images.Folder("x", d));
            }
            case "wav-folder":
            {
                var d = Tmp.Dir("fz-wav");
                foreach (var (c, f) in new[] { ("low", 300.0), ("high", 2000.0) })
                {
                    Directory.CreateDirectory(Path.Combine(d, c));
                    for (int i = 0; i < 3; i++) ByoDataTests.Wav(Path.Combine(d, c, $"{i}.wav"), 1600 + 100 * i, f);
                }
                return Of(Path.Combine(d, "high", "2.wav"), () => ByoData.Load(d, new ByoOptions { Modality = "audio" }));
            }
            case "tiff":
            {
                var p = Path.Combine(Tmp.Dir("fz-tif"), "b.tif");
                System.IO.File.WriteAllBytes(p, DabsMediaTests.Tiff(8, 8, 13));
                return Of(p, () => Tiff.Read(p));
            }
            case "cifar":
            {
                var d = DabsMediaTests.CifarDir();
                return Of(Path.Combine(d, "data_batch_3.bin"), () => Images.Cifar10(d));
            }
            case "imagenet32":
            {
                var d = Tmp.Dir("fz-in32");
                byte[] Rec(int label, byte v) => [(byte)label, (byte)(label >> 8), .. Enumerable.Repeat(v, 3072)];
                System.IO.File.WriteAllBytes(Path.Combine(d, "train.bin"), [.. Rec(999, 1), .. Rec(5, 2), .. Rec(5, 3)]);
                System.IO.File.WriteAllBytes(Path.Combine(d, "val.bin"), [.. Rec(999, 4), .. Rec(5, 5)]);
                return Of(Path.Combine(d, "train.bin"), () => Images.ImageNet32(d));
            }
            case "coco-json":
            {
                var (d, caps, _, _) = Coco();
                return Of(caps, () => VisionLanguage.CocoCaptions(caps, Path.Combine(d, "img"), true, side: 4));
            }
            case "vqa-json":
            {
                var (d, caps, q, a) = Coco();
                return Of(q, () => VisionLanguage.VqaYesNo(q, a, caps, Path.Combine(d, "img"), false, side: 4));
            }
            case "pamap2":
            {
                var d = DabsReaderTests.Pamap2Dir();
                return Of(Path.Combine(d, "subject105.dat"), () => Pamap2.Load(d));
            }
            case "higgs":
            {
                var p = Write("HIGGS.csv", string.Concat(Enumerable.Range(0, 6).Select(i => $"{i % 2}," +
                    string.Join(',', Enumerable.Range(0, 28).Select(k => (k * 0.5 + i).ToString(System.Globalization.CultureInfo.InvariantCulture))) + "\n")));
                return Of(p, () => Higgs.Load(p));
            }
            case "genomics":
            {
                var d = DabsReaderTests.GenomicsDir();
                return Of(Path.Combine(d, "test.csv"), () => Genomics.Load(d));
            }
            case "wafermap":
            {
                var p = DabsMediaTests.WaferCsv();
                return Of(p, () => WaferMap.Load(p));
            }
            default:
                if (reader.StartsWith("tape-") && Enum.TryParse<TapeTask>(reader[5..], out var task))
                {
                    var d = DabsReaderTests.TapeDir(task);
                    return Of(Path.Combine(d, Tape.Layout(task).Train), () => Tape.Load(task, d));
                }
                throw new ArgumentException($"no fuzz target '{reader}'");
        }
    }

    /// <summary>A COCO captions + VQA fixture: three 8x6 PNGs, captions, questions, answers.</summary>
    private static (string Dir, string Captions, string Questions, string Answers) Coco()
    {
        var d = Tmp.Dir("fz-coco");
        Directory.CreateDirectory(Path.Combine(d, "img"));
        for (int k = 0; k < 3; k++) ByoDataTests.Png(Path.Combine(d, "img", $"im{k}.png"), 8, 6, k);
        string caps = Path.Combine(d, "captions.json"), q = Path.Combine(d, "questions.json"), a = Path.Combine(d, "answers.json");
        System.IO.File.WriteAllText(caps, """
            {"images": [{"id": 10, "file_name": "im0.png"}, {"id": 11, "file_name": "im1.png"}, {"id": 12, "file_name": "im2.png"}],
             "annotations": [{"id": 1, "image_id": 10, "caption": "A cat on a mat."}, {"id": 2, "image_id": 11, "caption": "Two dogs"},
                             {"id": 3, "image_id": 12, "caption": "a red bus"}]}
            """);
        System.IO.File.WriteAllText(q, """
            {"questions": [{"image_id": 10, "question": "Is there a cat?", "question_id": 100},
                           {"image_id": 12, "question": "Is it red?", "question_id": 102}, {"image_id": 11, "question": "Is it a cat?", "question_id": 103}]}
            """);
        System.IO.File.WriteAllText(a, """
            {"annotations": [{"question_id": 100, "multiple_choice_answer": "yes", "answer_type": "yes/no"},
                             {"question_id": 102, "multiple_choice_answer": "yes", "answer_type": "yes/no"},
                             {"question_id": 103, "multiple_choice_answer": "no", "answer_type": "yes/no"}]}
            """);
        return (d, caps, q, a);
    }

    public static readonly TheoryData<string> Readers_ = new(
        "csv-tabular", "csv-pixels", "csv-series", "csv-tokens", "csv-sequence", "fasta", "png-folder", "jpeg-folder", "bmp-folder",
        "ppm-folder", "wav-folder", "tiff", "cifar", "imagenet32", "coco-json", "vqa-json", "image-caption-csv", "pamap2", "higgs", "genomics", "wafermap",
        "tape-Pfam", "tape-RemoteHomology", "tape-SecondaryStructure", "tape-Stability", "tape-Fluorescence");

    private void Fuzz(string reader, int n)
    {
        var t = Make(reader);
        t.Load();                                                     // the fixture itself is valid
        FuzzHarness.Run<DataFormatException>(output, reader, t.Valid, t.File, t.Load, n);
    }

    [Theory]
    [MemberData(nameof(Readers_))]
    public void HundredMutationsLoadOrNameTheFile(string reader) => Fuzz(reader, 100);

    [FuzzTheory]
    [Trait("Category", "Fuzz")]
    [MemberData(nameof(Readers_))]
    public void ThousandMutationsLoadOrNameTheFile(string reader) => Fuzz(reader, 1000);

    /// <summary>
    /// Every prefix of a JPEG, a PNG and a BMP is rejected with an error naming the file, within 10 s each; none
    /// decodes with its lost rows filled in. The seeded fuzz found StbImageSharp looping forever on a 16-byte JPEG,
    /// and it decodes cut JPEG and BMP files without a word; this sweeps the whole class of cut files.
    /// </summary>
    [Theory]
    [InlineData("jpg")]
    [InlineData("png")]
    [InlineData("bmp")]
    public void EveryTruncatedImageDecodesOrNamesTheFile(string ext)
    {
        var d = Tmp.Dir("trunc");
        var path = Path.Combine(d, "x." + ext);
        byte[] whole;
        switch (ext)
        {
            case "jpg": Jpeg(path, 8, 8, 1); whole = File.ReadAllBytes(path); break;
            case "png": ByoDataTests.Png(path, 8, 8, 1); whole = File.ReadAllBytes(path); break;
            default: whole = File.ReadAllBytes(Path.Combine(DabsMediaTests.ImageFolder(), "test", "red", "a.bmp")); break;
        }
        int decoded = 0, rejected = 0;
        for (int n = 0; n < whole.Length; n++)
        {
            File.WriteAllBytes(path, whole[..n]);
            Exception? error = null;
            var t = new Thread(() => { try { Images.Decode(path); } catch (Exception e) { error = e; } }) { IsBackground = true };
            t.Start();
            Assert.True(t.Join(TimeSpan.FromSeconds(10)), $"{ext} cut to {n} of {whole.Length} bytes: still decoding after 10 s");
            if (error is null)
            {
                // Only a PNG cut inside its final IEND chunk (12 bytes, after all pixel data) may still decode.
                Assert.True(ext == "png" && n >= whole.Length - 12, $"{ext} cut to {n} of {whole.Length} bytes decoded");
                decoded++;
                continue;
            }
            var e = Assert.IsType<DataFormatException>(error);
            Assert.Contains(path, e.Message);
            rejected++;
        }
        output.WriteLine($"{ext}: {whole.Length} prefixes, {decoded} decoded, {rejected} rejected");
    }

    /// <summary>A small baseline JPEG of seeded noise (quality 90), encoded by SkiaSharp.</summary>
    internal static void Jpeg(string path, int w, int h, int seed)
    {
        var rng = new Random(seed);
        using var bmp = new SkiaSharp.SKBitmap(w, h);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                bmp.SetPixel(x, y, new SkiaSharp.SKColor((byte)rng.Next(256), (byte)(seed * 40), (byte)rng.Next(256)));
        using var data = bmp.Encode(SkiaSharp.SKEncodedImageFormat.Jpeg, 90);
        File.WriteAllBytes(path, data.ToArray());
    }
}
