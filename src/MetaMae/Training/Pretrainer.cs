using System.Diagnostics;
using MetaMae.Model;
using MetaMae.Objectives;
using TorchSharp;
using static TorchSharp.torch;
using MetaMae.Distributed;
using MetaMae.IO;
using MetaMae.Runtime;

namespace MetaMae.Training;

/// <summary>A finished pretraining. Model: the trained encoder in eval mode with float32 matmuls whatever precision it
/// trained in, as the checkpoint loads; Seconds: wall time of this sitting's steps; StartStep: the step this sitting
/// resumed from (equal to Steps when the checkpoint had already reached it and nothing trained).</summary>
public sealed record PretrainResult(MetaMaeModel Model, RunConfig Config, int Steps, double FinalLoss, string CheckpointPath,
    IReadOnlyList<(int Step, double Loss)> Losses, double Seconds, int StartStep)
{
    /// <summary>The step at which this sitting's AdaptationWatch saw the latent adaptation take over early; null if it
    /// did not (or the objective has no adaptation, or the watched first quarter was before this sitting).</summary>
    public int? AdaptationWarningStep { get; init; }
}

/// <summary>
/// Pretrains a model with an objective. Everything random in step s (batch, masks, Nearby-S
/// draws, dropout) is seeded from (seed, s) alone, so a run resumed from a checkpoint at step k
/// computes exactly the steps an uninterrupted run would. Each step runs in its own dispose
/// scope; native memory stays flat.
/// </summary>
public static class Pretrainer
{
    public static IObjective MakeObjective(RunConfig c) => Algorithms.CreateObjective(c.Algo, c.Spec, c.Model, c.Objective);

    /// <summary>Initial weights for a seed (the random-init baseline uses the same call), with float32 matmuls: a fresh
    /// model extracts features as a loaded checkpoint does, whatever precision the run trains in
    /// (<see cref="CreateTrainingModel"/>).</summary>
    public static MetaMaeModel CreateModel(RunConfig c, Device device, ScalarType dtype = ScalarType.Float32)
    {
        manual_seed(c.Train.Seed);
        var model = new MetaMaeModel(c.Spec, c.Model);
        if (dtype != ScalarType.Float32) model.to(dtype);
        model.to(device);
        return model;
    }

    /// <summary><see cref="CreateModel"/> with the run's matmul precision (TrainOptions.Precision), for its training
    /// steps. bf16 is a training precision: a run's features, its random-init baseline's and a loaded checkpoint's are all
    /// extracted in float32 unless a probe or embed asks otherwise (--precision), so a baseline row never differs from
    /// the encoder's row by the precision of its extraction (issue 29).</summary>
    internal static MetaMaeModel CreateTrainingModel(RunConfig c, Device device, ScalarType dtype = ScalarType.Float32)
    {
        var model = CreateModel(c, device, dtype);
        model.Precision = c.Train.Precision;
        return model;
    }

