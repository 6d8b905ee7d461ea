// Micro-measurements quoted in results/performance.md (issue 6). Usage, from the repo root:
//   dotnet run -c Release --project tools/microbench -- block [CALLS]   one encoder block (B=256, 65 tokens, d=256), no grad:
//                                                                      ms, minor page faults and RSS per call
//   dotnet run -c Release --project tools/microbench -- attention      explicit vs fused attention at the decoder's shape
//                                                                      (B=64, 4 heads, 65 tokens, 32 per head): fwd+bwd ms,
//                                                                      and whether the fused one has a second derivative
//   dotnet run -c Release --project tools/microbench -- probe [N] [D]  the converged linear probe (issue 15) on N x D synthetic
//                                                                      features, 10 classes (default 10000 x 256): seconds,
//                                                                      chosen L2, L-BFGS iterations
//   dotnet run -c Release --project tools/microbench -- linear         one Linear forward + backward at the paper preset's
//                                                                      shapes: fp32 against the bf16 variants (issue 29)
//   dotnet run -c Release --project tools/microbench -- second         LayerNorm (also at smaller shapes), GELU, softmax at
//                                                                      the decoder's B=256 shapes: forward + backward against
//                                                                      forward + create_graph backward + the backward of that
//                                                                      (MetaMAE's inner step)
//   dotnet run -c Release --project tools/microbench -- ops            attention (fused / explicit) and GELU, casts, adds, LayerNorm,
//                                                                      softmax, forward + backward, in float32 and bfloat16 (issue 29)
// All honour METAMAE_MALLOC / METAMAE_MKL_VENDOR_CHECK (see CpuMath) and --threads N (default 2).
using System.Diagnostics;
using System.Globalization;
using MetaMae.Model;
using MetaMae.Training;
using TorchSharp;
using static TorchSharp.torch;
using MetaMae.Runtime;

var mode = args.Length > 0 ? args[0] : "";
int threads = args.SkipWhile(a => a != "--threads").Skip(1).Select(int.Parse).FirstOrDefault(2);
CpuMath.Configure(threads);
Console.WriteLine($"# {mode} threads={threads} mkl={CpuMath.MklState} malloc={CpuMath.MallocState}");
switch (mode)
{
    case "block": Block(args.Length > 1 && int.TryParse(args[1], out var n) ? n : 25); break;
    case "attention": Attention(); break;
    case "probe": Probe(Arg(1, 10000), Arg(2, 256)); break;
    case "linear": LinearBench(); break;
    case "ops": OpsBench(); break;
    case "second": SecondOrderBench(); break;
    default:
        Console.Error.WriteLine("usage: microbench block [CALLS] | attention | probe [N] [D] | linear | ops | second " +
                                "[--threads N]");
        return 2;
}
return 0;

static void OpsBench()
{
    // the non-matmul ops of a block, forward + backward, fp32 against bf16 inputs: ms per call, median of 30
    static double Time(Func<Tensor> f, Tensor[] leaves) =>
        MedianMs(35, () => f().sum().backward(), () => { foreach (var t in leaves) t.grad = null; });
    foreach (var (b, h, n, what) in new[] { (64, 8, 11, "encoder B=64"), (64, 4, 65, "decoder B=64"), (256, 4, 65, "decoder B=256"),
                 (128, 8, 20, "encoder tokens B=128"), (32, 4, 3, "small enc satellite"), (32, 2, 10, "small dec satellite"),
                 (32, 4, 10, "small enc dna-splice"), (32, 2, 62, "small dec dna-splice") })
    {
        Console.Write($"{what,-22} sdpa ({b},{h},{n},32):");
        foreach (var dt in new[] { ScalarType.Float32, ScalarType.BFloat16 })
        {
            manual_seed(0);
            var q = randn(b, h, n, 32).to(dt).requires_grad_(true);
            var k = randn(b, h, n, 32).to(dt).requires_grad_(true);
            var v = randn(b, h, n, 32).to(dt).requires_grad_(true);
            Console.Write($" {dt} fused {Time(() => nn.functional.scaled_dot_product_attention(q, k, v), [q, k, v]):F2}");
            Console.Write($" explicit {Time(() => matmul(nn.functional.softmax(matmul(q, k.transpose(-1, -2)) * 0.17, -1), v), [q, k, v]):F2}");
            if (dt != ScalarType.BFloat16) continue;
            // what SelfAttention does with bf16 q, k, v: fused in float32 (casts up), or explicit with a float32 softmax
            Console.Write($" | fused-f32-cast {Time(() => nn.functional.scaled_dot_product_attention(q.to(ScalarType.Float32),
                k.to(ScalarType.Float32), v.to(ScalarType.Float32)).to(ScalarType.BFloat16), [q, k, v]):F2}");
            Console.Write($" explicit-f32-softmax {Time(() => matmul(nn.functional.softmax((matmul(q, k.transpose(-1, -2))
                .to(ScalarType.Float32) * 0.17), -1).to(ScalarType.BFloat16), v), [q, k, v]):F2}");
        }
        Console.WriteLine(" ms");
    }
    foreach (var (rows, width, what) in new[] { (704, 512, "encoder mlp B=64"), (4160, 256, "decoder mlp B=64"), (16640, 256, "decoder mlp B=256") })
    {
        Console.Write($"{what,-22} ({rows},{width}):");
        foreach (var dt in new[] { ScalarType.Float32, ScalarType.BFloat16 })
        {
            manual_seed(0);
            var x = randn(rows, width).to(dt).requires_grad_(true);
            var x32 = randn(rows, width / 2).requires_grad_(true);
            var w = ones(width).to(dt).requires_grad_(true);
            var bias = zeros(width).to(dt).requires_grad_(true);
            Console.Write($" {dt} gelu {Time(() => nn.functional.gelu(x), [x]):F2} cast-to {Time(() => x32.to(dt), [x32]):F2}" +
                          $" add {Time(() => x + x, [x]):F2}" +
                          $" layer_norm {Time(() => nn.functional.layer_norm(x, [width], w, bias), [x, w, bias]):F2}" +
                          $" softmax {Time(() => nn.functional.softmax(x, -1), [x]):F2}");
        }
        Console.WriteLine(" ms");
    }
}

