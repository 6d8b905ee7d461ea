using System.Runtime.InteropServices;
using MetaMae.Training;
using static TorchSharp.torch;

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
    public void Threads_below_one_are_refused()
    {
        var e = Assert.Throws<ArgumentException>(() => CpuMath.Configure(0));
        Assert.Contains("--threads", e.Message);
    }
}
