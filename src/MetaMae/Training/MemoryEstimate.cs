using System.Collections.Concurrent;
using MetaMae.Model;
using MetaMae.Objectives;
using TorchSharp;
using static TorchSharp.torch;
using MetaMae.IO;
using MetaMae.Runtime;

namespace MetaMae.Training;

/// <summary>
/// The peak resident memory of a pretraining, known before its first step (issue 33). Measured rather than modelled:
/// a throwaway model of the run's configuration takes calibration steps (loss with the inner adaptation, backward; no
/// optimizer step) at two small batches b1 &lt; b2, after a warm-up step at b1 or a first look at 2 and 4 samples
/// (which lowers b2 below 16 where 16 would not fit, and stands in for the warm-up), and the process's peak resident
/// set (VmHWM, reset through /proc/self/clear_refs before each) is read after each. Memory is linear in the batch at a
/// fixed sequence length (activations, attention maps), so peak(B) = peak(b1) + (B - b1) x (peak(b2) - peak(b1)) /
/// (b2 - b1), plus the optimizer's two moments per weight, which the calibration does not allocate, and a checkpoint's
/// serialised copy of weights and moments. During the
/// calibration the attention-map thresholds are scaled by b / B (ChunkedAttention.ScaleBudgets), so a long sequence
/// that the full batch chunks is chunked alike. Everything random in a run is seeded per step, so the calibration
/// changes no number of the run. Linux only (null elsewhere, and on a non-CPU device).
/// </summary>
/// <param name="PeakBytes">Estimated peak resident memory of the process during the run's steps.</param>
/// <param name="NowBytes">Resident memory before the calibration (the data and the runtime).</param>
/// <param name="AvailableBytes">What the process may still take (MemoryBudget), read before the calibration.</param>
/// <param name="Batch">The (micro-)batch the estimate is for.</param>
/// <param name="PerSampleBytes">The measured slope: bytes per sample of the batch.</param>
/// <param name="Calibration">The calibration batches b1 and b2.</param>
public sealed record MemoryEstimate(long PeakBytes, long NowBytes, long? AvailableBytes, int Batch, long PerSampleBytes,
    (int B1, int B2) Calibration)
{
    /// <summary>The share of the available memory a run may plan to take: the rest is for everything else on the
    /// machine.</summary>
    public const double Headroom = 0.9;

    /// <summary>The estimate's error a plan allows for: on 9 configurations it was within 0.89-1.06 of the measured
    /// peak (results/memory-estimate.md), so a run plans on 1.25 x its estimated growth.</summary>
    public const double Margin = 1.25;

    /// <summary>Whether Margin x the run's growth over the memory it holds now fits Headroom x the available memory.</summary>
    public bool Fits => AvailableBytes is not long a || Margin * (PeakBytes - NowBytes) <= Headroom * a;

    /// <summary>The largest batch whose estimate fits (0 if none; the batch itself if there is nothing to compare).</summary>
    public int LargestBatchThatFits()
    {
        if (AvailableBytes is not long a) return Batch;
        long room = (long)(Headroom * a / Margin) - (PeakBytes - NowBytes - PerSampleBytes * (long)Batch);
        return PerSampleBytes <= 0 ? Batch : (int)Math.Clamp(room / PerSampleBytes, 0, int.MaxValue);
    }

    /// <summary>"memory: ~3.1 GB at peak (batch 256; measured at 4 and 8 samples), 22.0 GB available".</summary>
    public string Describe() =>
        $"memory: ~{MemoryBudget.Format(PeakBytes)} at peak (batch {Batch}; measured at {Calibration.B1} and " +
        $"{Calibration.B2} samples), " +
        (AvailableBytes is long a ? $"{MemoryBudget.Format(a + NowBytes)} available" : "available memory unknown");

    /// <summary>The calibration's largest batch: 16 samples, or fewer where a first look at 2 and 4 samples says 16 would
    /// not fit (smaller ones leave the slope more to the allocator's noise).</summary>
    public const int CalibrationBatch = 16;

    /// <summary>Estimates this process has measured, by what a step's memory depends on (algorithm, input spec, model,
    /// objective, precision, batch, a sample's shape and type, device; not the seed, steps, rate or dataset name): the
    /// cells of a compare or a bench-suite plan, and a test suite's many tiny runs, pretrain one configuration again and
    /// again, and a calibration (~0.5 s at the tiny preset) would be most of a short run.</summary>
    private static readonly ConcurrentDictionary<string, MemoryEstimate> Measured = new();

    /// <summary>
    /// Measures the estimate for pretraining config on trainX at (micro-)batch batch, or takes one this process measured
    /// for the same step (its growth over the memory held then, added to the memory held now; the available memory is
    /// read anew). Null where the process's peak memory cannot be read or reset (not Linux) or on a non-CPU device.
    /// </summary>
    public static MemoryEstimate? ForPretraining(Tensor trainX, RunConfig config, Device device, ScalarType dtype, int batch)
    {
        if (device.type != DeviceType.CPU || MemoryBudget.Resident() is not var (now, _) || !MemoryBudget.ResetPeak())
            return null;
        long? available = MemoryBudget.AvailableBytes();
        var neutral = config with { Dataset = "", Train = new TrainOptions { Precision = config.Train.Precision } };
        string key = $"{neutral.ToJson()}|{dtype}|{batch}|{string.Join('x', trainX.shape.Skip(1))}|{trainX.dtype}|{device}";
        if (Measured.TryGetValue(key, out var known))
            return known with { PeakBytes = known.PeakBytes - known.NowBytes + now, NowBytes = now, AvailableBytes = available };
        var estimate = Measure(trainX, config, device, dtype, batch, now, available);
        Measured[key] = estimate;
        return estimate;
    }

    private static MemoryEstimate Measure(Tensor trainX, RunConfig config, Device device, ScalarType dtype, int batch,
        long now, long? available)
    {
        using var model = Pretrainer.CreateTrainingModel(config, device, dtype);
        var objective = Pretrainer.MakeObjective(config);
        var head = (objective as IHasHead)?.Head;
        if (head is not null) { if (dtype != ScalarType.Float32) head.to(dtype); head.to(device); head.train(); }
        model.train();
        long parameters = model.parameters().Concat(head?.parameters() ?? []).Sum(p => p.numel() * p.ElementSize);
        long PeakAt(int b)
        {
            using var scale = ChunkedAttention.ScaleBudgets((double)b / batch);
            MemoryBudget.Trim();                                                 // freed memory back: the peak is this step's
            MemoryBudget.ResetPeak();
            using (NewDisposeScope())
            {
                using var gen = new Generator(device: CPU).manual_seed(Pretrainer.Mix(config.Train.Seed, -1, 3));
                var x = trainX.narrow(0, 0, b);
                var tokens = config.Spec.Patchify(config.Spec.IsDiscrete ? x : x.to(dtype)).to(device);
                var loss = objective.Loss(model, tokens, new BatchRandom(gen, 0, b)).Total;
                loss.backward();
                foreach (var p in model.parameters().Concat(head?.parameters() ?? [])) p.grad = null;
            }
            ChunkedAttention.ReleaseAfterStep();
            return MemoryBudget.Resident()?.Peak ?? 0;
        }
        // A first look at 2 and 4 samples (the least a contrastive loss takes), so the calibration never runs a batch
        // that would not fit itself (a wide input under a tight limit: 16 samples of MetaMAE on 785 tokens take ~2 GB):
        // b2 halves until twice the rough slope (a step's peak varies between repeats, see below) projects a peak that
        // fits as a run must.
        int b2 = Math.Min(batch, CalibrationBatch);
        long? looked4 = null;
        if (b2 > 4 && available is long a)
        {
            long q2 = PeakAt(2), q4 = PeakAt(4), rough = Math.Max(0, q4 - q2);    // 2 x the slope over 2 samples
            while (b2 > 4 && Margin * (q4 + rough * (b2 - 4) - now) > Headroom * a) b2 = Math.Max(4, b2 / 2);
            looked4 = q4;
        }
        int b1 = b2 <= 2 ? b2 : Math.Max(2, b2 / 2);                             // >= 2 where it can: a contrast needs 2
        if (looked4 is null) PeakAt(b1);                         // warm-up: one-time allocations (a first look made them)
        // each twice, the larger kept: the same step's peak varies by up to ~40% between repeats (allocator arenas). A
        // first look at 4 samples counts as one of b2 = 4's two (it can only raise p2, so the slope); b1's are taken
        // fresh, since the first look's step at 2 samples was the process's first and may hold one-time allocations
        long p1 = Math.Max(PeakAt(b1), PeakAt(b1));
        long p2 = b2 <= b1 ? p1 : Math.Max(PeakAt(b2), b2 == 4 && looked4 is long l4 ? l4 : PeakAt(b2));
        head?.Dispose();
        long slope = b2 > b1 ? Math.Max(0, (p2 - p1) / (b2 - b1)) : 0;
        // + AdamW's two moments per weight, and a checkpoint's serialised copy of weights and moments (SafeTensors.Save
        // builds each tensor's bytes in managed memory before writing)
        long peak = p1 + slope * (batch - b1) + 2 * parameters + 3 * parameters;
        return new MemoryEstimate(peak, now, available, batch, slope, (b1, b2));
    }

    /// <summary>
    /// Whether splitting a step's batch into micro-batches (--accumulate) keeps the method: true where every term of the
    /// loss is a mean over samples (MAE, and MetaMAE without its task contrast); false where samples of a batch meet in
    /// one term (MetaMAE's contrast has 2B - 2 negatives; the DABS baselines contrast or mix within the batch).
    /// </summary>
    public static bool AccumulationKeepsTheMethod(RunConfig c) =>
        c.Algo == Algorithms.Mae || (c.Algo == Algorithms.MetaMae && c.Objective.Lambda == 0);
}
