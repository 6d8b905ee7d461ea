using System.Numerics;
using System.Text.Json.Serialization;
using MetaMae.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MetaMae.Model;

/// <summary>The matmul precision of a run (config.json "precision", the flag --precision).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<Precision>))]
public enum Precision
{
    /// <summary>float32 throughout (the default: exact; the pinned losses are float32).</summary>
    [JsonStringEnumMemberName("fp32")] Fp32,
    /// <summary>bfloat16 matmuls; float32 weights, optimizer, LayerNorm, softmax and losses.</summary>
    [JsonStringEnumMemberName("bf16")] Bf16,
}

/// <summary>
/// Mixed precision, the one place that casts. TorchSharp 0.107 has no autocast, so a model holds one
/// ComputePrecision, shared by all its blocks, and routes every Linear layer and attention product
/// through it. With <see cref="Low"/> null (fp32, the default) each method is exactly the plain op.
/// With bfloat16: a matmul runs in bf16 when it is large enough to gain from it (<see cref="RunsLow"/>): its
/// inputs (activations and a bf16 copy of the weight, made per call) are cast to bf16, the product comes
/// back in the input's dtype (float32) or, for the *Low methods, stays bf16. A smaller matmul runs in float32,
/// exactly as fp32 does. Weights, their gradients, the optimizer state, LayerNorm, softmax, losses and the
/// inner-step latent stay float32. Casts (.to) are differentiable ops, so the second-order inner step
/// differentiates through them.
/// </summary>
public sealed class ComputePrecision
{
    /// <summary>Values of the --precision flag (TrainOptions.Precision): fp32 or bf16.</summary>
    public static string[] Names => EnumNames<Precision>.All;

    /// <summary>--precision auto: bf16 on a CPU with native bfloat16 matmuls, fp32 elsewhere (issue 29). Opt-in, not
    /// the default, because where parity is measured bf16 buys little, and where it buys time parity is not measured.
    /// At the CPU recipe a bf16 run is satellite's fp32 run figure for figure (0 of 79 matmuls large enough,
    /// <see cref="MinLowMultiplyAdds"/>) and on dna-splice (16 of 61) is within +-0.01 of fp32: +0.0032 [-0.0029,
    /// +0.0093] / +0.0025 [-0.0020, +0.0069] (10% / all labels, 25 paired seeds) at 0.96-0.97x the time, a saving too
    /// small to change a default for; at the paper preset it is 1.1-1.4x faster, with its learning measured only by
    /// all-bf16 runs at small shapes (satellite, 10% of the labels: -0.006 [-0.013, +0.001], 20 seeds). As a default it
    /// would make a run's figures depend on the CPU that ran it for that gain (results/precision-parity).</summary>
    public const string Auto = "auto";

    /// <summary>The precision a name stands for on a device: <see cref="Auto"/> resolved, any other name parsed.</summary>
    public static Precision Resolve(string name, Device device) =>
        name != Auto ? EnumNames<Precision>.Parse(name, "--precision")
            : device.type == DeviceType.CPU && NativeOnThisCpu() ? Precision.Bf16 : Precision.Fp32;

    /// <summary>The dtype of the matmuls, or null: every op in the model's own dtype.</summary>
    public ScalarType? Low { get; private set; }

    /// <summary>
    /// The fewest multiply-adds (rows x in x out for a Linear) of a float32-input matmul that bf16 runs in bfloat16:
    /// 2^25. Below it the casts cost more than bf16's faster arithmetic saves. `tools/microbench linear`, forward +
    /// backward with bf16's casts against float32, median of 3 runs, 2 threads, native-bf16 EPYC
    /// (results/microbench-bf16-small.txt): bf16 / fp32 1.3-1.7x at 2.6-4.7M multiply-adds, 1.1-1.4x at 15.7-16.3M,
    /// 0.93x at 24.4M, 0.7-0.9x from 92M on. The crossover is near 20M; 2^25 (33.5M) leaves a margin, as a float32
    /// matmul also spares the ops around it their casts. So the CPU recipe's small preset at batch 32 stays in float32
    /// and every Linear of the paper preset's blocks at batch 64 runs in bf16.
    /// </summary>
    public const long MinLowMultiplyAdds = 1L << 25;

    /// <summary>The threshold in force (<see cref="MinLowMultiplyAdds"/>; 0 runs every matmul in bf16, as tests that
    /// measure bf16's rounding do).</summary>
    public long MinLowMacs { get; set; } = MinLowMultiplyAdds;

    /// <summary>Whether a matmul with input x and this many multiply-adds runs in the matmul dtype: bf16 is on and the
    /// matmul is large enough, or its input is already in bf16 (e.g. an attention product after a bf16 qkv Linear, or a
    /// second MLP Linear after a bf16 first one).</summary>
    public bool RunsLow(Tensor x, long macs) => Low is ScalarType t && (x.dtype == t || macs >= MinLowMacs);

    private int lowCalls, fullCalls;

    /// <summary>The matmuls run with bf16 on since the last call: (in bf16, in float32 for being small).</summary>
    public (int Low, int Full) TakeCounts()
    {
        var counts = (lowCalls, fullCalls);
        lowCalls = fullCalls = 0;
        return counts;
    }

