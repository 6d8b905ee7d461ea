using System.Diagnostics;
using System.IO.Compression;
using MetaMae.Data;
using MetaMae.Interop;
using MetaMae.Modalities;
using MetaMae.Model;
using MetaMae.Training;
using Xunit.Abstractions;
using static TorchSharp.torch;
using MetaMae.IO;

namespace MetaMae.Tests;

/// <summary>PyTorch state dicts (.pt, torch.save's zip pickle) out of `export --format pt` and into `import`.</summary>
public class PtInteropTests(ITestOutputHelper output)
{
    private static readonly ModelConfig Small =
        ModelConfig.Tiny with { EncDepth = 1, DecDepth = 1, ProjHidden = 16, ProjDim = 8 };

    public static TheoryData<string> Specs => InteropTests.Specs;

    private static InputSpec SpecOf(string kind) => InteropTests.SpecOf(kind);

    private static MetaMaeModel Build(InputSpec spec, long seed)
    {
        manual_seed(seed);
        return new MetaMaeModel(spec, Small);
    }

    [Theory]
    [MemberData(nameof(Specs))]
    public void PtExportHoldsTheSafetensorsTensorsAndImportsExactly(string kind)
    {
        var spec = SpecOf(kind);
        using var a = Build(spec, 1);
        var dir = Tmp.Dir("pt-roundtrip");
        string pt = Path.Combine(dir, "w.pt"), st = Path.Combine(dir, "w.safetensors");
        ReferenceFormat.ExportPyTorch(a, null, pt, ModelParts.All);
        ReferenceFormat.Export(a, null, st, ModelParts.All);
        Assert.True(PyTorchStateDict.LooksLikePyTorch(pt));
        var (fromPt, meta) = ReferenceFormat.Read(pt);
        var (fromSt, _) = ReferenceFormat.Read(st);
        Assert.Equal(ReferenceFormat.FormatName, meta[ReferenceFormat.FormatKey]);
        Assert.Equal("encoder,decoder,projector", meta["parts"]);
        Assert.Equal(fromSt.Keys.Order(), fromPt.Keys.Order());
        foreach (var (k, v) in fromSt) Assert.True(T.Same(v, fromPt[k]), k);
        using var b = Build(spec, 2);
        Assert.Equal(ModelParts.All, ReferenceFormat.Load(b, fromPt, pt));
        var sa = a.state_dict();
        foreach (var (k, v) in b.state_dict()) Assert.True(T.Same(sa[k], v), k);
        foreach (var t in fromPt.Values.Concat(fromSt.Values)) t.Dispose();
    }

    [Fact]
    public void ARunConfigTravelsInThePtFileSoImportNeedsNoFlags()
    {
        var dir = Tmp.Dir("pt-cfg");
        var ckpt = DigitsCheckpoint(dir);
        var pt = Path.Combine(dir, "enc.pt");
        using var a = Checkpoint.LoadModel(ckpt);
        using var ck = Checkpoint.Load(ckpt);
        ReferenceFormat.ExportPyTorch(a, ck.Config, pt);
        var (b, cfg, parts) = ReferenceFormat.Import(pt);
        using (b)
        {
            Assert.Equal(ModelParts.Encoder, parts);
            Assert.Equal(ck.Config.ToJson(), cfg!.ToJson());
            var sb = b.state_dict();
            foreach (var (k, v) in a.state_dict())
                if (ReferenceFormat.PartOf(k) == ModelParts.Encoder) Assert.True(T.Same(v, sb[k]), k);
        }
    }

