using System.Diagnostics;
using System.Globalization;
using MetaMae.Modalities;
using MetaMae.Model;
using MetaMae.Objectives;
using TorchSharp;
using static TorchSharp.torch;
using MetaMae.Runtime;

namespace MetaMae.Training;

/// <summary>What `metamae bench` runs: the shapes of the PyTorch reference (shared/tools/torch_reference/metamae_step.py).</summary>
public sealed record StepBenchmarkOptions
{
    /// <summary>mae, metamae (second order) or metamae-fo (first order).</summary>
    public string Algo { get; init; } = Algorithms.MetaMae;
    public string Preset { get; init; } = "paper";
    public int Batch { get; init; } = 64;
    /// <summary>Discrete tokens (vocabulary 26); otherwise continuous values.</summary>
    public bool Tokens { get; init; }
    /// <summary>Values per token P (continuous input).</summary>
    public int Values { get; init; } = 260;
    /// <summary>Tokens per sample L (default 64, or 128 with tokens).</summary>
    public int? Length { get; init; }
    public int Vocab { get; init; } = 26;
    public double MaskRatio { get; init; } = 0.85;
    public int DecoderDepth { get; init; } = 4;
    /// <summary>Encoder dropout p: 0 as in the PyTorch reference; Table 8's tabular and sensor presets use 0.1.</summary>
    public double Dropout { get; init; }
    public int Steps { get; init; } = 20;
    public int Warmup { get; init; } = 5;
    public long Seed { get; init; }
    /// <summary>Print resident memory every N timed steps (0 = never).</summary>
    public int RssEvery { get; init; }
    /// <summary>Batch of the feature-extraction timing (0 = skip it).</summary>
    public int FeatureBatch { get; init; } = 256;
    public int FeatureReps { get; init; } = 10;
    /// <summary>Size n of the n^3 matmul whose speed is the peak (0 = skip it).</summary>
    public int PeakSize { get; init; } = 2048;
    /// <summary>Matmul precision of the step and the feature extraction (TrainOptions.Precision): fp32 or bf16.</summary>
    public Precision Precision { get; init; } = Precision.Fp32;

    /// <summary>A measurement, not a training mode: weights, optimizer state, input and every op in bfloat16 (no casts;
    /// Precision must be fp32, the model's own dtype). What a step would cost if all its elementwise work ran in bf16 too:
    /// the ceiling of moving more of a mixed-precision step into bf16 (issue 29). Its losses are not float32's.</summary>
    public bool AllBf16 { get; init; }

    /// <summary>The dtype of the synthetic continuous input: bf16 under <see cref="AllBf16"/>, float32 otherwise.</summary>
    public ScalarType ValueDtype => AllBf16 ? ScalarType.BFloat16 : ScalarType.Float32;

    public int L => Length ?? (Tokens ? 128 : 64);

    public static readonly string[] Algos = [Algorithms.Mae, Algorithms.MetaMae, "metamae-fo"];

    public void Validate()
    {
        if (!Algos.Contains(Algo)) throw new ArgumentException($"--algo must be one of {string.Join(", ", Algos)} (got '{Algo}')");
        if (Batch < 2) throw new ArgumentException($"--batch must be >= 2 (got {Batch})");
        if (Values < 1) throw new ArgumentException($"--values must be >= 1 (got {Values})");
        if (L < 2) throw new ArgumentException($"--L must be >= 2 (got {L})");
        if (Steps < 1) throw new ArgumentException($"--steps must be >= 1 (got {Steps})");
        if (Dropout is < 0 or >= 1) throw new ArgumentException($"--dropout must be in [0, 1) (got {Dropout})");
        if (Warmup < 0) throw new ArgumentException($"--warmup must be >= 0 (got {Warmup})");
        if (RssEvery < 0) throw new ArgumentException($"--rss-every must be >= 0 (got {RssEvery})");
        if (FeatureReps < 1) throw new ArgumentException($"--feature-reps must be >= 1 (got {FeatureReps})");
        if (FeatureBatch < 0) throw new ArgumentException($"--feature-batch must be >= 0 (got {FeatureBatch})");
        if (AllBf16 && Precision != Precision.Fp32)
            throw new ArgumentException("--all-bf16 runs the whole model in bf16 and needs --precision fp32 (no casts)");
        if (!Enum.IsDefined(Precision))
            throw new ArgumentException($"--precision must be one of {string.Join(", ", ComputePrecision.Names)} " +
                                        $"(got {(int)Precision})");
        Masking.KeepCount(L, MaskRatio);
    }

