using System.Runtime.InteropServices;
using MetaMae.Training;
using static TorchSharp.torch;
using MetaMae.Runtime;

namespace MetaMae.Tests;

public class CpuMathTests
{
    [Fact]
    public unsafe void Mkl_vendor_check_is_answered_yes_after_configure_on_x64_linux()
    {
        var state = CpuMath.EnsureMklKernels();
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64 || state == "kept") return;
        Assert.Contains(state, new[] { "feature-bits", "intel" });
        Assert.True(NativeLibrary.TryLoad("libtorch_cpu.so", out var lib));
        var isIntel = (delegate* unmanaged<int>)NativeLibrary.GetExport(lib, "mkl_serv_intel_cpu_true");
        Assert.Equal(1, isIntel());
        Assert.Equal(state, CpuMath.EnsureMklKernels());     // idempotent
    }

    [Fact]
    public void Matmul_under_the_chosen_kernels_matches_float64()
    {
        CpuMath.EnsureMklKernels();
        using var g = new TorchSharp.torch.Generator().manual_seed(3);
        using var a = randn([300, 257], generator: g);
        using var b = randn([257, 129], generator: g);
        using var f32 = matmul(a, b);
        using var f64 = matmul(a.to(ScalarType.Float64), b.to(ScalarType.Float64));
        double err = (f32.to(ScalarType.Float64) - f64).abs().max().item<double>();
        Assert.True(err < 1e-3, $"max abs error {err}");
    }

    [Fact]
    public void Glibc_malloc_is_told_to_keep_freed_memory()
    {
        var state = CpuMath.EnsureMallocRetains();
        var preload = Environment.GetEnvironmentVariable("LD_PRELOAD") ?? "";
        if (!OperatingSystem.IsLinux() || preload.Length > 0 || Environment.GetEnvironmentVariable("METAMAE_MALLOC") == "system") return;
        Assert.Equal("retain", state);
    }

    [Fact]
    public void Encoder_and_decoder_release_only_their_own_intermediates()
    {
        var spec = new MetaMae.Modalities.SequenceSpec(3, 16, 2);
        using var model = new MetaMae.Model.MetaMaeModel(spec, MetaMae.Model.ModelConfig.Tiny);
        using var g = new TorchSharp.torch.Generator().manual_seed(1);
        using var x = randn([2, 3, 16], generator: g);
        using var tokens = spec.Patchify(x);
        using var h = model.Embed(tokens);
        using var z = model.Encode(h);
        using var pred = model.Decode(z, null);
        // the caller's tensors are intact after the blocks ran
        Assert.Equal(h.shape, new long[] { 2, 8, model.Config.EncDim });
        Assert.True(h.isfinite().all().item<bool>());
        Assert.Equal(new long[] { 2, 9, model.Config.EncDim }, z.shape);
        Assert.Equal(new long[] { 2, 8, 6 }, pred.shape);
        // same result as a second pass (nothing was freed under a live tensor)
        using var z2 = model.Encode(h);
        Assert.True(T.Same(z, z2));
    }

    [Theory]
    [InlineData("METAMAE_MALLOC", "sytem")]
    [InlineData("METAMAE_MKL_VENDOR_CHECK", "off")]
    [InlineData("METAMAE_OMP_WAIT", "sometimes")]
    public void A_misspelt_opt_out_variable_is_an_error_naming_it(string name, string value)
    {
        var (code, _, err) = CliTests.MetamaeWithEnv(new Dictionary<string, string> { [name] = value },
            "bench", "--preset", "tiny", "--steps", "1", "--warmup", "0", "--feature-batch", "0", "--peak-size", "0");
        Assert.Equal(2, code);
        Assert.StartsWith("error: ", err.Trim());
        Assert.Contains($"{name}='{value}'", err);
    }

    [Fact]
    public void The_opt_outs_are_honoured()
    {
        var (code, output, err) = CliTests.MetamaeWithEnv(new Dictionary<string, string> { ["METAMAE_MALLOC"] = "system", ["METAMAE_MKL_VENDOR_CHECK"] = "keep" },
            "bench", "--preset", "tiny", "--batch", "4", "--L", "8", "--values", "4", "--steps", "1", "--warmup", "0", "--feature-batch", "0", "--peak-size", "0", "--threads", "1");
        Assert.True(code == 0, err);
        Assert.Contains("alloc=glibc-system mkl=kept", output);
    }

    [Fact]
    public void Proc_stat_texts_give_busy_and_own_jiffies()
    {
        // user nice system idle iowait irq softirq steal (guest columns are already in user / nice)
        var (busy, total) = CpuMath.CpuJiffies("intr 5\ncpu  100 5 20 800 50 1 2 3 0 0\ncpu0 50 2 10 400 25 0 1 1 0 0\n");
        Assert.Equal(981, total);
        Assert.Equal(981 - 800 - 50, busy);
        Assert.Throws<FormatException>(() => CpuMath.CpuJiffies("cpu0 1 2 3 4 5\n"));
        // a command name with spaces and a ')' of its own: fields are counted from the last ')'
        var stat = "4242 (dotnet (a) b) S 1 4242 4242 0 -1 4194560 100 0 0 0 37 11 0 0 20 0 9 0 123 456 789";
        Assert.Equal(48, CpuMath.OwnJiffies(stat));
    }

    [Fact]
    public void A_busy_process_beside_this_one_is_seen()
    {
        if (!OperatingSystem.IsLinux()) return;
        using var busy = System.Diagnostics.Process.Start("sh", ["-c", "while :; do :; done"]);
        try
        {
            Thread.Sleep(100);
            var others = CpuMath.OtherProcessesCores(400);
            Assert.NotNull(others);
            // the loop takes about one core; at most every core, give or take the jiffies (1/100 s) by which the four
            // /proc reads miss each other: 0.025 core each over 400 ms (2.024 of 2 seen while two runs shared the cores)
            Assert.InRange(others!.Value, 0.5, Environment.ProcessorCount + 0.1);
        }
        finally
        {
            busy.Kill();
        }
    }

    [Fact]
    public void Threads_below_one_are_refused()
    {
        var e = Assert.Throws<ArgumentException>(() => CpuMath.Configure(0));
        Assert.Contains("--threads", e.Message);
    }
}
