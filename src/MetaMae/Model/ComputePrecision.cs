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
/// With bfloat16: the matmul's inputs (activations and a bf16 copy of the weight, made per call) are
/// cast to bf16, the product comes back in the input's dtype (float32). Weights, their gradients, the
/// optimizer state, LayerNorm, softmax, GELU, losses and the inner-step latent stay float32. Casts
/// (.to) are differentiable ops, so the second-order inner step differentiates through them.
/// </summary>
public sealed class ComputePrecision
{
    /// <summary>Values of the --precision flag (TrainOptions.Precision): fp32 or bf16.</summary>
    public static string[] Names => EnumNames<Precision>.All;

    /// <summary>--precision auto: bf16 on a CPU with native bfloat16 matmuls, fp32 elsewhere (issue 29). Opt-in, not
    /// the default: bf16 pretraining matches fp32 to +-0.01 with all the labels on dna-splice and satellite, but with
    /// 10% of the labels only on dna-splice (satellite -0.006 [-0.013, +0.001], 20 seeds), and at the CPU recipe's
    /// small shapes it is no faster than fp32 (results/precision-parity).</summary>
    public const string Auto = "auto";

    /// <summary>The precision a name stands for on a device: <see cref="Auto"/> resolved, any other name parsed.</summary>
    public static Precision Resolve(string name, Device device) =>
        name != Auto ? EnumNames<Precision>.Parse(name, "--precision")
            : device.type == DeviceType.CPU && NativeOnThisCpu() ? Precision.Bf16 : Precision.Fp32;

    /// <summary>The dtype of the matmuls, or null: every op in the model's own dtype.</summary>
    public ScalarType? Low { get; private set; }

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

    /// <summary>lin(x) with the product in the matmul dtype: (.., in) -> (.., out), dtype Low (x's when off).</summary>
    public Tensor LinearLow(Linear lin, Tensor x)
    {
        if (Low is not ScalarType t) return lin.forward(x);
        using var w = lin.weight!.to(t);
        using var b = lin.bias?.to(t);
        return nn.functional.linear(ToLow(x), w, b);
    }

    /// <summary>lin(x), back in the dtype of lin's weight: (.., in) -> (.., out).</summary>
    public Tensor Linear(Linear lin, Tensor x)
    {
        if (Low is null) return lin.forward(x);
        using var y = LinearLow(lin, x);
        return y.to(lin.weight!.dtype);
    }

    /// <summary>a @ b in the matmul dtype, the product back in dtype <paramref name="result"/>.</summary>
    public Tensor MatMul(Tensor a, Tensor b, ScalarType result)
    {
        if (Low is null) return matmul(a, b);
        using var y = matmul(ToLow(a), ToLow(b));
        return y.to(result);
    }

    /// <summary>a @ b in the matmul dtype, the product left there.</summary>
    public Tensor MatMulLow(Tensor a, Tensor b) => Low is null ? matmul(a, b) : matmul(ToLow(a), ToLow(b));

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