    public InputSpec Spec => Tokens ? new TokenSpec(Vocab, L) : new SequenceSpec(Values, L, 1);

    public ModelConfig Model => ModelConfig.FromPreset(Preset) with { DecDepth = DecoderDepth, Dropout = Dropout };

    /// <summary>The reference's MetaMAE settings: alpha 0.5, r 0.1, lambda 1, tau 0.5.</summary>
    public ObjectiveOptions Objective => new()
    {
        MaskRatio = MaskRatio, Adapt = Algo != Algorithms.Mae, Alpha = 0.5, InnerSteps = 1,
        SecondOrder = Algo == Algorithms.MetaMae,
        NearbyRatio = 0.1, Lambda = Algo == Algorithms.Mae ? 0 : 1.0, Temperature = 0.5,
    };
}

/// <summary>One timed step in three parts (ms): the objective's loss (the forward passes, and for MetaMAE the inner step,
/// whose gradient is built with create_graph), backward (for second-order MetaMAE the double backward through the support
/// decode), and the rest (AdamW, zeroing the gradients, reading the loss).</summary>
public sealed record StepPhases(double ForwardMs, double BackwardMs, double OptimizerMs);

public sealed record StepBenchmarkResult(StepBenchmarkOptions Options, int Threads, double[] StepMs, double FirstLoss, double LastLoss,
    double GflopStep, double PeakGflops, double FeatureSamplesPerSecond, double RssMb, double PeakRssMb,
    IReadOnlyList<(int Step, double RssMb)> RssTrace, string Allocator, double PeakBf16Gflops = double.NaN)
{
    /// <summary>Each timed step split where it can be: see <see cref="StepPhases"/>.</summary>
    public IReadOnlyList<StepPhases> Phases { get; init; } = [];
    /// <summary>Median ms of the loss (forward with the inner step), of backward, and of the rest (optimizer step).</summary>
    public (double Forward, double Backward, double Optimizer) PhaseMedians => Phases.Count == 0 ? (double.NaN, double.NaN, double.NaN)
        : (StepBenchmark.Median([.. Phases.Select(p => p.ForwardMs)]), StepBenchmark.Median([.. Phases.Select(p => p.BackwardMs)]),
           StepBenchmark.Median([.. Phases.Select(p => p.OptimizerMs)]));
    /// <summary>The matmul peak of the run's own precision (fp32 or bf16), what pct_peak compares to.</summary>
    public double OwnPeakGflops => Options.Precision == Precision.Bf16 ? PeakBf16Gflops : PeakGflops;
    public double MsMedian => StepBenchmark.Median(StepMs);
    public double MsMin => StepMs.Min();
    public double MsMax => StepMs.Max();
    public double StepsPerSecond => 1000.0 / MsMedian;
    public double Gflops => GflopStep / (MsMedian / 1000.0);
    public double PctPeak => OwnPeakGflops > 0 ? 100.0 * Gflops / OwnPeakGflops : double.NaN;
    /// <summary>GFLOP/s of feature extraction (its analytic FLOPs times samples per second).</summary>
    public double FeatureGflops => StepBenchmark.FeatureFlopsPerSample(Options) * FeatureSamplesPerSecond / 1e9;

    /// <summary>One line in the format of the reference's RESULT line, for side-by-side tables.</summary>
    public string ResultLine()
    {
        var o = Options;
        string F(double v) => v.ToString("F1", CultureInfo.InvariantCulture);
        return $"RESULT impl=metamae-cs algo={o.Algo} precision={(o.AllBf16 ? "all-bf16" : EnumNames<Precision>.Of(o.Precision))} input={(o.Tokens ? "tokens" : "cont")} B={o.Batch} L={o.L} " +
               $"{(o.Tokens ? $"V={o.Vocab}" : $"P={o.Values}")} dropout={o.Dropout.ToString(CultureInfo.InvariantCulture)} " +
               $"threads={Threads} alloc={Allocator} " +
               $"mkl={CpuMath.MklState.Split(':')[0]} " +
               $"omp={CpuMath.WaitPolicyState.Split(':')[0]} ms_median={F(MsMedian)} ms_min={F(MsMin)} " +
               $"ms_max={F(MsMax)} fwd_ms={F(PhaseMedians.Forward)} bwd_ms={F(PhaseMedians.Backward)} " +
               $"opt_ms={F(PhaseMedians.Optimizer)} steps_s={StepsPerSecond.ToString("F3", CultureInfo.InvariantCulture)} " +
               $"gflop_step={GflopStep.ToString("F2", CultureInfo.InvariantCulture)} " +
               $"gflops={F(Gflops)} mm_peak_gflops={F(PeakGflops)} mm_peak_bf16_gflops={F(PeakBf16Gflops)} " +
               $"pct_peak={F(PctPeak)} rss_mb={RssMb:F0} peak_rss_mb={PeakRssMb:F0} " +
               $"features_per_s={FeatureSamplesPerSecond:F0} " +
               $"feature_gflop_sample={(StepBenchmark.FeatureFlopsPerSample(o) / 1e9).ToString("F3", CultureInfo.InvariantCulture)} " +
               $"feature_gflops={F(FeatureGflops)}";
    }
}

