using System.Diagnostics;
using System.Text;
using MetaMae.Interop;
using MetaMae.Modalities;
using MetaMae.Model;
using MetaMae.Training;
using static TorchSharp.torch;
using MetaMae.IO;

namespace MetaMae.Tests;

public class InteropTests
{
    private static readonly ModelConfig Small = ModelConfig.Tiny with { EncDepth = 1, DecDepth = 1, ProjHidden = 16, ProjDim = 8 };

    private static MetaMaeModel Build(InputSpec spec, long seed = 0)
    {
        manual_seed(seed);
        return new MetaMaeModel(spec, Small);
    }

    public static TheoryData<string> Specs => new() { "grid", "sequence", "tabular", "tokens" };

    internal static InputSpec SpecOf(string kind) => kind switch
    {
        "grid" => new GridSpec(3, 8, 8, 4, 2),
        "sequence" => new SequenceSpec(2, 12, 3),
        "tabular" => new TabularSpec(5),
        _ => new TokenSpec(7, 6),
    };

    [Theory]
    [MemberData(nameof(Specs))]
    public void ExportThenImportIsExact(string kind)
    {
        var spec = SpecOf(kind);
        using var a = Build(spec, 1);
        var path = Path.Combine(Tmp.Dir("export"), "w.safetensors");
        ReferenceFormat.Export(a, null, path, ModelParts.All);
        using var b = Build(spec, 2);
        var (tensors, meta) = SafeTensors.Load(path);
        Assert.Equal(ReferenceFormat.FormatName, meta["format"]);
        var parts = ReferenceFormat.Load(b, tensors, path);
        Assert.Equal(ModelParts.All, parts);
        var sa = a.state_dict();
        foreach (var (k, v) in b.state_dict()) Assert.True(T.Same(sa[k], v), k);
    }

    [Fact]
    public void ExportUsesTimmNamesAndTheConv2dPatchLayout()
    {
        var spec = new GridSpec(3, 8, 8, 4, 2);
        using var m = Build(spec);
        var path = Path.Combine(Tmp.Dir("names"), "w.safetensors");
        ReferenceFormat.Export(m, null, path);
        var (t, meta) = SafeTensors.Load(path);
        Assert.Equal("encoder", meta["parts"]);
        foreach (var k in new[] { "cls_token", "pos_embed", "patch_embed.proj.weight", "patch_embed.proj.bias", "blocks.0.norm1.weight",
                     "blocks.0.attn.qkv.weight", "blocks.0.attn.proj.weight", "blocks.0.attn.proj.bias", "blocks.0.mlp.fc1.weight",
                     "blocks.0.mlp.fc2.bias", "blocks.0.norm2.bias", "norm.weight", "norm.bias" })
            Assert.True(t.ContainsKey(k), k);
        Assert.DoesNotContain(t.Keys, k => k.StartsWith("decoder") || k.StartsWith("mask_token") || k.StartsWith("projector") || k.StartsWith("embed."));
        Assert.Equal(new long[] { 64, 3, 4, 2 }, t["patch_embed.proj.weight"].shape);
        // the Conv2d weight applied to a patch equals our Linear applied to the patchified token
        using var img = randn(1, 3, 8, 8);
        using var conv = nn.functional.conv2d(img, t["patch_embed.proj.weight"], t["patch_embed.proj.bias"], strides: [4, 2]); // (1, D, 2, 4)
        using var convTokens = conv.flatten(2).transpose(1, 2);                                                                 // (1, 8, D)
        var sd = m.state_dict();
        using var lin = nn.functional.linear(spec.Patchify(img), sd["embed.weight"], sd["embed.bias"]);
        Assert.True(allclose(convTokens, lin, rtol: 1e-4, atol: 1e-5));
    }

    [Fact]
    public void SequenceExportIsAConv1dWeight()
    {
        var spec = new SequenceSpec(2, 12, 3);
        using var m = Build(spec);
        var path = Path.Combine(Tmp.Dir("seq"), "w.safetensors");
        ReferenceFormat.Export(m, null, path);
        var (t, _) = SafeTensors.Load(path);
        using var x = randn(1, 2, 12);
        using var conv = nn.functional.conv1d(x, t["patch_embed.proj.weight"], t["patch_embed.proj.bias"], stride: 3).transpose(1, 2);
        var sd = m.state_dict();
        using var lin = nn.functional.linear(spec.Patchify(x), sd["embed.weight"], sd["embed.bias"]);
        Assert.True(allclose(conv, lin, rtol: 1e-4, atol: 1e-5));
    }

    /// <summary>Writes a safetensors file byte by byte from the format spec (8-byte LE header length, JSON, raw LE data), independently of SafeTensors.Save.</summary>
    internal static void WriteIndependently(string path, IReadOnlyList<(string Name, long[] Shape, float[] Data)> tensors)
    {
        var sb = new StringBuilder("{\"__metadata__\":{\"format\":\"pt\"}");
        long off = 0;
        foreach (var (name, shape, data) in tensors)
        {
            long end = off + 4L * data.Length;
            sb.Append($",\"{name}\":{{\"dtype\":\"F32\",\"shape\":[{string.Join(",", shape)}],\"data_offsets\":[{off},{end}]}}");
            off = end;
        }
        sb.Append('}');
        var header = Encoding.UTF8.GetBytes(sb.ToString());
        using var fs = File.Create(path);
        fs.Write(BitConverter.GetBytes((ulong)header.Length));
        fs.Write(header);
        foreach (var (_, _, data) in tensors)
            foreach (var v in data) fs.Write(BitConverter.GetBytes(v));
    }