    /// <summary>What bf16 did in a step whose matmuls were counted (<see cref="TakeCounts"/>), for the run's log.</summary>
    public static string Describe((int Low, int Full) counts) =>
        $"bf16: {counts.Low} of the step's {counts.Low + counts.Full} matmuls ran in bfloat16, the other {counts.Full} " +
        $"(under 2^{BitOperations.Log2((ulong)MinLowMultiplyAdds)} multiply-adds) in float32, where they are faster" + (counts.Low > 0 ? ""
            : "; at this model and batch bf16 changes nothing: the run is fp32's, number for number");

    // counts a matmul run with bf16 on; returns whether it runs low
    private bool Count(bool low)
    {
        if (low) lowCalls++;
        else fullCalls++;
        return low;
    }

    /// <summary>The precision set.</summary>
    public Precision Value => Low is null ? Precision.Fp32 : Precision.Bf16;

    /// <summary>Sets the precision.</summary>
    public void Set(Precision p) => Low = p switch
    {
        Precision.Fp32 => null,
        Precision.Bf16 => ScalarType.BFloat16,
        _ => throw new ArgumentException($"--precision must be one of {string.Join(", ", Names)} (got {(int)p})"),
    };

    /// <summary>x cast to the matmul dtype (x itself when off or already there).</summary>
    public Tensor ToLow(Tensor x) => Low is ScalarType t && x.dtype != t ? x.to(t) : x;

    /// <summary>lin(x): (.., in) -> (.., out), in the matmul dtype where <see cref="RunsLow"/>, else in the weight's.</summary>
    public Tensor LinearLow(Linear lin, Tensor x)
    {
        var weight = lin.weight!;                                                       // (out, in)
        if (Low is not ScalarType t || !Count(RunsLow(x, x.numel() * weight.shape[0])))
            return lin.forward(In(x, weight.dtype));
        using var w = weight.to(t);
        using var b = lin.bias?.to(t);
        return nn.functional.linear(ToLow(x), w, b);
    }

    /// <summary>lin(x), back in the dtype of lin's weight: (.., in) -> (.., out).</summary>
    public Tensor Linear(Linear lin, Tensor x)
    {
        if (Low is null) return lin.forward(x);
        return Back(LinearLow(lin, x), lin.weight!.dtype);
    }

    /// <summary>a @ b, the product in dtype <paramref name="result"/>: a (.., m, k), b (.., k, n).</summary>
    public Tensor MatMul(Tensor a, Tensor b, ScalarType result) => Low is null ? matmul(a, b) : Back(MatMulLow(a, b), result);

    /// <summary>a @ b, the product left in the matmul dtype where <see cref="RunsLow"/> (a's dtype else).</summary>
    public Tensor MatMulLow(Tensor a, Tensor b)
    {
        if (Low is null) return matmul(a, b);
        long macs = a.numel() * b.shape[^1];
        return Count(RunsLow(a, macs) || RunsLow(b, macs)) ? matmul(ToLow(a), ToLow(b)) : matmul(a, b);  // neither bf16
    }

    // x in dtype t: x itself, or its cast
    private static Tensor In(Tensor x, ScalarType t) => x.dtype == t ? x : x.to(t);

    // y in dtype t: y itself, or its cast (y then released)
    private static Tensor Back(Tensor y, ScalarType t)
    {
        if (y.dtype == t) return y;
        using (y) return y.to(t);
    }

    /// <summary>
    /// Refuses bf16 on a CPU without native bfloat16 matmuls (x86 flags avx512_bf16 or amx_bf16): there
    /// libtorch emulates bf16 and the step is slower than in float32, so bf16 would only lose accuracy.
    /// cpuinfo: the text of /proc/cpuinfo (injectable for tests); null reads the file. A non-CPU device
    /// is not checked. Returns normally for fp32.
    /// </summary>
    public static void EnsureSupported(Precision precision, Device device, Func<string?>? cpuinfo = null)
    {
        if (!Enum.IsDefined(precision))
            throw new ArgumentException($"--precision must be one of {string.Join(", ", Names)} (got {(int)precision})");
        if (precision == Precision.Fp32 || device.type != DeviceType.CPU) return;
        var text = (cpuinfo ?? ReadCpuInfo)();
        if (text is null)
            throw new ArgumentException("--precision bf16: cannot tell whether this CPU has native bfloat16 matmuls " +
                                        "(no /proc/cpuinfo); use --precision fp32");
        if (!HasNativeBf16(text))
            throw new ArgumentException("--precision bf16: this CPU has no native bfloat16 matmuls (its /proc/cpuinfo flags " +
                                        "lack avx512_bf16 and amx_bf16), so bf16 would be slower than fp32; " +
                                        "use --precision fp32");
    }

    /// <summary>Whether this machine's CPU has native bfloat16 matmuls (what <see cref="EnsureSupported"/> asks of bf16).</summary>
    public static bool NativeOnThisCpu() => ReadCpuInfo() is string text && HasNativeBf16(text);

    /// <summary>Whether the "flags" lines of a /proc/cpuinfo text name avx512_bf16 or amx_bf16.</summary>
    public static bool HasNativeBf16(string cpuinfo) =>
        cpuinfo.Split('\n').Where(l => l.StartsWith("flags"))
            .SelectMany(l => l[(l.IndexOf(':') + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Any(f => f is "avx512_bf16" or "amx_bf16");

    private static string? ReadCpuInfo() => File.Exists("/proc/cpuinfo") ? File.ReadAllText("/proc/cpuinfo") : null;
}