/// <summary>
/// Times full training steps (forward, inner adaptation, outer loss, backward, AdamW) on synthetic
/// data made as the PyTorch reference makes it: a fixed random-normal batch (or random ids) drawn
/// once, new masks and Nearby-S draws every step. Also times feature extraction and a large matmul
/// (the peak the step is compared to), and reads resident memory from /proc.
/// </summary>
public static class StepBenchmark
{
    public static double Median(IReadOnlyList<double> xs)
    {
        var s = xs.OrderBy(v => v).ToArray();
        int n = s.Length;
        return n % 2 == 1 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
    }

    /// <summary>
    /// Analytic matmul FLOPs (2 M N K) of one training step: a port of step_flops in the reference
    /// script. W = weight matmuls, A = QK^T and AV of one forward. Encoder 3(W+A) (patch embedding 2x);
    /// MAE decoder 3(W+A); first-order decoder 5W+6A; second-order decoder 9W+12A; projector and NT-Xent 3x.
    /// </summary>
    public static double StepFlops(StepBenchmarkOptions o)
    {
        var c = o.Model;
        double b = o.Batch;
        int L = o.L, keep = Masking.KeepCount(L, o.MaskRatio);
        double d = c.EncDim, dd = c.DecDim, ne = keep + 1, nd = L + 1;
        (double W, double A) Blocks(double n, double dim, double hid, int depth) =>
            (2 * b * n * (3 * dim * dim + dim * dim + 2 * dim * hid) * depth, 2 * b * n * n * dim * 2 * depth);
        double embed = o.Tokens ? 0 : 2 * b * L * o.Values * d;
        var (ew, ea) = Blocks(ne, d, c.EncMlp, c.EncDepth);
        var (dw, da) = Blocks(nd, dd, c.DecMlp, c.DecDepth);
        dw += 2 * b * ne * d * dd;
        dw += 2 * b * L * dd * (o.Tokens ? d : o.Values);
        if (o.Tokens) dw += 2 * b * L * d * o.Vocab;
        double enc = 2 * embed + 3 * (ew + ea);
        double dec, proj = 0;
        if (o.Algo == Algorithms.Mae) dec = 3 * (dw + da);
        else
        {
            dec = o.Algo == "metamae-fo" ? 5 * dw + 6 * da : 9 * dw + 12 * da;
            double n2 = 2 * b;
            proj = 3 * (2 * n2 * (d * c.ProjHidden + c.ProjHidden * c.ProjDim) + 2 * n2 * n2 * c.ProjDim);
        }
        return enc + dec + proj;
    }

