using System.Diagnostics;
using System.Globalization;
using MetaMae.Model;
using MetaMae.Objectives;
using TorchSharp;
using static TorchSharp.torch;

namespace MetaMae.Training;

/// <summary>One progress report of a pretraining run.</summary>
/// LatentChange (||Z* - Z|| / ||Z||) and InnerGain (L_Q(Z) - L_Q(Z*)): MetaMAE's adaptation, NaN for other objectives.
public sealed record StepReport(int Step, int TotalSteps, double Loss, double Reconstruction, double Contrast, double Inner,
    double StepsPerSecond, TimeSpan Eta, long RssBytes, double LatentChange = double.NaN, double InnerGain = double.NaN);

/// <summary>Receives progress; the CLI renders it, tests ignore it.</summary>
public interface ITrainingMonitor
{
    void OnStart(RunConfig config, int startStep, string message);
    void OnStep(StepReport report);
    void OnCheckpoint(int step, string path);
}

public sealed record PretrainResult(MetaMaeModel Model, RunConfig Config, int Steps, double FinalLoss, string CheckpointPath,
    IReadOnlyList<(int Step, double Loss)> Losses, double Seconds);

/// <summary>
/// Pretrains a model with an objective. Everything random in step s (batch, masks, Nearby-S
/// draws, dropout) is seeded from (seed, s) alone, so a run resumed from a checkpoint at step k
/// computes exactly the steps an uninterrupted run would. Each step runs in its own dispose
/// scope; native memory stays flat.
/// </summary>
public static class Pretrainer
{
    public static IObjective MakeObjective(RunConfig c) => Algorithms.CreateObjective(c.Algo, c.Spec, c.Model, c.Objective);

    /// <summary>Initial weights for a seed (the random-init baseline uses the same call).</summary>
    public static MetaMaeModel CreateModel(RunConfig c, Device device, ScalarType dtype = ScalarType.Float32)
    {
        manual_seed(c.Train.Seed);
        var model = new MetaMaeModel(c.Spec, c.Model) { Precision = c.Train.Precision };
        if (dtype != ScalarType.Float32) model.to(dtype);
        model.to(device);
        return model;
    }