    /// <summary>A 64-bit mix of the run seed and a counter (SplitMix64), for per-step seeds.</summary>
    public static long Mix(long seed, long counter, long stream)
    {
        ulong z = unchecked((ulong)seed * 0x9E3779B97F4A7C15UL + (ulong)counter * 0xBF58476D1CE4E5B9UL
                            + (ulong)stream * 0x94D049BB133111EBUL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return (long)((z ^ (z >> 31)) & 0x7FFFFFFFFFFFFFFFUL);
    }

    /// <summary>Indices of the samples of step s: epochs are seeded permutations, batches consecutive slices.</summary>
    public static long[] BatchIndices(long seed, int step, int n, int batch)
    {
        int perEpoch = n / batch;
        int epoch = step / perEpoch, slot = step % perEpoch;
        var perm = Enumerable.Range(0, n).ToArray();
        new Random((int)(Mix(seed, epoch, 1) & 0x7FFFFFFF)).Shuffle(perm);
        return perm.Skip(slot * batch).Take(batch).Select(i => (long)i).ToArray();
    }

    /// <summary>
    /// Runs (or, with resume, continues) pretraining on raw training inputs trainX (N, ..spec.RawShape)
    /// into outDir: checkpoint.safetensors, metrics.csv, config.json and tensorboard/. monitor hears the run's
    /// progress and each step (ITrainingMonitor); metrics.csv and TensorBoard's curves are monitors beside it.
    /// parallel splits each step's batch into micro-batches (--accumulate) and over MPI ranks; with it,
    /// only rank 0 writes files and calls monitors. missingCells: NaN in trainX marks missing cells
    /// (Data/Missing.cs; --algo metamae and mae only); otherwise NaN is an error, as infinities always are.
    /// cancel abandons the run at once (like a kill: the last periodic checkpoint remains); stop asks it to
    /// end after the current step: that step's checkpoint is written and a RunStoppedException thrown.
    /// A failed write of the output throws OutputWriteException (the previous checkpoint stays intact).
    /// </summary>
    public static PretrainResult Run(Tensor trainX, RunConfig config, string outDir, bool resume = false,
        ITrainingMonitor? monitor = null, Device? device = null, ScalarType dtype = ScalarType.Float32,
        CancellationToken cancel = default, DataParallel? parallel = null, CancellationToken stop = default,
        bool missingCells = false)
    {
        device ??= CPU;
        Validate(trainX, config, device, missingCells);
        // memory before the first step, before anything is written: fits, adapts (keeping the method) or refuses
        var (par, memoryNote) = PlanMemory(trainX, config, parallel ?? new DataParallel(), device, dtype);
        OutputWriteException.Guard(outDir, () => Directory.CreateDirectory(outDir));
        var run = Restore(config, outDir, resume, device, dtype);
        if (par.Comm is { Size: > 1 } comm) DataParallel.BroadcastParameters(run.Parameters, comm);   // rank 0's weights
        if (par.Writes) AtomicFile.WriteText(Path.Combine(outDir, "config.json"), config.ToJson() + "\n");
        var metricsPath = Path.Combine(outDir, "metrics.csv");
        var losses = par.Writes ? MetricsCsvMonitor.Trim(metricsPath, run.Start) : [];

        // rank 0 reports and writes: the caller's monitor, then metrics.csv, then TensorBoard's curves
        using var csv = par.Writes ? new MetricsCsvMonitor(metricsPath) : null;
        var monitors = par.Writes
            ? new CombinedMonitor(monitor, csv, new TensorBoardMonitor(Path.Combine(outDir, "tensorboard")))
            : new CombinedMonitor();
        int micro = par.MicroBatch(config.Train.Batch);
        var ways = par.Ranks * par.Accumulate > 1
            ? $" ({par.Ranks} process(es) x {par.Accumulate} micro-batch(es) of {micro})" : "";
        monitors.OnStart(config, run.Start, run.StartMessage + ways);
        if (memoryNote is not null) monitors.OnNote(memoryNote);
        return Loop(trainX, config, run, par, monitors, losses, device, dtype, cancel, stop);
    }

    /// <summary>Everything checked before a run touches its folder; a bad setting or bad data is an exception naming it.
    /// </summary>
    private static void Validate(Tensor trainX, RunConfig config, Device device, bool missingCells)
    {
        config.Spec.Validate();
        config.Model.Validate();
        config.Objective.Validate();
        config.Train.Validate();
        ComputePrecision.EnsureSupported(config.Train.Precision, device);
        config.Spec.CheckBatch(trainX, $"training data of '{config.Dataset}'");
        Masking.KeepCount(config.Spec.NumTokens, config.Objective.MaskRatio, config.Objective.MinVisible);
        int n = (int)trainX.shape[0];
        if (n < config.Train.Batch)
            throw new ArgumentException(
                $"--batch {config.Train.Batch} is larger than the {n} training samples of '{config.Dataset}'");
        if (missingCells && !Algorithms.Get(config.Algo).MasksMissingCells)
            throw new ArgumentException($"the training data of '{config.Dataset}' has missing cells: " +
                $"--algo {config.Algo} cannot mask them; use " +
                $"{string.Join(" or ", Algorithms.All.Where(a => a.MasksMissingCells).Select(a => a.Name))}, " +
                "or impute them yourself");
        CheckFinite(trainX, config.Dataset, missingAllowed: missingCells);
    }

    /// <summary>The parallel split the run's memory allows (single process: measured, and split into micro-batches where
    /// that keeps the method, else refused), and the line that says so (null under MPI).</summary>
    private static (DataParallel Parallel, string? Note) PlanMemory(Tensor trainX, RunConfig config, DataParallel par,
        Device device, ScalarType dtype)
    {
        var memory = par.Ranks == 1
            ? MemoryEstimate.ForPretraining(trainX, config, device, dtype, par.MicroBatch(config.Train.Batch)) : null;
        return memory is { Fits: false } ? FitInMemory(memory, config, par, trainX, device, dtype) : (par, memory?.Describe());
    }

    /// <summary>A run's trainable state at its first step: fresh from the seed, or restored from the folder's checkpoint
    /// (with --resume; a checkpoint of another run, or any checkpoint without --resume, is refused).</summary>
    private sealed record RunState(MetaMaeModel Model, IObjective Objective, nn.Module? Head, AdamW Optimizer,
        List<(string, TorchSharp.Modules.Parameter)> Trainable, int Start, string StartMessage, string CheckpointPath)
    {
        public List<Tensor> Parameters { get; } = Trainable.Select(t => (Tensor)t.Item2).ToList();
    }

    private static RunState Restore(RunConfig config, string outDir, bool resume, Device device, ScalarType dtype)
    {
        var ckptPath = Path.Combine(outDir, Checkpoint.FileName);
        var model = CreateTrainingModel(config, device, dtype);
        var objective = MakeObjective(config);                 // after CreateModel: its head's init follows the seed too
        var head = (objective as IHasHead)?.Head;
        if (head is not null) { if (dtype != ScalarType.Float32) head.to(dtype); head.to(device); head.train(); }
        var trainable = model.named_parameters()
            .Concat(head?.named_parameters().Select(p => ("objective." + p.name, p.parameter)) ?? []).ToList();
        var opt = new AdamW(trainable, config.Train.Lr, config.Train.WeightDecay, decoupled: true);
        if (!File.Exists(ckptPath))
            return new RunState(model, objective, head, opt, trainable, 0,
                resume ? ResumeWithoutCheckpoint(outDir, config) : "starting a new run", ckptPath);
        using var ck = Checkpoint.Load(ckptPath);
        if (!resume)
            throw new InvalidOperationException($"{outDir} already holds a run (checkpoint at step {ck.Step}); " +
                "pass --resume to continue it or choose another --out");
        if (!ck.Config.SameRunAs(config))
            throw new InvalidOperationException(
                $"{ckptPath}: --resume with different settings; the checkpoint's run is {ck.Config.ToJson()}");
        if (config.Train.LrSchedule == LrSchedule.Cosine && ck.Config.Train.Steps != config.Train.Steps)
            throw new InvalidOperationException($"{ckptPath}: --resume with --lr-schedule cosine keeps the run's --steps " +
                $"({ck.Config.Train.Steps}, the horizon of its cosine); got {config.Train.Steps}");
        Checkpoint.LoadModel(model, ck, ckptPath);
        if (head is not null) Checkpoint.LoadObjectiveHead(head, ck, ckptPath);
        opt.LoadState(ck.Prefixed("optim."), ckptPath);
        return new RunState(model, objective, head, opt, trainable, ck.Step, $"resuming from step {ck.Step} ({ckptPath})",
            ckptPath);
    }

    /// <summary>The steps from run.Start to the budget: checkpoints at the cadence and at the end, progress on logging
    /// steps, a stop request saved at the step boundary (RunStoppedException).</summary>
    private static PretrainResult Loop(Tensor trainX, RunConfig config, RunState run, DataParallel par,
        CombinedMonitor monitors, List<(int Step, double Loss)> losses, Device device, ScalarType dtype,
        CancellationToken cancel, CancellationToken stop)
    {
        var (model, opt, ckptPath, start) = (run.Model, run.Optimizer, run.CheckpointPath, run.Start);
        var sw = Stopwatch.StartNew();
        var setup = new StepSetup(trainX, config, model, run.Objective, opt, run.Parameters, par,
            par.MicroBatch(config.Train.Batch), device, dtype, sw);
        double lastLoss = losses.Count > 0 ? losses[^1].Loss : double.NaN;
        int lastSaved = start;
        model.train();
        var window = Stopwatch.StartNew();
        int windowStart = start;
        var watch = new AdaptationWatch(config.Train.Steps);

        void Save(int step, double loss)
        {
            CheckFiniteState(run.Trainable, opt, step, ckptPath);
            Checkpoint.Save(ckptPath, model, opt, config, step, loss, run.Head);
            lastSaved = step;
            monitors.OnCheckpoint(step, ckptPath);
        }

        for (int s = start; s < config.Train.Steps; s++)
        {
            cancel.ThrowIfCancellationRequested();
            if (stop.IsCancellationRequested)                                      // steps < s are done: save s, stop
            {
                monitors.Flush();
                if (par.Writes && s > 0 && (lastSaved != s || !File.Exists(ckptPath))) Save(s, lastLoss);
                opt.Dispose();
                throw new RunStoppedException(s, File.Exists(ckptPath) ? ckptPath : null);
            }
            int done = s + 1;
            // logging steps (the progress line's cadence) also measure the adaptation: one extra no-grad decode
            bool logStep = done % config.Train.LogEvery == 0 || done == config.Train.Steps || done == start + 1;
            if (done == start + 1) model.TakeMatmulCounts();
            var m = Step(setup, s, measureAdaptation: logStep);
            if (done == start + 1 && model.Precision == Precision.Bf16)
                monitors.OnNote(ComputePrecision.Describe(model.TakeMatmulCounts()));
            lastLoss = m.Loss;
            losses.Add((done, m.Loss));
            monitors.OnStepDone(m, model);     // metrics.csv, TensorBoard; the CLI's --tb-images draws here
            if (watch.Observe(m)) monitors.OnNote(watch.Warning());

            bool save = config.Train.SaveEvery > 0 && done % config.Train.SaveEvery == 0 && done < config.Train.Steps;
            if (save && par.Writes)
            {
                monitors.Flush();
                Save(done, m.Loss);
            }
            if (logStep)
            {
                double rate = (done - windowStart) / Math.Max(window.Elapsed.TotalSeconds, 1e-9);
                var eta = TimeSpan.FromSeconds((config.Train.Steps - done) / Math.Max(rate, 1e-9));
                monitors.OnStep(new StepReport(done, config.Train.Steps, m.Loss, m.Reconstruction, m.Contrast, m.Inner,
                    rate, eta, Environment.WorkingSet, m.LatentChange, m.InnerGain));
            }
        }
        monitors.Flush();
        if (par.Writes && (lastSaved != config.Train.Steps || !File.Exists(ckptPath))) Save(config.Train.Steps, lastLoss);
        opt.Dispose();
        model.eval();
        model.Precision = Precision.Fp32;                      // what follows extracts features, as from the checkpoint
        return new PretrainResult(model, config, config.Train.Steps, lastLoss, ckptPath, losses, sw.Elapsed.TotalSeconds, start)
            { AdaptationWarningStep = watch.Step };
    }

    /// <summary>
    /// A run whose memory estimate does not fit: where splitting the batch keeps the method
    /// (<see cref="MemoryEstimate.AccumulationKeepsTheMethod"/>), the fewest micro-batches (a divisor of the batch) whose
    /// estimate fits, measured again, and a line saying so; otherwise, or when no split fits, an ArgumentException (exit 2
    /// in the CLI, nothing written) naming the estimate, the available memory and the flags that would make it fit.
    /// </summary>
    private static (DataParallel Parallel, string Note) FitInMemory(MemoryEstimate memory, RunConfig config, DataParallel par,
        Tensor trainX, Device device, ScalarType dtype)
    {
        int batch = config.Train.Batch, fits = memory.LargestBatchThatFits();
        if (MemoryEstimate.AccumulationKeepsTheMethod(config) && fits >= 1)
        {
            for (int k = par.Accumulate + 1; k <= batch; k++)
            {
                if (batch % k != 0 || batch / k > fits) continue;
                var split = par with { Accumulate = k };
                var again = MemoryEstimate.ForPretraining(trainX, config, device, dtype, split.MicroBatch(batch));
                if (again is { Fits: false }) continue;
                return (split, (again?.Describe() ?? memory.Describe()) + $"; batch {batch} does not fit at once, so each " +
                    $"step accumulates {k} micro-batches of {batch / k} (the same effective batch; --accumulate {k})");
            }
        }
        // the batch suggested is measured too: a smaller batch may chunk its attention maps differently
        // (ChunkedAttention), so the refused batch's slope need not hold for it (a 785-token table under 1.5 GB:
        // batch 7 suggested from batch 100's slope, and batch 7 needed 2.3 GB). Each check is read against the memory
        // held and available before the first, as a new run at that batch will start.
        for (int tries = 0; fits >= 1 && fits < batch && tries < 4; tries++)
        {
            if (MemoryEstimate.ForPretraining(trainX, config, device, dtype, fits) is not { } measured) break;
            var check = measured with { NowBytes = memory.NowBytes, AvailableBytes = memory.AvailableBytes };
            if (check.Fits) break;
            fits = Math.Min(fits - 1, check.LargestBatchThatFits());
        }
        string accumulate = MemoryEstimate.AccumulationKeepsTheMethod(config)
            ? $"--accumulate K (K micro-batches of --batch / K)"
            : $"--accumulate would change {config.Algo}'s method (its loss couples the samples of a batch)";
        throw new ArgumentException($"{memory.Describe()}: this run does not fit (it needs " +
            $"~{MemoryBudget.Format(memory.PeakBytes - memory.NowBytes)} " +
            $"more than the {MemoryBudget.Format(memory.NowBytes)} held now; a run plans on {MemoryEstimate.Margin} x its " +
            $"estimate in {MemoryEstimate.Headroom:P0} of the available memory). Make it fit with " +
            (fits >= 1 ? $"--batch {fits} or less" : "a smaller model") + ", a smaller --preset or --decoder-depth, or a " +
            $"larger mask ratio (fewer tokens reach the encoder); {accumulate}. Nothing was written");
    }

    /// <summary>What every optimizer step of a run uses; Clock runs from the start of this sitting.</summary>
    private sealed record StepSetup(Tensor Data, RunConfig Config, MetaMaeModel Model, IObjective Objective,
        AdamW Optimizer, List<Tensor> Parameters, DataParallel Parallel, int MicroBatch, Device Device,
        ScalarType Dtype, Stopwatch Clock);

    /// <summary>
    /// Optimizer step s (0-based) in its own dispose scope: the step's batch, this rank's micro-batches of it
    /// -> loss -> backward (gradients summed), gradients averaged over ranks, one AdamW step at the schedule's
    /// rate. measureAdaptation: MetaMAE also measures its latent change and inner gain (an extra no-grad decode).
    /// </summary>
    private static StepMetrics Step(StepSetup t, int s, bool measureAdaptation)
    {
        var (config, par, opt, micro) = (t.Config, t.Parallel, t.Optimizer, t.MicroBatch);
        if (t.Objective is MetaMaeObjective measured) measured.MeasureAdaptation = measureAdaptation;
        var sum = new StepSums();
        using (var scope = NewDisposeScope())
        {
            manual_seed(Mix(config.Train.Seed, s, 2));                         // dropout (drawn per shard: not shard-invariant)
            var batchIdx = BatchIndices(config.Train.Seed, s, (int)t.Data.shape[0], config.Train.Batch);
            opt.ZeroGrad();
            for (int k = 0; k < par.Accumulate; k++)                           // this rank's micro-batches of the global batch
            {
                // each micro-batch's tensors are released before the next one's forward (the gradients live on): with
                // the step's scope alone, 2 micro-batches of 120 peaked at 3.3 GB against 2.25 GB for one batch of 120
                using var microScope = NewDisposeScope();
                int first = par.ShardStart(config.Train.Batch, k);
                // masks, Nearby-S: every shard redraws the step's global-batch noise and keeps its rows
                using var gen = new Generator(device: CPU).manual_seed(Mix(config.Train.Seed, s, 3));
                using var idx = tensor(batchIdx[first..(first + micro)]);                          // (micro)
                var x = t.Data.index_select(0, idx);                                              // (micro, ..RawShape)
                // (micro, L) token ids or (micro, L, P) values
                var tokens = config.Spec.Patchify(config.Spec.IsDiscrete ? x : x.to(t.Dtype)).to(t.Device);
                var p = t.Objective.Loss(t.Model, tokens, new BatchRandom(gen, first, config.Train.Batch));
                (par.Accumulate == 1 ? p.Total : p.Total / par.Accumulate).backward();
                sum = sum.Plus(p, par.Accumulate);
            }
            if (par.Comm is { Size: > 1 } c)                                     // one allreduce per step
            {
                var extras = sum.ToArray();
                DataParallel.AverageGradients(t.Parameters, c, extras);
                sum = StepSums.From(extras);
            }
            if (!double.IsFinite(sum.Total))
                throw new ArithmeticException($"step {s + 1}: the loss is {sum.Total} (reconstruction {sum.Reconstruction}, " +
                    $"contrast {sum.Contrast}); lower --lr or --alpha, or check the data for extreme values");
            opt.Lr = config.Train.LrAt(s);
            opt.Step();
            opt.ZeroGrad();
        }
        ChunkedAttention.ReleaseAfterStep();                                   // a no-op unless the step chunked
        return new StepMetrics(s + 1, sum.Total, sum.Reconstruction, sum.Contrast, sum.Inner, sum.LatentChange,
            sum.InnerGain, t.Clock.Elapsed.TotalSeconds) { ContrastShare = sum.ContrastShare, SecondOrderShare = sum.SecondOrderShare };
    }

    /// <summary>A step's loss parts: each micro-batch's divided by their count and summed, then averaged over ranks
    /// (through the allreduce of the gradients, as an array in this order).</summary>
    private readonly record struct StepSums(double Total, double Reconstruction, double Contrast, double Inner,
        double LatentChange, double InnerGain, double ContrastShare, double SecondOrderShare)
    {
        public StepSums Plus(LossParts p, int k) => new(Total + p.Total.ToDouble() / k,
            Reconstruction + p.Reconstruction / k, Contrast + p.Contrast / k, Inner + p.Inner / k,
            LatentChange + p.LatentChange / k, InnerGain + p.InnerGain / k, ContrastShare + p.ContrastShare / k,
            SecondOrderShare + p.SecondOrderShare / k);

        public double[] ToArray() =>
            [Total, Reconstruction, Contrast, Inner, LatentChange, InnerGain, ContrastShare, SecondOrderShare];

        public static StepSums From(double[] v) => new(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]);
    }