static void SecondOrderBench()
{
    // ms per call, median of 23: first order (y.backward(gy)) and second order (gx = dy/dx . gy with create_graph,
    // then (gx . v).backward()), as the support decode of a MetaMAE step does for each op of its decoder
    static double Time(Action f) => MedianMs(23, f);
    var cases = new (string Name, long[] Shape, Func<Tensor, Tensor, Tensor, Tensor> Op)[]
    {
        ("layer_norm", [16640, 128], (x, w, b) => nn.functional.layer_norm(x, [x.shape[^1]], w, b, 1e-6)),
        ("layer_norm", [4160, 128], (x, w, b) => nn.functional.layer_norm(x, [x.shape[^1]], w, b, 1e-6)),
        ("layer_norm", [640, 32], (x, w, b) => nn.functional.layer_norm(x, [x.shape[^1]], w, b, 1e-6)),
        ("gelu", [16640, 256], (x, w, b) => nn.functional.gelu(x)),
        ("softmax", [256 * 4 * 65, 65], (x, w, b) => nn.functional.softmax(x, -1)),
    };
    foreach (var (name, shape, op) in cases)
        foreach (var dt in new[] { ScalarType.Float32, ScalarType.BFloat16 })
        {
            manual_seed(0);
            var x = randn(shape).to(dt).requires_grad_(true);
            var w = randn(shape[^1]).requires_grad_(true);
            var b = randn(shape[^1]).requires_grad_(true);
            var gy = randn(shape).to(dt);
            var v = randn(shape).to(dt);
            double first = Time(() => { op(x, w, b).backward([gy]); x.grad = null; w.grad = null; b.grad = null; });
            double second = Time(() =>
            {
                var y = op(x, w, b);
                var gx = autograd.grad([y], [x], [gy], create_graph: true, retain_graph: true)[0];
                (gx * v).sum().backward();
                x.grad = null; w.grad = null; b.grad = null;
            });
            Console.WriteLine($"{name,-11} {string.Join("x", shape),-10} {dt,-9} first order {first,7:F2} ms  " +
                              $"second order {second,7:F2} ms");
        }
}

static void LinearBench()
{
    // one Linear forward + backward (input and weight gradients) at the paper preset's shapes: ms per call, median of 30
    var shapes = new (int Rows, int In, int Out, string What)[]
    {
        (704, 256, 768, "encoder qkv, MAE B=64 (11 rows each)"), (704, 256, 512, "encoder fc1"), (704, 512, 256, "encoder fc2"),
        (4160, 128, 384, "decoder qkv, B=64 x 65"), (4160, 128, 256, "decoder fc1"), (4160, 256, 128, "decoder fc2"),
        (16640, 128, 384, "decoder qkv, B=256"), (2816, 256, 768, "encoder qkv, B=256"),
        // the small preset at the CPU recipe's batch 32 (satellite: 9 tokens + cls, 2 visible; dna-splice: 61 tokens)
        (96, 128, 384, "small encoder qkv, satellite"), (96, 128, 256, "small encoder fc1, satellite"),
        (320, 64, 192, "small decoder qkv, satellite"), (320, 64, 128, "small decoder fc1, satellite"),
        (320, 128, 384, "small encoder qkv, dna-splice"), (1984, 64, 192, "small decoder qkv, dna-splice"),
        (1984, 64, 128, "small decoder fc1, dna-splice"), (1984, 128, 64, "small decoder fc2, dna-splice"),
    };
    foreach (var (rows, din, dout, what) in shapes)
    {
        manual_seed(0);
        var x = randn(rows, din).requires_grad_(true);
        var w = (randn(dout, din) * 0.05).requires_grad_(true);
        var b = zeros(dout).requires_grad_(true);
        var wb = w.detach().to(ScalarType.BFloat16).requires_grad_(true);
        var bb = b.detach().to(ScalarType.BFloat16).requires_grad_(true);
        var xb = x.detach().to(ScalarType.BFloat16).requires_grad_(true);
        var cases = new (string Name, Func<Tensor> F)[]
        {
            ("fp32", () => nn.functional.linear(x, w, b)),
            ("bf16 cast per call", () => nn.functional.linear(x.to(ScalarType.BFloat16), w.to(ScalarType.BFloat16),
                b.to(ScalarType.BFloat16)).to(ScalarType.Float32)),
            ("bf16 weights cast once", () => nn.functional.linear(x.to(ScalarType.BFloat16), wb, bb).to(ScalarType.Float32)),
            ("bf16 all bf16", () => nn.functional.linear(xb, wb, bb)),
            ("bf16 matmul no bias", () => matmul(xb, wb.t())),
        };
        Console.Write($"{what,-40} {rows}x{din}->{dout}:");
        foreach (var (name, f) in cases)
        {
            double ms = MedianMs(35, () => f().sum().backward(),
                () => { foreach (var t in new[] { x, w, b, wb, bb, xb }) t.grad = null; });
            Console.Write($"  {name} {ms:F2}");
        }
        Console.WriteLine(" ms");
    }
}