    /// <summary>Analytic matmul FLOPs of one sample's feature extraction: the patch embedding and the
    /// encoder forward over all L+1 tokens (weight matmuls plus QK^T and AV), 2 M N K each.</summary>
    public static double FeatureFlopsPerSample(StepBenchmarkOptions o)
    {
        var c = o.Model;
        double n = o.L + 1, d = c.EncDim;
        double embed = o.Tokens ? 0 : 2.0 * o.L * o.Values * d;
        return embed + c.EncDepth * (2 * n * (3 * d * d + d * d + 2 * d * c.EncMlp) + 2 * n * n * d * 2);
    }

    /// <summary>Median GFLOP/s of an n x n x n matmul of dtype (float32 by default) into a preallocated output
    /// (10 runs after 3 warm-ups).</summary>
    public static double MatmulPeak(int n, Device device, int reps = 10, ScalarType dtype = ScalarType.Float32)
    {
        if (n <= 0) return double.NaN;
        using var scope = NewDisposeScope();
        using var g = new Generator().manual_seed(0);
        var a = randn([n, n], generator: g).to(dtype).to(device);
        var bm = randn([n, n], generator: g).to(dtype).to(device);
        var outT = empty([n, n], dtype: dtype, device: device);
        for (int i = 0; i < 3; i++) outT.addmm_(a, bm, beta: 0, alpha: 1);   // warm-up: outT = a @ bm, no allocation
        var ts = new double[reps];
        for (int i = 0; i < reps; i++)
        {
            var sw = Stopwatch.StartNew();
            outT.addmm_(a, bm, beta: 0, alpha: 1);
            if (device.type == DeviceType.CUDA) cuda.synchronize();
            ts[i] = sw.Elapsed.TotalSeconds;
        }
        return 2.0 * n * (double)n * n / Median(ts) / 1e9;
    }

    /// <summary>Resident set size now and its peak (VmRSS, VmHWM from /proc/self/status), in MB; falls back to the working set.</summary>
    public static (double Rss, double Peak) Rss() => MemoryBudget.Resident() is var (rss, peak)
        ? (rss / 1048576.0, peak / 1048576.0)
        : (Environment.WorkingSet / 1048576.0, Environment.WorkingSet / 1048576.0);

    /// <summary>Which allocator libtorch's allocations go through (LD_PRELOAD of jemalloc or tcmalloc, else glibc).</summary>
    public static string Allocator()
    {
        var pre = Environment.GetEnvironmentVariable("LD_PRELOAD") ?? "";
        if (pre.Contains("jemalloc"))
            return "jemalloc" + ((Environment.GetEnvironmentVariable("MALLOC_CONF") ?? "").Contains("decay_ms:-1") ? "-nodecay" : "");
        return pre.Contains("tcmalloc") ? "tcmalloc" : "glibc-" + CpuMath.MallocState.Split(':')[0];
    }

