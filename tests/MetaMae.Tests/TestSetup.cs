using TorchSharp;
using MetaMae.Runtime;

// libtorch's global RNG (init, dropout) is process-wide: tests that compare runs must not interleave.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace MetaMae.Tests;

internal static class ProcessSetup
{
    /// <summary>Before any test's first matmul: MKL's kernel choice (see CpuMath) is made once per process. OpenMP
    /// workers sleep when they wait, in this process and the CLI processes it starts (they inherit the variable):
    /// tests run beside other tests' processes, where spinning workers cost more than they gain.</summary>
    [System.Runtime.CompilerServices.ModuleInitializer]
    internal static void Init()
    {
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("METAMAE_OMP_WAIT")))
            Environment.SetEnvironmentVariable("METAMAE_OMP_WAIT", "passive");
        MetaMae.Runtime.CpuMath.Configure(2);
    }
}

internal static class Tmp
{
    public static string Dir(string name)
    {
        var d = Path.Combine(Path.GetTempPath(), "metamae-tests", name + "-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(d);
        return d;
    }

    static Tmp() => torch.set_num_threads(2);
}

/// <summary>The repository the tests run from, and its Python scripts.</summary>
internal static class Repo
{
    /// <summary>The repository root: the first folder above the test binaries that holds MetaMae.slnx.</summary>
    public static string Root { get; } = FindRoot();

    static string FindRoot()
    {
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "MetaMae.slnx")))
            root = Path.GetDirectoryName(root) ?? throw new InvalidOperationException("repository root not found");
        return root;
    }

    /// <summary>Runs `python3 -c code` in scripts/ (Debian's /usr/bin/python3 where it exists): exit code, stdout,
    /// stderr.</summary>
    public static (int Code, string Out, string Err) Python(string code)
    {
        var python = File.Exists("/usr/bin/python3") ? "/usr/bin/python3" : "python3";
        var psi = new System.Diagnostics.ProcessStartInfo(python)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = Path.Combine(Root, "scripts"),
        };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(code);
        using var p = System.Diagnostics.Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout.Result, stderr);
    }
}

internal static class T
{
    /// <summary>Same shape and exactly the same values.</summary>
    public static bool Same(torch.Tensor a, torch.Tensor b) =>
        a.shape.SequenceEqual(b.shape) && a.dtype == b.dtype && a.eq(b).all().item<bool>();
}

/// <summary>A minimal, independent PNG encoder for fixtures (8-bit RGB, filter 0, zlib via .NET).</summary>
internal static class PngWriter
{
    public static byte[] Rgb(int w, int h, byte[] rgb)
    {
        using var ms = new MemoryStream();
        ms.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BE(ihdr, 0, w); BE(ihdr, 4, h); ihdr[8] = 8; ihdr[9] = 2;
        Chunk(ms, "IHDR", ihdr);
        using var raw = new MemoryStream();
        for (int y = 0; y < h; y++) { raw.WriteByte(0); raw.Write(rgb, y * w * 3, w * 3); }
        using var z = new MemoryStream();
        using (var zs = new System.IO.Compression.ZLibStream(z, System.IO.Compression.CompressionLevel.Optimal, leaveOpen: true)) raw.WriteTo(zs);
        Chunk(ms, "IDAT", z.ToArray());
        Chunk(ms, "IEND", []);
        return ms.ToArray();
    }

    static void BE(byte[] b, int at, int v) { b[at] = (byte)(v >> 24); b[at + 1] = (byte)(v >> 16); b[at + 2] = (byte)(v >> 8); b[at + 3] = (byte)v; }

    static void Chunk(Stream s, string type, byte[] data)
    {
        var len = new byte[4]; BE(len, 0, data.Length); s.Write(len);
        var td = System.Text.Encoding.ASCII.GetBytes(type).Concat(data).ToArray();
        s.Write(td);
        var crc = new byte[4]; BE(crc, 0, (int)Crc(td)); s.Write(crc);
    }

    static uint Crc(byte[] d)
    {
        uint c = 0xFFFFFFFF;
        foreach (var b in d) { c ^= b; for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1; }
        return c ^ 0xFFFFFFFF;
    }
}