    [Fact]
    public void BadPtFilesGetOneClearError()
    {
        var dir = Tmp.Dir("pt-bad");
        using var m = Build(new GridSpec(2, 4, 4, 2, 2), 1);
        var good = Path.Combine(dir, "good.pt");
        ReferenceFormat.ExportPyTorch(m, null, good);
        var bytes = File.ReadAllBytes(good);

        string Error(string name, byte[] content)
        {
            var path = Path.Combine(dir, name);
            File.WriteAllBytes(path, content);
            var e = Assert.Throws<InvalidDataException>(() => ReferenceFormat.Read(path));
            Assert.StartsWith(path + ": ", e.Message);
            output.WriteLine(e.Message);
            return e.Message;
        }

        Assert.Contains("truncated", Error("half.pt", bytes[..(bytes.Length / 2)]));
        Assert.Contains("truncated", Error("tail.pt", bytes[..^10]));
        var flipped = (byte[])bytes.Clone();
        flipped[bytes.Length / 2] ^= 0x10;     // inside a tensor record: the record's CRC no longer matches
        Assert.Contains("damaged", Error("flipped.pt", flipped));
        Assert.Contains("not a PyTorch state dict", Error("text.pt", "hello, not a pickle"u8.ToArray()));
        Assert.Contains("empty", Error("empty.pt", []));
        Assert.Contains("bare pickle", Error("legacy.pt", [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc]));
        var st = Path.Combine(dir, "w.safetensors");
        ReferenceFormat.Export(m, null, st);
        Assert.Contains("looks like safetensors", Error("renamed.pt", File.ReadAllBytes(st)));
        // a zip archive, but not torch.save's (no data.pkl)
        using (var ms = new MemoryStream())
        {
            using (var z = new ZipArchive(ms, ZipArchiveMode.Create, leaveOpen: true))
            using (var w = new StreamWriter(z.CreateEntry("model/readme.txt").Open())) w.Write("hi");
            Assert.Contains("not a readable PyTorch state dict", Error("zip.pt", ms.ToArray()));
        }
        // data.pkl that is not a pickle
        using (var ms = new MemoryStream())
        {
            using (var z = new ZipArchive(ms, ZipArchiveMode.Create, leaveOpen: true))
            using (var w = new StreamWriter(z.CreateEntry("model/data.pkl").Open())) w.Write("garbage");
            Assert.Contains("not a readable PyTorch state dict", Error("pkl.pt", ms.ToArray()));
        }
        // a well-formed state dict whose keys are not the reference names
        var foreign = Path.Combine(dir, "foreign.pt");
        using (var w = ones(3, 2))
            PyTorchStateDict.Save(foreign, [new("encoder.layers.0.weight", w)]);
        var (t, _) = ReferenceFormat.Read(foreign);
        var e = Assert.Throws<InvalidDataException>(() => ReferenceFormat.Load(m, t, foreign));
        Assert.StartsWith(foreign + ": keys the model does not have: encoder.layers.0.weight", e.Message);
    }

    [Fact]
    public void ExportPtAndImportItFromTheCommandLine()
    {
        var dir = Tmp.Dir("pt-cli");
        var ckpt = DigitsCheckpoint(dir);
        var pt = Path.Combine(dir, "model.pt");
        var (code, stdout, err) = CliTests.Metamae("export", "--checkpoint", ckpt, "--format", "pt", "--parts", "all",
            "--out", pt);
        Assert.True(code == 0, err);
        Assert.Contains("PyTorch state dict", stdout);
        var back = Path.Combine(dir, "back.safetensors");
        (code, _, err) = CliTests.Metamae("import", "--in", pt, "--out", back);
        Assert.True(code == 0, err);
        using (var a = Checkpoint.LoadModel(ckpt))
        using (var b = Checkpoint.LoadModel(back))
        {
            var sb = b.state_dict();
            foreach (var (k, v) in a.state_dict()) Assert.True(T.Same(v, sb[k]), k);
        }
        var cut = Path.Combine(dir, "cut.pt");
        File.WriteAllBytes(cut, File.ReadAllBytes(pt)[..1000]);
        (code, _, err) = CliTests.Metamae("import", "--in", cut, "--out", Path.Combine(dir, "x.safetensors"));
        Assert.Equal(2, code);
        Assert.Contains(cut, err);
        Assert.Contains("truncated", err);
        (code, _, err) = CliTests.Metamae("export", "--checkpoint", ckpt, "--format", "pt", "--features", "cls",
            "--out", pt);
        Assert.Equal(2, code);
        Assert.Contains("--features applies to --format onnx", err);
    }

