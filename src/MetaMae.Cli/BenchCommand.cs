using System.Globalization;
using MetaMae.Runtime;

namespace MetaMae.Cli;

/// <summary>`metamae bench`: training-step and feature-extraction speed on the reference script's synthetic shapes.</summary>
public static class BenchCommand
{
    public static Command Create()
    {
        var D = new StepBenchmarkOptions();                    // the defaults: the PyTorch reference's shapes
        var algo = new Option<string>("--algo")
        {
            Description = "mae, metamae (second order) or metamae-fo (first order)",
            DefaultValueFactory = _ => D.Algo,
        }
            .AcceptOnlyFromAmong(StepBenchmarkOptions.Algos);
        var preset = new Option<string>("--preset")
        {
            Description = $"Model size: {string.Join(", ", ModelConfig.PresetNames)}",
            DefaultValueFactory = _ => D.Preset,
        }.AcceptOnlyFromAmong([.. ModelConfig.PresetNames]);
        var batch = new Option<int>("--batch") { Description = "Batch size", DefaultValueFactory = _ => D.Batch };
        var tokens = new Option<bool>("--tokens") { Description = "Discrete tokens (vocabulary 26, L=128 unless --L)" };
        var values = new Option<int>("--values")
        {
            Description = "Values per token P (continuous input)", DefaultValueFactory = _ => D.Values,
        };
        var length = new Option<int?>("--L") { Description = "Tokens per sample (default 64, or 128 with --tokens)" };
        var mask = new Option<double>("--mask-ratio")
        {
            Description = "Fraction of tokens masked", DefaultValueFactory = _ => D.MaskRatio,
        };
        var dropout = new Option<double>("--dropout")
        {
            Description = "Encoder dropout p (0, the reference's; Table 8 gives tabular and sensor data 0.1)",
            DefaultValueFactory = _ => D.Dropout,
        };
        var steps = new Option<int>("--steps") { Description = "Timed steps", DefaultValueFactory = _ => D.Steps };
        var warmup = new Option<int>("--warmup")
        {
            Description = "Untimed warm-up steps", DefaultValueFactory = _ => D.Warmup,
        };
        var threads = Threads;                                 // the common --threads and --device
        var seed = new Option<long>("--seed")
        {
            Description = "Seed of weights, data and masks", DefaultValueFactory = _ => D.Seed,
        };
        var rssEvery = new Option<int>("--rss-every")
        {
            Description = "Print resident memory every N timed steps (0 = off)",
            DefaultValueFactory = _ => D.RssEvery,
        };
        var featBatch = new Option<int>("--feature-batch")
        {
            Description = "Batch of the feature-extraction timing (0 = skip)",
            DefaultValueFactory = _ => D.FeatureBatch,
        };
        var featReps = new Option<int>("--feature-reps")
        {
            Description = "Timed repetitions of feature extraction",
            DefaultValueFactory = _ => D.FeatureReps,
        };
        var peak = new Option<int>("--peak-size")
        {
            Description = "n of the n^3 matmul that measures the float32 (and, where native, bfloat16) peak " +
                "(0 = skip)",
            DefaultValueFactory = _ => D.PeakSize,
        };
        var device = DeviceOpt;
        var json = Json;
        var precision = new Option<string>("--precision")
        {
            Description = "Matmul precision: fp32, bf16, or both (fp32 then bf16, side by side)", DefaultValueFactory = _ => "fp32",
        }.AcceptOnlyFromAmong([.. ComputePrecision.Names, "both"]);
        var allBf16 = new Option<bool>("--all-bf16")
        {
            Description = "A measurement, not a training mode: the whole model, its input and every op in bfloat16 (with " +
                "--precision fp32): the ceiling of moving more of the bf16 step's float32 work into bf16",
        };
        var c = new Command("bench", "Time the training step and feature extraction on synthetic data (the PyTorch reference's shapes)");
        foreach (var o in new Option[]
                 {
                     algo, preset, batch, tokens, values, length, mask, dropout, steps, warmup, threads, seed, rssEvery, featBatch,
                     featReps,
                     peak, device, precision, allBf16, json,
                 })
            c.Add(o);
        c.SetAction(p =>
        {
            int t = p.GetValue(threads) ?? Environment.ProcessorCount;
            CpuMath.Configure(t);
            var d = p.GetValue(device)!;
            var dev = CliRuns.ParseDevice(d);
            var o = new StepBenchmarkOptions
            {
                Algo = p.GetValue(algo)!, Preset = p.GetValue(preset)!, Batch = p.GetValue(batch), Tokens = p.GetValue(tokens),
                Values = p.GetValue(values), Length = p.GetValue(length), MaskRatio = p.GetValue(mask), Dropout = p.GetValue(dropout),
                Steps = p.GetValue(steps),
                Warmup = p.GetValue(warmup), Seed = p.GetValue(seed), RssEvery = p.GetValue(rssEvery),
                FeatureBatch = p.GetValue(featBatch),
                FeatureReps = p.GetValue(featReps),
                PeakSize = p.GetValue(peak), AllBf16 = p.GetValue(allBf16),
            };
            var which = p.GetValue(precision)!;
            Precision[] names = which == "both" ? Enum.GetValues<Precision>()
                : [EnumNames<Precision>.Parse(which, "--precision")];
            foreach (var n in names)                                                // refuse before any timing
            {
                (o with { Precision = n }).Validate();
                ComputePrecision.EnsureSupported(o.AllBf16 ? Precision.Bf16 : n, dev);
            }
            var results = new List<StepBenchmarkResult>();
            foreach (var n in names)
            {
                var r = StepBenchmark.Run(o with { Precision = n }, dev, line => Console.Error.WriteLine(line));
                Console.WriteLine($"INFO precision={EnumNames<Precision>.Of(n)} loss_first={r.FirstLoss:F4} " +
                                  $"loss_last={r.LastLoss:F4} device={d}");
                Console.WriteLine(r.ResultLine());
                results.Add(r);
            }
            if (results.Count == 2)
                Console.WriteLine($"SIDE-BY-SIDE ms_median fp32={results[0].MsMedian:F1} bf16={results[1].MsMedian:F1} " +
                                  $"bf16/fp32={results[1].MsMedian / results[0].MsMedian:F3} peak_rss_mb fp32={results[0].PeakRssMb:F0} " +
                                  $"bf16={results[1].PeakRssMb:F0} (peak RSS is the process's: the bf16 run's includes the fp32 run's)");
            if (p.GetValue(json))
            {
                var objs = results.Select(r => ToJson(r, d)).ToList();
                var j = objs.Count == 1 ? objs[0] : new JsonObject { ["fp32"] = objs[0], ["bf16"] = objs[1] };
                Console.WriteLine(j.ToJsonString());
            }
            return 0;
        });
        return c;
    }

