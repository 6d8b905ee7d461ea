// Micro-measurements quoted in results/performance.md (issue 6). Usage, from the repo root:
//   dotnet run -c Release --project tools/microbench -- block [CALLS]   one encoder block (B=256, 65 tokens, d=256), no grad:
//                                                                      ms, minor page faults and RSS per call
//   dotnet run -c Release --project tools/microbench -- attention      explicit vs fused attention at the decoder's shape
//                                                                      (B=64, 4 heads, 65 tokens, 32 per head): fwd+bwd ms,
//                                                                      and whether the fused one has a second derivative
//   dotnet run -c Release --project tools/microbench -- probe [N] [D]  the converged linear probe (issue 15) on N x D synthetic
//                                                                      features, 10 classes (default 10000 x 256): seconds,
//                                                                      chosen L2, L-BFGS iterations
// All honour METAMAE_MALLOC / METAMAE_MKL_VENDOR_CHECK (see CpuMath) and --threads N (default 2).
using System.Diagnostics;
using System.Globalization;
using MetaMae.Model;
using MetaMae.Training;
using TorchSharp;
using static TorchSharp.torch;

var mode = args.Length > 0 ? args[0] : "";
int threads = args.SkipWhile(a => a != "--threads").Skip(1).Select(int.Parse).FirstOrDefault(2);
CpuMath.Configure(threads);
Console.WriteLine($"# {mode} threads={threads} mkl={CpuMath.MklState} malloc={CpuMath.MallocState}");
switch (mode)
{
    case "block": Block(args.Length > 1 && int.TryParse(args[1], out var n) ? n : 25); break;
    case "attention": Attention(); break;
    case "probe": Probe(Arg(1, 10000), Arg(2, 256)); break;
    default: Console.Error.WriteLine("usage: microbench block [CALLS] | attention | probe [N] [D] [--threads N]"); return 2;
}
return 0;

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