// the median ms of runs calls of body, each in its own dispose scope; after (untimed) runs before the scope closes
static double MedianMs(int runs, Action body, Action? after = null)
{
    var times = new double[runs];
    for (int i = 0; i < runs; i++)
    {
        using var scope = NewDisposeScope();
        var sw = Stopwatch.StartNew();
        body();
        times[i] = sw.Elapsed.TotalMilliseconds;
        after?.Invoke();
    }
    Array.Sort(times);
    return times[runs / 2];
}

int Arg(int i, int def) => args.Length > i && int.TryParse(args[i], out var v) ? v : def;

static void Probe(int n, int d)
{
    // 10 classes: class means on a random 10-dimensional subspace, unit noise in every dimension (overlapping classes)
    manual_seed(0);
    var means = randn(10, d) * 0.3;
    Tensor Make(int m, out long[] y)
    {
        var lab = randint(0, 10, [m]);
        y = lab.data<long>().ToArray();
        return means.index_select(0, lab) + randn(m, d);
    }
    var xTr = Make(n, out var yTr);
    var xTe = Make(n / 5, out var yTe);
    var sw = Stopwatch.StartNew();
    var r = MetaMae.Evaluation.LinearProbe.RunOnFeatures(xTr, new MetaMae.Data.Split(xTr, yTr), xTe, new MetaMae.Data.Split(xTe, yTe),
        MetaMae.Data.TaskKind.Classification, 10, new MetaMae.Evaluation.ProbeOptions());
    Console.WriteLine($"converged probe, {n} x {d} features, 10 classes, {r.Penalties.Length} penalties: {sw.Elapsed.TotalSeconds:F2} s; " +
                      $"test {r.Test:F4}, validation {r.Validation:F4}; {r.Describe()}");
}

static long MinorFaults() => long.Parse(File.ReadAllText("/proc/self/stat").Split(") ")[1].Split(' ')[7], CultureInfo.InvariantCulture);
static double RssMb() => long.Parse(File.ReadAllText("/proc/self/statm").Split(' ')[1], CultureInfo.InvariantCulture) * 4096 / 1e6;

static void Block(int calls)
{
    using var _ = no_grad();
    var blk = new Block(256, 8, 512, 0.0, 1e-6);
    blk.eval();
    var x = randn(256, 65, 256);
    for (int i = 0; i < calls; i++)
    {
        long f0 = MinorFaults();
        var sw = Stopwatch.StartNew();
        using (NewDisposeScope()) blk.forward(x);
        Console.WriteLine($"call {i + 1}: {sw.Elapsed.TotalMilliseconds:F1} ms, {MinorFaults() - f0} minor faults, rss {RssMb():F0} MB");
    }
}

static void Attention()
{
    var q = randn(64, 4, 65, 32, requires_grad: true);
    var k = randn(64, 4, 65, 32, requires_grad: true);
    var v = randn(64, 4, 65, 32, requires_grad: true);
    Tensor Explicit() => matmul(nn.functional.softmax(matmul(q, k.transpose(-1, -2)).mul(1.0 / Math.Sqrt(32)), -1), v);
    Tensor Fused() => nn.functional.scaled_dot_product_attention(q, k, v);
    using (NewDisposeScope()) Console.WriteLine($"max |explicit - fused| = {(Explicit() - Fused()).abs().max().item<float>():E2}");
    foreach (var (name, f) in new (string, Func<Tensor>)[] { ("explicit", Explicit), ("fused", Fused), ("explicit", Explicit), ("fused", Fused) })
    {
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < 20; i++) using (NewDisposeScope()) f().sum().backward();
        Console.WriteLine($"{name}: {sw.Elapsed.TotalMilliseconds / 20:F2} ms fwd+bwd (mean of 20)");
    }
    try
    {
        using (NewDisposeScope())
        {
            var g = autograd.grad([Fused().square().sum()], [q], create_graph: true)[0];
            g.sum().backward();
        }
        Console.WriteLine("fused: double backward works");
    }
    catch (Exception e) { Console.WriteLine("fused: double backward fails: " + e.Message.Split('\n')[0]); }
}