    /// <summary>A 64-bit mix of the run seed and a counter (SplitMix64), for per-step seeds.</summary>
    public static long Mix(long seed, long counter, long stream)
    {
        ulong z = unchecked((ulong)seed * 0x9E3779B97F4A7C15UL + (ulong)counter * 0xBF58476D1CE4E5B9UL + (ulong)stream * 0x94D049BB133111EBUL);
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
    /// into outDir: checkpoint.safetensors, metrics.csv, config.json and tensorboard/.
    /// afterStep(step, model) is called after each optimizer step (outside its dispose scope).
    /// parallel splits each step's batch into micro-batches (--accumulate) and over MPI ranks; with it,
    /// only rank 0 writes files, calls the monitor and afterStep. missingCells: NaN in trainX marks missing cells
    /// (Data/Missing.cs; --algo metamae and mae only); otherwise NaN is an error, as infinities always are.
    /// cancel abandons the run at once (like a kill: the last periodic checkpoint remains); stop asks it to
    /// end after the current step: that step's checkpoint is written and a RunStoppedException thrown.
    /// A failed write of the output throws OutputWriteException (the previous checkpoint stays intact).
    /// </summary>
    public static PretrainResult Run(Tensor trainX, RunConfig config, string outDir, bool resume = false,
        ITrainingMonitor? monitor = null, Device? device = null, ScalarType dtype = ScalarType.Float32, CancellationToken cancel = default,
        Action<int, MetaMaeModel>? afterStep = null, DataParallel? parallel = null, CancellationToken stop = default,
        bool missingCells = false)
    {
        device ??= CPU;
        var par = parallel ?? new DataParallel();
        int micro = par.MicroBatch(config.Train.Batch);
        if (!par.Writes) { monitor = null; afterStep = null; }
        config.Spec.Validate();
        config.Model.Validate();
        config.Objective.Validate();
        config.Train.Validate();
        ComputePrecision.EnsureSupported(config.Train.Precision, device);
        config.Spec.CheckBatch(trainX, $"training data of '{config.Dataset}'");
        Masking.KeepCount(config.Spec.NumTokens, config.Objective.MaskRatio);
        int n = (int)trainX.shape[0];
        if (n < config.Train.Batch)
            throw new ArgumentException($"--batch {config.Train.Batch} is larger than the {n} training samples of '{config.Dataset}'");
        if (missingCells && config.Algo is not ("metamae" or "mae"))
            throw new ArgumentException($"the training data of '{config.Dataset}' has missing cells: --algo {config.Algo} cannot mask them; use metamae or mae, or impute them yourself");
        CheckFinite(trainX, config.Dataset, missingAllowed: missingCells);

        OutputWriteException.Guard(outDir, () => Directory.CreateDirectory(outDir));
        var ckptPath = Path.Combine(outDir, Checkpoint.FileName);
        var metricsPath = Path.Combine(outDir, "metrics.csv");
        int start = 0;
        var model = CreateModel(config, device, dtype);
        var objective = MakeObjective(config);                 // after CreateModel: its head's init follows the seed too
        var head = (objective as IHasHead)?.Head;
        if (head is not null) { if (dtype != ScalarType.Float32) head.to(dtype); head.to(device); head.train(); }
        var trainable = model.named_parameters().Concat(head?.named_parameters().Select(p => ("objective." + p.name, p.parameter)) ?? []).ToList();
        var opt = new AdamW(trainable, config.Train.Lr, config.Train.WeightDecay, decoupled: true);
        string startMessage;
        if (File.Exists(ckptPath))
        {
            using var ck = Checkpoint.Load(ckptPath);
            if (!resume)
                throw new InvalidOperationException($"{outDir} already holds a run (checkpoint at step {ck.Step}); pass --resume to continue it or choose another --out");
            if (!ck.Config.SameRunAs(config))
                throw new InvalidOperationException($"{ckptPath}: --resume with different settings; the checkpoint's run is {ck.Config.ToJson()}");
            if (config.Train.LrSchedule == "cosine" && ck.Config.Train.Steps != config.Train.Steps)
                throw new InvalidOperationException($"{ckptPath}: --resume with --lr-schedule cosine keeps the run's --steps " +
                    $"({ck.Config.Train.Steps}, the horizon of its cosine); got {config.Train.Steps}");
            Checkpoint.LoadModel(model, ck, ckptPath);
            if (head is not null) Checkpoint.LoadObjectiveHead(head, ck, ckptPath);
            opt.LoadState(ck.Prefixed("optim."), ckptPath);
            start = ck.Step;
            startMessage = $"resuming from step {start} ({ckptPath})";
        }
        else
        {
            startMessage = resume ? ResumeWithoutCheckpoint(outDir, config) : "starting a new run";
        }
        var parameters = trainable.Select(t => (Tensor)t.Item2).ToList();
        if (par.Comm is { Size: > 1 } comm) DataParallel.BroadcastParameters(parameters, comm);   // rank 0's weights everywhere
        if (par.Writes) AtomicFile.WriteText(Path.Combine(outDir, "config.json"), config.ToJson() + "\n");
        var losses = par.Writes ? TrimMetrics(metricsPath, start) : [];
        monitor?.OnStart(config, start, startMessage + (par.Ranks * par.Accumulate > 1 ? $" ({par.Ranks} process(es) x {par.Accumulate} micro-batch(es) of {micro})" : ""));

        TorchSharp.Modules.SummaryWriter? tb = null;
        if (par.Writes) OutputWriteException.Guard(Path.Combine(outDir, "tensorboard"), () => tb = torch.utils.tensorboard.SummaryWriter(Path.Combine(outDir, "tensorboard")));
        var sw = Stopwatch.StartNew();
        double lastLoss = losses.Count > 0 ? losses[^1].Loss : double.NaN;
        int lastSaved = start;
        TextWriter? opened = null;
        OutputWriteException.Guard(metricsPath, () => opened = par.Writes ? new AppendWriter(metricsPath) : new StringWriter());
        using TextWriter metrics = opened!;
        if (par.Writes && new FileInfo(metricsPath).Length == 0)
            OutputWriteException.Guard(metricsPath, () => metrics.WriteLine(MetricsHeader));
        var measured = objective as MetaMaeObjective;
        model.train();
        var window = Stopwatch.StartNew();
        int windowStart = start;

        for (int s = start; s < config.Train.Steps; s++)
        {
            cancel.ThrowIfCancellationRequested();
            if (stop.IsCancellationRequested)                                      // steps < s are done: save s, stop
            {
                OutputWriteException.Guard(metricsPath, metrics.Flush);
                bool saveIt = par.Writes && s > 0 && (lastSaved != s || !File.Exists(ckptPath));
                if (saveIt)
                {
                    CheckFiniteState(trainable, opt, s, ckptPath);
                    Checkpoint.Save(ckptPath, model, opt, config, s, lastLoss, head);
                    monitor?.OnCheckpoint(s, ckptPath);
                }
                opt.Dispose();
                throw new RunStoppedException(s, File.Exists(ckptPath) ? ckptPath : null);
            }
            double loss;
            int done = s + 1;
            // logging steps (the progress line's cadence) also measure the adaptation: one extra no-grad decode
            bool logStep = done % config.Train.LogEvery == 0 || done == config.Train.Steps || done == start + 1;
            if (measured is not null) measured.MeasureAdaptation = logStep;
            var sum = new double[6];                           // total, reconstruction, contrast, inner, latent change, inner gain
            using (var scope = NewDisposeScope())
            {
                manual_seed(Mix(config.Train.Seed, s, 2));                         // dropout (drawn per shard: not shard-invariant)
                var batchIdx = BatchIndices(config.Train.Seed, s, n, config.Train.Batch);
                opt.ZeroGrad();
                for (int k = 0; k < par.Accumulate; k++)                           // this rank's micro-batches of the global batch
                {
                    int first = par.ShardStart(config.Train.Batch, k);
                    // masks, Nearby-S: every shard redraws the step's global-batch noise and keeps its rows
                    using var gen = new Generator(device: CPU).manual_seed(Mix(config.Train.Seed, s, 3));
                    using var idx = tensor(batchIdx[first..(first + micro)]);
                    var x = trainX.index_select(0, idx);
                    var tokens = config.Spec.Patchify(config.Spec.IsDiscrete ? x : x.to(dtype)).to(device);
                    var p = objective.Loss(model, tokens, new BatchRandom(gen, first, config.Train.Batch));
                    (par.Accumulate == 1 ? p.Total : p.Total / par.Accumulate).backward();
                    double[] v = [p.Total.ToDouble(), p.Reconstruction, p.Contrast, p.Inner, p.LatentChange, p.InnerGain];
                    for (int i = 0; i < v.Length; i++) sum[i] += v[i] / par.Accumulate;
                }
                if (par.Comm is { Size: > 1 } c) DataParallel.AverageGradients(parameters, c, sum);   // one allreduce per step
                loss = sum[0];
                if (!double.IsFinite(loss))
                    throw new ArithmeticException($"step {s + 1}: the loss is {loss} (reconstruction {sum[1]}, contrast {sum[2]}); lower --lr or --alpha, or check the data for extreme values");
                opt.Lr = config.Train.LrAt(s);
                opt.Step();
                opt.ZeroGrad();
            }
            var parts = (Reconstruction: sum[1], Contrast: sum[2], Inner: sum[3], LatentChange: sum[4], InnerGain: sum[5]);
            lastLoss = loss;
            afterStep?.Invoke(done, model);   // e.g. reconstruction images for TensorBoard (the CLI's --tb-images)
            losses.Add((done, loss));
            OutputWriteException.Guard(metricsPath, () => metrics.WriteLine(string.Join(",", done.ToString(CultureInfo.InvariantCulture), R(loss),
                R(parts.Reconstruction), R(parts.Contrast), R(parts.Inner), sw.Elapsed.TotalSeconds.ToString("F3", CultureInfo.InvariantCulture),
                R(parts.LatentChange), R(parts.InnerGain))));
            OutputWriteException.Guard(Path.Combine(outDir, "tensorboard"), () =>
            {
                tb?.add_scalar("loss/total", (float)loss, done);
                if (!double.IsNaN(parts.Contrast)) tb?.add_scalar("loss/contrast", (float)parts.Contrast, done);
                tb?.add_scalar("loss/reconstruction", (float)parts.Reconstruction, done);
                if (!double.IsNaN(parts.LatentChange)) tb?.add_scalar("adaptation/latent_change", (float)parts.LatentChange, done);
                if (!double.IsNaN(parts.InnerGain)) tb?.add_scalar("adaptation/inner_gain", (float)parts.InnerGain, done);
            });

            bool save = config.Train.SaveEvery > 0 && done % config.Train.SaveEvery == 0 && done < config.Train.Steps;
            if (save && par.Writes)
            {
                OutputWriteException.Guard(metricsPath, metrics.Flush);
                CheckFiniteState(trainable, opt, done, ckptPath);
                Checkpoint.Save(ckptPath, model, opt, config, done, loss, head);
                lastSaved = done;
                monitor?.OnCheckpoint(done, ckptPath);
            }
            if (monitor is not null && logStep)
            {
                double rate = (done - windowStart) / Math.Max(window.Elapsed.TotalSeconds, 1e-9);
                var eta = TimeSpan.FromSeconds((config.Train.Steps - done) / Math.Max(rate, 1e-9));
                monitor.OnStep(new StepReport(done, config.Train.Steps, loss, parts.Reconstruction, parts.Contrast, parts.Inner, rate, eta,
                    Environment.WorkingSet, parts.LatentChange, parts.InnerGain));
            }
        }
        OutputWriteException.Guard(metricsPath, metrics.Flush);
        if (par.Writes && (lastSaved != config.Train.Steps || !File.Exists(ckptPath)))
        {
            CheckFiniteState(trainable, opt, config.Train.Steps, ckptPath);
            Checkpoint.Save(ckptPath, model, opt, config, config.Train.Steps, lastLoss, head);
            monitor?.OnCheckpoint(config.Train.Steps, ckptPath);
        }
        opt.Dispose();
        model.eval();
        return new PretrainResult(model, config, config.Train.Steps, lastLoss, ckptPath, losses, sw.Elapsed.TotalSeconds);
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

    private static string R(double v) => double.IsNaN(v) ? "" : v.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Infinities are errors; NaN too unless it marks missing cells (Data/Missing.cs).</summary>
    private static void CheckFinite(Tensor x, string name, bool missingAllowed)
    {
        if (!x.is_floating_point()) return;
        using var bad = missingAllowed ? x.isinf() : x.isfinite().logical_not();
        if (bad.any().item<bool>())
        {
            using var flat = bad.reshape(x.shape[0], -1).any(1).nonzero();
            long row = flat[0, 0].item<long>();
            throw new ArgumentException($"training data of '{name}': sample {row} holds " + (missingAllowed ? "an infinity" : "NaN or infinity"));
        }
    }

    /// <summary>Columns of metrics.csv; latent_change and inner_gain are filled on logging steps of MetaMAE only.</summary>
    public const string MetricsHeader = "step,loss,reconstruction,contrast,inner,seconds,latent_change,inner_gain";

    /// <summary>
    /// Keeps the metrics.csv rows up to step `upTo` (a killed run may have logged past its last checkpoint).
    /// Rows of a file written before a column existed get that column empty, so every row has every column.
    /// </summary>
    private static List<(int Step, double Loss)> TrimMetrics(string path, int upTo)
    {
        var kept = new List<string>();
        var losses = new List<(int, double)>();
        int columns = MetricsHeader.Split(',').Length;
        if (File.Exists(path))
        {
            foreach (var line in File.ReadLines(path).Skip(1))
            {
                var f = line.Split(',');
                if (f.Length < 2 || !int.TryParse(f[0], out var st) || st > upTo) continue;
                kept.Add(line + new string(',', Math.Max(0, columns - f.Length)));
                losses.Add((st, double.Parse(f[1], CultureInfo.InvariantCulture)));
            }
        }
        if (upTo == 0) kept.Clear();
        AtomicFile.WriteText(path, MetricsHeader + "\n" + string.Concat(kept.Select(k => k + "\n")));
        return upTo == 0 ? [] : losses;
    }
}