    [TorchFact]
    public void PtExportLoadsInPyTorchWithTheSafetensorsTensorsAndFeatures()
    {
        var dir = Tmp.Dir("pt-torch");
        var ckpt = DigitsCheckpoint(dir);
        string pt = Path.Combine(dir, "enc.pt"), st = Path.Combine(dir, "enc.safetensors");
        var (code, _, err) = CliTests.Metamae("export", "--checkpoint", ckpt, "--format", "pt", "--out", pt);
        Assert.True(code == 0, err);
        (code, _, err) = CliTests.Metamae("export", "--checkpoint", ckpt, "--out", st);
        Assert.True(code == 0, err);
        using var model = Checkpoint.LoadModel(ckpt);
        var ds = Catalog.Load("digits");
        using var x = ds.Test!.X.slice(0, 0, 16, 1).clone();
        using var f = model.ExtractFeatures(x);
        var io = Path.Combine(dir, "io.safetensors");
        SafeTensors.Save(io, [new("x", x), new("features", f)]);
        var stdout = Python("check", pt, st, io, "grid", GridArgs((GridSpec)model.Spec),
            model.Config.EncHeads.ToString());
        Assert.Contains("max abs difference .pt vs safetensors: 0.000e+00", stdout);
        // every part: same tensors as the safetensors export of all parts
        (code, _, err) = CliTests.Metamae("export", "--checkpoint", ckpt, "--format", "pt", "--parts", "all",
            "--out", pt);
        Assert.True(code == 0, err);
        (code, _, err) = CliTests.Metamae("export", "--checkpoint", ckpt, "--parts", "all", "--out", st);
        Assert.True(code == 0, err);
        Python("check", pt, st);
    }

    [TorchFact]
    public void AStateDictWrittenByTorchSaveImportsAsTheSafetensorsDoes()
    {
        var dir = Tmp.Dir("pt-from-torch");
        var ckpt = DigitsCheckpoint(dir);
        var st = Path.Combine(dir, "enc.safetensors");
        var (code, _, err) = CliTests.Metamae("export", "--checkpoint", ckpt, "--out", st);
        Assert.True(code == 0, err);
        using var model = Checkpoint.LoadModel(ckpt);
        var torchPt = Path.Combine(dir, "torch.pt");
        Python("write", st, torchPt, "grid", GridArgs((GridSpec)model.Spec), model.Config.EncHeads.ToString());
        // as a PyTorch user's file: no metadata of ours, so import is told the model with --like
        string viaPt = Path.Combine(dir, "via-pt.safetensors"), viaSt = Path.Combine(dir, "via-st.safetensors");
        (code, _, err) = CliTests.Metamae("import", "--in", torchPt, "--like", ckpt, "--out", viaPt);
        Assert.True(code == 0, err);
        (code, _, err) = CliTests.Metamae("import", "--in", st, "--like", ckpt, "--out", viaSt);
        Assert.True(code == 0, err);
        using var a = Checkpoint.LoadModel(viaPt);
        using var b = Checkpoint.LoadModel(viaSt);
        var sb = b.state_dict();
        // the encoder came from the files; the other parts keep their (unseeded) initialisation
        foreach (var (k, v) in a.state_dict())
            if (ReferenceFormat.PartOf(k) == ModelParts.Encoder) Assert.True(T.Same(v, sb[k]), k);
        var ds = Catalog.Load("digits");
        using var x = ds.Test!.X.slice(0, 0, 64, 1).clone();
        using var fa = a.ExtractFeatures(x);
        using var fb = b.ExtractFeatures(x);
        using var f0 = model.ExtractFeatures(x);
        double d = (fa - fb).abs().max().item<float>(), d0 = (fa - f0).abs().max().item<float>();
        output.WriteLine("features of 64 digits test samples, torch.save'd .pt vs safetensors import: " +
            $"max abs diff {d:e3}; vs the original checkpoint: {d0:e3}");
        Assert.Equal(0, d);
        Assert.Equal(0, d0);
    }

    private static string GridArgs(GridSpec g) => $"{g.Channels},{g.Height},{g.Width},{g.PatchH},{g.PatchW}";

    private string Python(params string[] args)
    {
        var script = Path.Combine(AppContext.BaseDirectory, "scripts", "pt_interop.py");
        var psi = new ProcessStartInfo(TorchFactAttribute.Python!, [script, .. args])
        {
            RedirectStandardOutput = true, RedirectStandardError = true,
        };
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        output.WriteLine(stdout + stderr.Result);
        Assert.True(p.ExitCode == 0, stdout + stderr.Result);
        return stdout;
    }

    // a tiny digits checkpoint whose encoder is moved off its initialisation, written in-process
    internal static string DigitsCheckpoint(string dir)
    {
        var ds = Catalog.Load("digits");
        var cfg = RunSettings.Resolve("metamae", "digits", ds.Spec,
            Catalog.Entries.First(e => e.Name == "digits").Preset, "tiny", 0);
        using var model = OnnxExportTests.Model(ds.Spec, cfg: cfg.Model);
        var path = Path.Combine(dir, "checkpoint.safetensors");
        model.Save(path, cfg);
        return path;
    }
}
