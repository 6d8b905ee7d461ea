using System.Globalization;
using System.Text;
using MetaMae.Data;
using MetaMae.Data.Dabs;
using MetaMae.Modalities;

namespace MetaMae.Tests;

/// <summary>Each DABS reader on a small fixture in the real file format, written here.</summary>
public class DabsReaderTests
{
    static string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    // ---------- PAMAP2 ----------
    /// <summary>A subject file: runs of activities; channel c at step t = c + t/1000; every 10th heart rate is present, the rest NaN.</summary>
    internal static string Pamap2Row(int t, int act, bool hrNan)
    {
        var f = new List<string> { F(t * 0.01), act.ToString() };
        for (int c = 0; c < 52; c++) f.Add(c == 0 && hrNan ? "NaN" : F(c + t / 1000.0));
        return string.Join(' ', f);
    }

    internal static string Pamap2Dir(int stepsPerActivity = 330)
    {
        var d = Tmp.Dir("pamap2");
        foreach (var s in new[] { 1, 2, 3, 4, 5, 6, 7, 8, 9 })
        {
            var sb = new StringBuilder();
            int t = 0;
            foreach (var act in new[] { 0, 1, 4, s % 2 == 0 ? 17 : 1 })
                for (int k = 0; k < stepsPerActivity; k++, t++) sb.AppendLine(Pamap2Row(t, act, t % 10 != 0));
            File.WriteAllText(Path.Combine(d, $"subject10{s}.dat"), sb.ToString());
        }
        return d;
    }

    [Fact]
    public void Pamap2WindowsInterpolatesAndSplitsBySubject()
    {
        var ds = Pamap2.Load(Pamap2Dir());
        Assert.Equal(new SequenceSpec(52, 320, 5), ds.Spec);
        // activity 0 is not a class; each subject has 3 runs of 330 steps -> 3 windows (two runs of 1 merge for odd subjects: 660 -> 2)
        Assert.Equal(["1", "17", "4"], ds.ClassNames);
        int Windows(int s) => s % 2 == 0 ? 3 : 3;   // odd: one run of 1 (330) + 4 (330) + 1 again (330) -> 3; even: 1, 4, 17 -> 3
        Assert.Equal(new[] { 1, 2, 3, 4, 7, 8, 9 }.Sum(Windows), ds.Train.Count);
        Assert.Equal(6, ds.Test!.Count);
        // channel 0 (heart rate) was NaN except every 10th step: interpolation restores the linear ramp exactly
        var x = ds.Train.X[0];
        Assert.Equal(330 / 1000.0, x[0, 0].item<float>(), 4);       // first window of subject 1 starts at step 330 (after activity 0)
        Assert.Equal(335 / 1000.0, x[0, 5].item<float>(), 4);
        Assert.Equal(51 + 335 / 1000.0, x[51, 5].item<float>(), 4);
        Assert.False(ds.Train.X.isnan().any().item<bool>());
    }

    [Fact]
    public void Pamap2InterpolationIsLinearAndEndsTakeNearest()
    {
        var v = new[] { float.NaN, 2f, float.NaN, float.NaN, 5f, float.NaN };
        Pamap2.Interpolate(v, () => "all NaN");
        Assert.Equal(new[] { 2f, 2f, 3f, 4f, 5f, 5f }, v);
        Assert.Throws<DataFormatException>(() => Pamap2.Interpolate([float.NaN], () => "all NaN"));
    }

    [Theory]
    [InlineData("1 2 3", ":1: expected 54")]
    [InlineData("abc", ":1: expected 54")]
    public void Pamap2MalformedRows(string row, string what)
    {
        var d = Pamap2Dir(10);
        var p = Path.Combine(d, "subject105.dat");
        File.WriteAllText(p, row + "\n");
        var e = Assert.Throws<DataFormatException>(() => Pamap2.Load(d));
        Assert.Contains(p + what, e.Message);
    }

    [Fact]
    public void Pamap2BadValueAndMissingSubjectAreNamed()
    {
        var d = Pamap2Dir(10);
        var p = Path.Combine(d, "subject101.dat");
        var lines = File.ReadAllLines(p);
        lines[2] = lines[2].Replace(" 7.002 ", " seven ");
        File.WriteAllLines(p, lines);
        var e = Assert.Throws<DataFormatException>(() => Pamap2.Load(d));
        Assert.Contains($"{p}:3: column 10", e.Message);
        File.Delete(Path.Combine(d, "subject106.dat"));
        File.Delete(p);
        Assert.Contains("subject101.dat: file not found", Assert.Throws<DataFormatException>(() => Pamap2.Load(d)).Message);
    }