    /// <summary>One run as the JSON object of --json.</summary>
    private static JsonObject ToJson(StepBenchmarkResult r, string d)
    {
        var o = r.Options;
        var trace = new JsonArray();
        foreach (var (s, mb) in r.RssTrace) trace.Add(new JsonObject { ["step"] = s, ["rss_mb"] = Math.Round(mb, 1) });
        return new JsonObject
        {
            ["algo"] = o.Algo, ["precision"] = EnumNames<Precision>.Of(o.Precision), ["all_bf16"] = o.AllBf16,
            ["omp_wait_policy"] = CpuMath.WaitPolicyState, ["preset"] = o.Preset,
            ["input"] = o.Tokens ? "tokens" : "cont", ["batch"] = o.Batch, ["L"] = o.L,
            ["values"] = o.Tokens ? null : o.Values, ["mask_ratio"] = o.MaskRatio, ["threads"] = r.Threads, ["device"] = d,
            ["allocator"] = r.Allocator, ["mkl"] = CpuMath.MklState, ["steps"] = o.Steps, ["warmup"] = o.Warmup,
            ["ms_median"] = R(r.MsMedian), ["ms_min"] = R(r.MsMin), ["ms_max"] = R(r.MsMax), ["steps_s"] = R(r.StepsPerSecond, 4),
            ["phase_ms"] = new JsonObject
            {
                ["forward"] = R(r.PhaseMedians.Forward), ["backward"] = R(r.PhaseMedians.Backward),
                ["optimizer"] = R(r.PhaseMedians.Optimizer),
            },
            ["gflop_step"] = R(r.GflopStep, 3), ["gflops"] = R(r.Gflops), ["mm_peak_gflops"] = R(r.PeakGflops),
            ["mm_peak_bf16_gflops"] = R(r.PeakBf16Gflops), ["pct_peak"] = R(r.PctPeak),
            ["features_per_s"] = R(r.FeatureSamplesPerSecond, 0), ["feature_gflops"] = R(r.FeatureGflops), ["rss_mb"] = R(r.RssMb),
            ["peak_rss_mb"] = R(r.PeakRssMb), ["loss_first"] = r.FirstLoss, ["loss_last"] = r.LastLoss, ["rss_trace"] = trace,
        };
    }

    private static JsonNode? R(double v, int digits = 1) => double.IsFinite(v) ? JsonValue.Create(Math.Round(v, digits)) : null;
}