    /// <summary>
    /// A checkpoint is only written from finite weights and optimizer moments: an optimizer step can overflow
    /// the weights while its loss was still finite, and such a checkpoint would replace the last good one.
    /// </summary>
    private static void CheckFiniteState(List<(string, TorchSharp.Modules.Parameter)> trainable, AdamW opt, int step, string ckptPath)
    {
        using var scope = NewDisposeScope();
        var state = trainable.Select(t => (Name: t.Item1, T: (Tensor)t.Item2))
            .Concat(opt.StateTensors().Select(kv => (Name: "optimizer " + kv.Key, T: kv.Value)));
        foreach (var (name, t) in state)
        {
            if (!t.is_floating_point() || t.isfinite().all().item<bool>()) continue;
            var kept = File.Exists(ckptPath) ? $"the last checkpoint ({ckptPath}) is kept" : "no checkpoint was written";
            throw new ArithmeticException($"step {step}: '{name}' holds NaN or infinity after the optimizer step; {kept}. " +
                                          "Resume with a smaller --lr (--resume --lr ...), or lower --alpha");
        }
    }

    /// <summary>
    /// --resume on a folder without a checkpoint: a run that stopped before its first one is continued from
    /// step 0 when its config.json describes the same run; a different one is refused, never replaced.
    /// </summary>
    private static string ResumeWithoutCheckpoint(string outDir, RunConfig config)
    {
        var path = Path.Combine(outDir, "config.json");
        if (!File.Exists(path)) return $"no checkpoint in {outDir}; starting a new run";
        RunConfig stored;
        try { stored = RunConfig.FromJson(File.ReadAllText(path), path); }
        catch (System.Text.Json.JsonException e) { throw new InvalidDataException($"{path}: not a run configuration ({e.Message})"); }
        if (!stored.SameRunAs(config))
            throw new InvalidOperationException($"{path}: --resume with different settings; the folder's run is {stored.ToJson()}");
        return $"no checkpoint in {outDir} yet: starting the run of its config.json from step 0";
    }

    /// <summary>Infinities are errors; NaN too unless it marks missing cells (Data/Missing.cs).</summary>
    private static void CheckFinite(Tensor x, string name, bool missingAllowed)
    {
        if (!x.is_floating_point()) return;
        using var bad = missingAllowed ? x.isinf() : x.isfinite().logical_not();
        if (bad.any().item<bool>())
        {
            using var flat = bad.reshape(x.shape[0], -1).any(1).nonzero();
            long row = flat[0, 0].item<long>();
            throw new ArgumentException($"training data of '{name}': sample {row} holds "
                                        + (missingAllowed ? "an infinity" : "NaN or infinity"));
        }
    }

    /// <summary>Columns of metrics.csv; latent_change and inner_gain are filled on logging steps of MetaMAE only.</summary>
    public const string MetricsHeader = MetricsCsvMonitor.Header;
}