    public static StepBenchmarkResult Run(StepBenchmarkOptions o, Device? device = null, Action<string>? log = null)
    {
        o.Validate();
        device ??= CPU;
        var spec = o.Spec;
        var objective = new MetaMaeObjective(o.Objective);
        ComputePrecision.EnsureSupported(o.AllBf16 ? Precision.Bf16 : o.Precision, device);   // AllBf16 implies fp32 casts
        var model = Pretrainer.CreateTrainingModel(new RunConfig(o.Algo, "bench", spec, o.Model, o.Objective,
            new TrainOptions { Seed = o.Seed, Batch = o.Batch, Precision = o.Precision }), device);
        if (o.AllBf16) model.to(ScalarType.BFloat16);
        var opt = new AdamW(model.named_parameters(), 1e-4, 1e-4, decoupled: true);
        using var gen = new Generator(device: CPU).manual_seed(o.Seed);
        using var x = (o.Tokens ? randint(0, o.Vocab, [o.Batch, o.L], generator: gen)           // (B, L) ids
                                : randn([o.Batch, o.L, o.Values], generator: gen)                 // or (B, L, P) values
                                    .to(o.ValueDtype)).to(device);
        model.train();
        double first = double.NaN, last = double.NaN;
        var times = new List<double>();
        var phases = new List<StepPhases>();
        var trace = new List<(int, double)>();
        for (int s = 0; s < o.Warmup + o.Steps; s++)
        {
            var sw = Stopwatch.StartNew();
            double loss, forward, backward;
            using (NewDisposeScope())
            {
                var parts = objective.Loss(model, x, gen);                         // inner step included (its create_graph)
                Sync(device);
                forward = sw.Elapsed.TotalMilliseconds;
                opt.ZeroGrad();
                parts.Total.backward();                                           // the double backward included
                Sync(device);
                backward = sw.Elapsed.TotalMilliseconds - forward;
                opt.Step();
                opt.ZeroGrad();
                loss = parts.Total.ToDouble();
            }
            ChunkedAttention.ReleaseAfterStep();                                   // a no-op unless the step chunked
            Sync(device);
            double ms = sw.Elapsed.TotalMilliseconds;
            if (!double.IsFinite(loss)) throw new ArithmeticException($"bench step {s + 1}: the loss is {loss}");
            if (s < o.Warmup) continue;
            int t = s - o.Warmup + 1;
            times.Add(ms);
            phases.Add(new StepPhases(forward, backward, ms - forward - backward));
            if (t == 1) first = loss;
            last = loss;
            if (o.RssEvery > 0 && (t % o.RssEvery == 0 || t == o.Steps))
            {
                var (rss, _) = Rss();
                trace.Add((t, rss));
                log?.Invoke($"step {t}/{o.Steps}: {ms:F1} ms, loss {loss:F4}, rss {rss:F0} MB");
            }
        }
        opt.Dispose();
        double features = FeatureRate(model, o, device);
        var (rssNow, peakRss) = Rss();
        double peak = MatmulPeak(o.PeakSize, device);
        double peakBf16 = Bf16Native(device) ? MatmulPeak(o.PeakSize, device, dtype: ScalarType.BFloat16) : double.NaN;
        model.Dispose();
        return new StepBenchmarkResult(o, get_num_threads(), times.ToArray(), first, last, StepFlops(o) / 1e9, peak, features,
            rssNow, peakRss, trace, Allocator(), peakBf16) { Phases = phases };
    }

    private static void Sync(Device device)
    {
        if (device.type == DeviceType.CUDA) cuda.synchronize();
    }

    /// <summary>Whether bf16 runs natively here (what --precision bf16 needs): a bf16 peak is measured only then.</summary>
    private static bool Bf16Native(Device device)
    {
        try { ComputePrecision.EnsureSupported(Precision.Bf16, device); return true; }
        catch (ArgumentException) { return false; }
    }

    /// <summary>Samples per second of <see cref="MetaMaeModel.forward"/> (the probe's features) in eval mode without gradients.</summary>
    public static double FeatureRate(MetaMaeModel model, StepBenchmarkOptions o, Device device)
    {
        if (o.FeatureBatch == 0) return double.NaN;
        model.eval();
        using var _ = no_grad();
        using var g = new Generator().manual_seed(o.Seed + 1);
        using var x = (o.Tokens ? randint(0, o.Vocab, [o.FeatureBatch, o.L], generator: g)        // (B, L) ids
                                : randn([o.FeatureBatch, o.L, o.Values], generator: g)            // or (B, L, P) values
                                    .to(o.ValueDtype)).to(device);
        using (NewDisposeScope()) model.forward(x);   // warm-up
        var ts = new double[Math.Max(1, o.FeatureReps)];
        for (int i = 0; i < ts.Length; i++)
        {
            var sw = Stopwatch.StartNew();
            using (NewDisposeScope())
            {
                var f = model.forward(x);
                if (device.type == DeviceType.CUDA) cuda.synchronize();
            }
            ts[i] = sw.Elapsed.TotalSeconds;
        }
        model.train();
        return o.FeatureBatch / Median(ts);
    }
}