    [Fact]
    public void AFileFromAnIndependentWriterLoadsWithTheRightValues()
    {
        var spec = new GridSpec(2, 4, 4, 2, 2);
        using var m = Build(spec);
        // every encoder key with its reference shape; value = 1000 * key index + element index
        var entries = new List<(string, long[], float[])>();
        var expect = new Dictionary<string, float[]>();
        int idx = 0;
        foreach (var (k, v) in m.state_dict())
        {
            if (ReferenceFormat.PartOf(k) != ModelParts.Encoder) continue;
            var shape = ReferenceFormat.ReferenceShape(spec, k, v.shape);
            int n = (int)shape.Aggregate(1L, (a, b) => a * b);
            var data = k == "pos_embed" ? v.contiguous().data<float>().ToArray() : Enumerable.Range(0, n).Select(i => 1000f * idx + i).ToArray();
            entries.Add((ReferenceFormat.ReferenceName(spec, k), shape, data));
            expect[k] = data;
            idx++;
        }
        var path = Path.Combine(Tmp.Dir("indep"), "ref.safetensors");
        WriteIndependently(path, entries);
        var (t, _) = SafeTensors.Load(path);
        Assert.Equal(ModelParts.Encoder, ReferenceFormat.Load(m, t, path));
        var sd = m.state_dict();
        Assert.Equal(expect["blocks.0.attn.qkv.weight"], sd["blocks.0.attn.qkv.weight"].contiguous().data<float>().ToArray());
        Assert.Equal(expect["cls_token"], sd["cls_token"].data<float>().ToArray());
        // the conv weight (D, C=2, ph=2, pw=2) element [d, c, i, j] lands at our column (i*2 + j)*2 + c
        var w = sd["embed.weight"];
        var conv = expect["embed.weight"];
        for (int d = 0; d < 3; d++)
            for (int c = 0; c < 2; c++)
                for (int i = 0; i < 2; i++)
                    for (int j = 0; j < 2; j++)
                        Assert.Equal(conv[((d * 2 + c) * 2 + i) * 2 + j], w[d, (i * 2 + j) * 2 + c].item<float>());
    }

    [Fact]
    public void BadFilesGetClearErrors()
    {
        var spec = new GridSpec(2, 4, 4, 2, 2);
        using var m = Build(spec);
        var dir = Tmp.Dir("bad");
        var wrongShape = Path.Combine(dir, "shape.safetensors");
        WriteIndependently(wrongShape, [("cls_token", [1, 1, 3], [1, 2, 3])]);
        var e1 = Assert.Throws<InvalidDataException>(() => ReferenceFormat.Load(m, SafeTensors.Load(wrongShape).Tensors, wrongShape));
        Assert.Contains("missing keys", e1.Message);
        var unknown = Path.Combine(dir, "unknown.safetensors");
        WriteIndependently(unknown, [("head.weight", [2], [1, 2])]);
        var e2 = Assert.Throws<InvalidDataException>(() => ReferenceFormat.Load(m, SafeTensors.Load(unknown).Tensors, unknown));
        Assert.Contains("head.weight", e2.Message);
        Assert.Contains(unknown, e2.Message);
        Assert.Throws<ArgumentException>(() => ReferenceFormat.ParseParts("encoder,head"));
    }

    [TorchFact]
    public void ExportedEncoderGivesTheSameFeaturesInPyTorch()
    {
        var python = TorchFactAttribute.Python;
        var spec = new GridSpec(3, 8, 8, 4, 2);
        using var m = Build(spec, 3);
        var dir = Tmp.Dir("torch");
        var w = Path.Combine(dir, "w.safetensors");
        ReferenceFormat.Export(m, null, w, ModelParts.Encoder);
        manual_seed(5);
        using var x = randn(4, 3, 8, 8);
        using var f = m.ExtractFeatures(x);
        SafeTensors.Save(Path.Combine(dir, "io.safetensors"), [new("x", x), new("features", f)]);
        var script = Path.Combine(AppContext.BaseDirectory, "scripts", "compare_torch.py");
        var psi = new ProcessStartInfo(python!, [script, w, Path.Combine(dir, "io.safetensors"), "grid", "3,8,8,4,2", "4"]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEnd();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, stdout + stderr);
        Assert.Contains("max abs difference", stdout);
    }

}

/// <summary>A fact that is reported as skipped, with the reason, when python3 cannot import torch.</summary>
public sealed class TorchFactAttribute : FactAttribute
{
    public static readonly string? Python = PythonWith("torch", ["python3", "/usr/bin/python3"]);

    public TorchFactAttribute()
    {
        if (Python is null) Skip = "python3 with torch is not installed (Debian: apt-get install python3-torch); the byte-level fixture tests cover the format";
    }

    /// <summary>The first of the pythons that imports module, or null.</summary>
    internal static string? PythonWith(string module, string[] pythons)
    {
        foreach (var py in pythons)
        {
            try
            {
                using var p = Process.Start(new ProcessStartInfo(py, ["-c", "import " + module])
                {
                    RedirectStandardError = true, RedirectStandardOutput = true,
                });
                if (p is null) continue;
                p.WaitForExit(60_000);
                if (p.HasExited && p.ExitCode == 0) return py;
            }
            catch (System.ComponentModel.Win32Exception) { }
        }
        return null;
    }
}
