using System.Text;
using MetaMae.Data;
using MetaMae.Model;
using MetaMae.Training;
using Xunit.Abstractions;
using static MetaMae.Tests.CliTests;
using static TorchSharp.torch;
using MetaMae.IO;

namespace MetaMae.Tests;

/// <summary>
/// Damaged checkpoints: truncated, zero-length, bit-flipped, foreign (not safetensors, or another model's)
/// give an InvalidDataException naming the file and what is wrong, never a native crash or a silent load.
/// </summary>
public class CheckpointDamageTests(ITestOutputHelper output)
{
    /// <summary>A real checkpoint (model, optimizer moments, config) of a micro model, 2 steps on dna-splice.</summary>
    internal static string MicroCheckpoint(string name = "micro", long seed = 0, int dim = 8)
    {
        var ds = Catalog.Load("dna-splice");
        var preset = Catalog.Get("dna-splice").Preset;
        var model = ModelConfig.Tiny with
        {
            EncDim = dim, EncDepth = 1, EncHeads = 1, EncMlp = 8, DecDim = 8, DecDepth = 1, DecHeads = 1, DecMlp = 8,
            ProjHidden = 8, ProjDim = 4,
        };
        var cfg = new RunConfig("metamae", "dna-splice", ds.Spec, model, preset.Objective(true),
            new TrainOptions { Steps = 2, Batch = 8, Seed = seed });
        var dir = Tmp.Dir(name);
        using var r = Pretrainer.Run(ds.Train.X, cfg, dir).Model;
        return Path.Combine(dir, Checkpoint.FileName);
    }

    /// <summary>What probe, export and embed do with a checkpoint, and what resume reads first.</summary>
    private static void LoadLikeTheCommands(string path)
    {
        using (var ck = Checkpoint.Load(path)) { }
        using var m = Checkpoint.LoadModel(path);
    }

    private void Corrupt(int n)
    {
        var path = MicroCheckpoint();
        var good = File.ReadAllBytes(path);
        output.WriteLine($"checkpoint of the micro model: {good.Length} bytes");
        var damaged = Path.Combine(Tmp.Dir("damaged"), "damaged.safetensors");
        // a file whose only change is JSON whitespace for whitespace in the header holds the same content
        int headerEnd = 8 + (int)BitConverter.ToUInt64(good, 0);
        bool SameContent(byte[] b) => b.Length == good.Length && Enumerable.Range(0, b.Length)
            .All(i => b[i] == good[i] || (i >= 8 && i < headerEnd && " \t\n\r".Contains((char)b[i]) && " \t\n\r".Contains((char)good[i])));
        var c = FuzzHarness.Run<InvalidDataException>(output, "checkpoint", good, damaged, () => LoadLikeTheCommands(damaged), n,
            mustReject: true, equivalent: SameContent);
        Assert.Equal(n, c.Rejected + c.Unchanged);
    }

    [Fact]
    public void ThousandDamagedVariantsOfACheckpointAreEachRejectedByName() => Corrupt(1000);

    [FuzzFact]
    [Trait("Category", "Fuzz")]
    public void TwentyThousandDamagedVariantsOfACheckpoint() => Corrupt(20_000);

    [Fact]
    public void ZeroLengthForeignAndOtherModelsCheckpointsAreNamed()
    {
        var path = MicroCheckpoint();
        var dir = Tmp.Dir("foreign");
        string F(string name, byte[] bytes) { var p = Path.Combine(dir, name); File.WriteAllBytes(p, bytes); return p; }

        string Err(string p) => Assert.Throws<InvalidDataException>(() => LoadLikeTheCommands(p)).Message;
        var zero = F("zero.safetensors", []);
        Assert.Contains($"{zero}: too short for a safetensors file (0 bytes", Err(zero));
        var csv = F("table.csv", Encoding.ASCII.GetBytes("a,b,label\n1,2,x\n3,4,y\n"));
        Assert.Contains($"{csv}: header length", Err(csv));
        var png = F("picture.png", PngWriter.Rgb(2, 2, new byte[12]));
        Assert.Contains(png, Err(png));
        // a valid safetensors file from another tool (no MetaMae metadata)
        var other = Path.Combine(dir, "other.safetensors");
        using (var t = ones(3, 2)) SafeTensors.Save(other, [new("weight", t)], new Dictionary<string, string> { ["format"] = "pt" });
        Assert.Contains($"{other}: not a MetaMae checkpoint", Err(other));
        // a header that is valid JSON but no object, and a negative dimension (no checksum: as another tool would write)
        var arr = F("array.safetensors", Header("[1,2]"));
        Assert.Contains("not a JSON object", Err(arr));
        var neg = F("neg.safetensors", Header("""{"w":{"dtype":"F32","shape":[-1,4],"data_offsets":[0,0]}}"""));
        Assert.Contains("negative dimension", Err(neg));
        var dtype = F("dtype.safetensors", Header("""{"w":{"dtype":"Q7","shape":[1],"data_offsets":[0,4]}}""", 4));
        Assert.Contains("unsupported dtype 'Q7'", Err(dtype));
        var huge = F("huge.safetensors", Header("""{"w":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,4]}}""", 4));
        Assert.Contains(huge, Err(huge));

        // another model's checkpoint loaded into this model: names the tensor and both shapes
        var wider = MicroCheckpoint("wider", dim: 16);
        using var ck = Checkpoint.Load(wider);
        using var model = Checkpoint.LoadModel(path);
        var e = Assert.Throws<InvalidDataException>(() => Checkpoint.LoadModel(model, ck, wider));
        Assert.Contains("has shape", e.Message);
    }

    private static byte[] Header(string json, int dataBytes = 0)
    {
        var h = Encoding.UTF8.GetBytes(json);
        return [.. BitConverter.GetBytes((ulong)h.Length), .. h, .. new byte[dataBytes]];
    }

    [Fact]
    public void TheCliNamesADamagedCheckpointInOneLine()
    {
        var path = MicroCheckpoint();
        var bytes = File.ReadAllBytes(path);
        var dir = Tmp.Dir("cli-damaged");
        var truncated = Path.Combine(dir, "truncated.safetensors");
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
        var flipped = Path.Combine(dir, "flipped.safetensors");
        bytes[bytes.Length - 5] ^= 0x10;
        File.WriteAllBytes(flipped, bytes);
        foreach (var (file, what) in new[] { (truncated, "do not fit"), (flipped, "checksum mismatch") })
        {
            var (code, _, err) = Metamae("probe", "--checkpoint", file, "--probe-epochs", "1");
            Assert.Equal(2, code);
            var line = Assert.Single(err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith($"error: {file}: ", line);
            Assert.Contains(what, line);
        }
        // resume of a folder whose checkpoint is damaged: named, not replaced by a new run
        var run = Tmp.Dir("cli-resume-damaged");
        File.Copy(flipped, Path.Combine(run, Checkpoint.FileName));
        var r = Metamae("pretrain", "--out", run, "--resume", "--steps", "3");
        Assert.Equal(2, r.Code);
        Assert.Contains("checksum mismatch", r.Err);
    }
}