    // ---------- HIGGS ----------
    [Fact]
    public void HiggsSplits90To10AndKeepsFeatures()
    {
        var p = Path.Combine(Tmp.Dir("higgs"), "HIGGS.csv");
        var sb = new StringBuilder();
        for (int i = 0; i < 100; i++)
            sb.AppendLine($"{(i % 2 == 0 ? "1.000000000000000000e+00" : "0.000000000000000000e+00")}," + string.Join(',', Enumerable.Range(0, 28).Select(k => F(i + k / 100.0))));
        File.WriteAllText(p, sb.ToString());
        var ds = Higgs.Load(p);
        Assert.Equal(new TabularSpec(28), ds.Spec);
        Assert.Equal(90, ds.Train.Count);
        Assert.Equal(10, ds.Test!.Count);
        Assert.Equal(["background", "signal"], ds.ClassNames);
        // each row keeps its label: row i has feature 0 = i, label signal iff i even
        for (int r = 0; r < 90; r++)
        {
            int i = (int)Math.Round(ds.Train.X[r, 0].item<float>());
            Assert.Equal(i % 2 == 0 ? 1L : 0L, ds.Train.Labels![r]);
            Assert.Equal(i + 0.27f, ds.Train.X[r, 27].item<float>(), 4);
        }
        Assert.Equal(45, Higgs.Load(p, new DabsOptions { MaxPerSplit = 45 }).Train.Count);
    }

    [Theory]
    [InlineData("1,2,3\n", ":1: expected 29")]
    [InlineData("2," + "0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0\n", ":1: column 1 (label)")]
    [InlineData("1," + "0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,NaN,0,0,0,0,0,0,0,0,0,0\n", ":1: column 19 (feature 18)")]
    public void HiggsMalformedRows(string text, string what)
    {
        var p = Path.Combine(Tmp.Dir("higgs"), "HIGGS.csv");
        File.WriteAllText(p, text);
        Assert.Contains(p + what, Assert.Throws<DataFormatException>(() => Higgs.Load(p)).Message);
    }

    // ---------- Genomics ----------
    internal static string GenomicsDir()
    {
        var d = Tmp.Dir("genomics");
        string Seq(int i) => new(Enumerable.Range(0, 250).Select(k => "ACGT"[(k * (i + 1)) % 4]).ToArray());
        File.WriteAllText(Path.Combine(d, "train.csv"), "seq,label\n" + string.Join("", Enumerable.Range(0, 6).Select(i => $"{Seq(i)},{i % 3}\n")));
        File.WriteAllText(Path.Combine(d, "test.csv"), "seq,label\n" + string.Join("", Enumerable.Range(0, 3).Select(i => $"{Seq(i)},{i % 3}\n")));
        File.WriteAllText(Path.Combine(d, "test_ood.csv"), "seq,label\n" + string.Join("", Enumerable.Range(0, 10).Select(i => $"{Seq(i)},{10 + i % 2}\n")));
        return d;
    }

    [Fact]
    public void GenomicsReadsInAndOutOfDistribution()
    {
        var d = GenomicsDir();
        var ds = Genomics.Load(d);
        Assert.Equal(new TokenSpec(4, 250), ds.Spec);
        Assert.Equal(6, ds.Train.Count);
        Assert.Equal(["0", "1", "2"], ds.ClassNames);
        Assert.Equal(new long[] { 0, 2, 0, 2, 0 }, ds.Train.X[1].data<long>().ToArray()[..5]);   // row 1: "ACGT"[2k % 4]
        var ood = Genomics.Load(d, ood: true);
        Assert.Equal(8, ood.Train.Count);
        Assert.Equal(2, ood.Test!.Count);
        Assert.Equal(["10", "11"], ood.ClassNames);
    }

    [Fact]
    public void GenomicsBadBaseAndLengthAreNamed()
    {
        var d = GenomicsDir();
        var p = Path.Combine(d, "test.csv");
        File.WriteAllText(p, "seq,label\n" + new string('A', 249) + "N,0\n");
        Assert.Contains($"{p}:2: field 'seq' position 250: base 'N'", Assert.Throws<DataFormatException>(() => Genomics.Load(d)).Message);
        File.WriteAllText(p, "seq,label\nACGT,0\n");
        Assert.Contains($"{p}:2: field 'seq' has 4 bases, expected 250", Assert.Throws<DataFormatException>(() => Genomics.Load(d)).Message);
    }

    // ---------- TAPE ----------
    internal static string TapeDir(TapeTask task)
    {
        var (folder, field, tr, te) = Tape.Layout(task);
        var d = Path.Combine(Tmp.Dir("tape"), folder);
        Directory.CreateDirectory(d);
        string Label(int i, string seq) => task switch
        {
            TapeTask.SecondaryStructure => "[" + string.Join(",", seq.Select((_, k) => (k + i) % 3)) + "]",
            TapeTask.Stability or TapeTask.Fluorescence => $"[{F(0.5 * i - 1)}]",
            _ => (i % 2).ToString(),
        };
        string Json(int n) => "[" + string.Join(",", Enumerable.Range(0, n).Select(i =>
        {
            var seq = i == 0 ? "MKTAYIAKQR" : new string('A', 130) + "W";
            return $"{{\"primary\": \"{seq}\", \"protein_length\": {seq.Length}, \"{field}\": {Label(i, seq)}}}";
        })) + "]";
        File.WriteAllText(Path.Combine(d, tr), Json(2));
        File.WriteAllText(Path.Combine(d, te), Json(2));
        return d;
    }

    [Fact]
    public void TapeClassificationCropsAndPadsWithX()
    {
        var ds = Tape.Load(TapeTask.Pfam, TapeDir(TapeTask.Pfam));
        Assert.Equal(new TokenSpec(26, 128, 0), ds.Spec);
        Assert.Equal(2, ds.Train.Count);
        Assert.Equal(["0", "1"], ds.ClassNames);
        var row = ds.Train.X[0].data<long>().ToArray();
        Assert.Equal("MKTAYIAKQR".Select(c => (long)Tape.Vocabulary.IndexOf(c)), row[..10]);
        Assert.All(row[10..], v => Assert.Equal(0L, v));                               // X padding
        Assert.All(ds.Train.X[1].data<long>().ToArray(), v => Assert.Equal(1L, v));    // 130 A's cropped to 128
        Assert.Equal(2, Tape.Load(TapeTask.RemoteHomology, TapeDir(TapeTask.RemoteHomology)).ClassNames.Length);
    }

    [Theory]
    [InlineData(TapeTask.Stability)]
    [InlineData(TapeTask.Fluorescence)]
    public void TapeRegressionTargets(TapeTask task)
    {
        var ds = Tape.Load(task, TapeDir(task));
        Assert.Equal(TaskKind.Regression, ds.Task);
        Assert.Equal(new[] { -1f, -0.5f }, ds.Train.Targets);
        Assert.Null(ds.Train.Labels);
    }

    [Fact]
    public void TapeSecondaryStructureHasPerTokenLabelsWithPaddingExcluded()
    {
        var ss = Tape.LoadSecondaryStructure(TapeDir(TapeTask.SecondaryStructure));
        var l0 = ss.TrainTokenLabels[0];
        Assert.Equal(new long[] { 0, 1, 2, 0, 1, 2, 0, 1, 2, 0 }, l0[..10]);
        Assert.All(l0[10..], v => Assert.Equal(-1L, v));
        Assert.Equal(128, ss.TrainTokenLabels[1].Count(v => v >= 0));
    }

    [Theory]
    [InlineData("{\"primary\": \"MK\"}", "expected a JSON array")]
    [InlineData("[{\"primary\": \"MK\"}]", "record 0: missing field 'family'")]
    [InlineData("[{\"primary\": \"M1\", \"family\": 3}]", "record 0: field 'primary' position 2: residue '1'")]
    [InlineData("[{\"primary\": \"MK\", \"family\": \"a\"}]", "record 0: field 'family' is String")]
    [InlineData("[{\"primary\": \"MK\", \"family\": 3}", "not valid JSON")]
    [InlineData("[]", "no records")]
    public void TapeMalformedJson(string json, string what)
    {
        var d = TapeDir(TapeTask.Pfam);
        var p = Path.Combine(d, "pfam_holdout.json");
        File.WriteAllText(p, json);
        var e = Assert.Throws<DataFormatException>(() => Tape.Load(TapeTask.Pfam, d));
        Assert.Contains(p, e.Message);
        Assert.Contains(what, e.Message);
    }
}
