using MetaMae.Data;
using MetaMae.Model;
using MetaMae.Training;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using MetaMae.Runtime;

namespace MetaMae.Evaluation;

/// <summary>How the linear head is trained (issue 15).</summary>
public enum ProbeProtocol
{
    /// <summary>L2-regularised logistic / ridge regression fitted to convergence, L2 strength swept on validation
    /// (<see cref="ConvergedProbe"/>).</summary>
    Converged,
    /// <summary>The paper's protocol: Adam lr 1e-4, weight decay 1e-4, 100 epochs, the best validation epoch.</summary>
    Paper,
}

/// <summary>Linear evaluation protocol (paper Appendix A, reference-notes.md; the converged probe of issue 15).</summary>
public sealed record ProbeOptions
{
    /// <summary>Converged by default: the paper's 100 epochs at lr 1e-4 stop before the head has converged on
    /// small datasets (issue 15), so they measure the optimiser, not the features.</summary>
    public ProbeProtocol Protocol { get; init; } = ProbeProtocol.Converged;
    /// <summary>Converged probe: the L2 strengths swept on validation (mean-loss scale, features standardised);
    /// one per decade from nearly unregularised to strong enough to shrink every head to the class prior.</summary>
    public double[] Penalties { get; init; } = [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 10];
    /// <summary>Converged probe: L-BFGS iteration cap per fit (warm starts along the path keep most fits far below it).</summary>
    public int MaxIterations { get; init; } = 1000;
    /// <summary>Converged probe: converged once the largest gradient entry of the mean loss is below this.</summary>
    public double Tolerance { get; init; } = 1e-5;
    /// <summary>Epochs over the training features (100 in the paper).</summary>
    public int Epochs { get; init; } = 100;
    /// <summary>Mini-batch size (per dataset, Table 16).</summary>
    public int Batch { get; init; } = 64;
    /// <summary>Adam learning rate 1e-4.</summary>
    public double Lr { get; init; } = 1e-4;
    /// <summary>Adam (L2) weight decay 1e-4.</summary>
    public double WeightDecay { get; init; } = 1e-4;
    /// <summary>Fraction of the training split held out for model selection (stratified).</summary>
    public double ValidationFraction { get; init; } = 0.1;
    /// <summary>Seed of the validation carve-out, head init and shuffling.</summary>
    public long Seed { get; init; } = 0;
    /// <summary>Paper probe: standardise features with the probe-training split's mean and std before the head (MAE's
    /// own probe does so with an affine-free BatchNorm). Off: the paper's probe and the authors' linear_evaluation.py
    /// train on the features as they come out (reference-notes.md, issue 34). The converged probe always standardises
    /// (its L2 path needs centred columns), and says so in its <see cref="ProbeRecord"/>.</summary>
    public bool Standardize { get; init; }
    /// <summary>Batch size of feature extraction (no gradients).</summary>
    public int FeatureBatch { get; init; } = 256;
    /// <summary>Which frozen features the head sees: mean over non-CLS tokens (the paper's), the CLS output, or every
    /// token's output concatenated (keeps position; L x D features). Per-token tasks always use each token's own.</summary>
    public FeatureKind Features { get; init; } = FeatureKind.Mean;
    /// <summary>Fraction of the training split's labels the probe may use (label efficiency, issue 17): a stratified,
    /// seeded subset (the same rows for every encoder and the raw input at a seed), carved into train and validation
    /// like the whole split. 1 = every label.</summary>
    public double LabelFraction { get; init; } = 1.0;

    public void Validate()
    {
        if (Epochs < 1) throw new ArgumentException($"--probe-epochs must be >= 1 (got {Epochs})");
        if (Batch < 1) throw new ArgumentException($"--probe-batch must be >= 1 (got {Batch})");
        if (ValidationFraction is <= 0 or >= 1)
            throw new ArgumentException($"validation fraction must be in (0, 1) (got {ValidationFraction})");
        if (Penalties.Length == 0 || Penalties.Any(p => !(p > 0) || double.IsInfinity(p)))
            throw new ArgumentException($"probe penalties must be positive finite numbers (got [{string.Join(", ", Penalties)}])");
        if (MaxIterations < 1) throw new ArgumentException($"--probe-max-iterations must be >= 1 (got {MaxIterations})");
        if (!(Tolerance > 0)) throw new ArgumentException($"probe tolerance must be > 0 (got {Tolerance})");
        if (!(LabelFraction > 0 && LabelFraction <= 1))
            throw new ArgumentException($"--label-fraction must be in (0, 1] (got {LabelFraction})");
    }

    /// <summary>The protocol's CLI / JSON name.</summary>
    public static string Name(ProbeProtocol p) => EnumNames<ProbeProtocol>.Of(p);

    /// <summary>Parses a protocol name (CLI --probe, plan "probe").</summary>
    public static ProbeProtocol Parse(string name, string where) => EnumNames<ProbeProtocol>.All.Contains(name)
        ? EnumNames<ProbeProtocol>.Parse(name, where)
        : throw new ArgumentException($"{where}: probe '{name}' is unknown " +
                                      $"(expected {string.Join(" or ", EnumNames<ProbeProtocol>.All)})");
}

/// <summary>
/// Probe outcome: the metric on validation (selected epoch, or selected L2 strength) and on test (reported once).
/// Paper protocol: the curves are per epoch. Converged protocol: BestEpoch and Epochs are 0 and the curves have one
/// point per entry of <see cref="Penalties"/> (validation metric, training loss).
/// </summary>
public sealed record ProbeResult(string Metric, double Validation, double Test, int BestEpoch, int Epochs,
    double TestAccuracy, double TestWeightedF1, double[] ValidationCurve, double[] TrainLossCurve, int TrainCount,
    int ValidationCount, int TestCount)
{
    public ProbeProtocol Protocol { get; init; } = ProbeProtocol.Paper;
    /// <summary>Converged: the chosen L2 strength; paper: the Adam weight decay.</summary>
    public double Regularization { get; init; } = double.NaN;
    /// <summary>Converged: the final fit met the gradient tolerance; paper: the best epoch is not in the last 10%.</summary>
    public bool Converged { get; init; } = true;
    /// <summary>Converged: L-BFGS iterations of the final fit (0 for ridge, closed form).</summary>
    public int Iterations { get; init; }
    /// <summary>Converged: the swept L2 strengths, ascending (the curves' x axis).</summary>
    public double[] Penalties { get; init; } = [];
    /// <summary>The features probed: mean, cls, tokens (an encoder's) or raw (the input itself).</summary>
    public string Features { get; init; } = "mean";
    /// <summary>The fraction of the training labels used (<see cref="ProbeOptions.LabelFraction"/>).</summary>
    public double LabelFraction { get; init; } = 1.0;
    /// <summary>How the head was trained and which figure was read (issue 34); every result file stores it.</summary>
    public ProbeRecord? Record { get; init; }

    /// <summary>One phrase naming the probe, its regularisation and whether it converged.</summary>
    public string Describe() => (Features is "mean" or "raw" ? "" : $"{Features} features, ") +
        (LabelFraction < 1 ? $"{LabelFraction:0.###} of the labels ({TrainCount + ValidationCount} samples), " : "")
        + (Protocol == ProbeProtocol.Paper
        ? $"paper probe, best epoch {BestEpoch}/{Epochs}{(Converged ? "" : " (not converged: best epoch in the last 10%)")}"
        : $"converged probe, L2 {Regularization:0.#####e+0} chosen on validation" +
          (Metric == "spearman" ? " (ridge, closed form)"
              : $", L-BFGS {Iterations} iterations{(Converged ? "" : " (hit the iteration cap)")}"));
}

public static class LinearProbe
{
    /// <summary>Frozen features (N, D) on the CPU: whole unmasked inputs, encoder, final LN, mean over non-CLS tokens.</summary>
    public static Tensor Features(MetaMaeModel model, Tensor rawX, int batch = 256) =>
        Batched(model, rawX, batch, model.forward);

    /// <summary>Runs features(tokens) over rawX in batches (see <see cref="FeatureExtraction.Stream"/>): float32 on the CPU.</summary>
    /// <summary>Frozen features (N, F) of a kind for a sample-level probe: (N, D), or (N, L x D) for tokens.</summary>
    public static Tensor Features(MetaMaeModel model, Tensor rawX, FeatureKind kind, int batch)
    {
        var f = FeatureExtraction.Extract(model, rawX, kind, batch);            // (N, D) or (N, L, D)
        if (kind != FeatureKind.Tokens) return f;
        using (f) return f.reshape(f.shape[0], -1);                             // (N, L x D)
    }

    internal static Tensor Batched(MetaMaeModel model, Tensor rawX, int batch, Func<Tensor, Tensor> features) =>
        FeatureExtraction.Collect(model, rawX, batch, features);

    /// <summary>
    /// The labelled subset a probe at a label fraction may use: per class (classification) or overall (regression),
    /// ceil(fraction x count) samples, at least 2 where the class has them (one to train, one to validate), drawn
    /// with a generator seeded by seed alone, so every encoder and the raw input see the same rows. Sorted.
    /// </summary>
    public static int[] LabelSubset(Split train, double fraction, long seed)
    {
        if (fraction >= 1) return Enumerable.Range(0, train.Count).ToArray();
        var rng = new Random((int)(Pretrainer.Mix(seed, 0, 11) & 0x7FFFFFFF));
        var keep = new List<int>();
        foreach (var g in Groups(train, Enumerable.Range(0, train.Count)))
        {
            var idx = g.ToArray();
            rng.Shuffle(idx);
            keep.AddRange(idx.Take(Math.Min(idx.Length, Math.Max(2, (int)Math.Ceiling(idx.Length * fraction)))));
        }
        keep.Sort();
        return keep.ToArray();
    }

    private static IEnumerable<IGrouping<long, int>> Groups(Split train, IEnumerable<int> rows) => train.Labels is not null
        ? rows.GroupBy(i => train.Labels[i]).OrderBy(g => g.Key)
        : rows.GroupBy(_ => 0L);

    /// <summary>The probe's train / validation carve of options o: the label subset, then the stratified hold-out.</summary>
    public static (int[] Train, int[] Validation) Carve(Split train, ProbeOptions o) =>
        CarveValidation(train, o.ValidationFraction, o.Seed, o.LabelFraction < 1 ? LabelSubset(train, o.LabelFraction, o.Seed) : null);

    /// <summary>Stratified hold-out of the training indices (classification) or a plain random one (regression),
    /// from the given rows (default: all of them).</summary>
    public static (int[] Train, int[] Validation) CarveValidation(Split train, double fraction, long seed, IReadOnlyList<int>? rows = null)
    {
        var rng = new Random((int)(Pretrainer.Mix(seed, 0, 7) & 0x7FFFFFFF));
        var tr = new List<int>();
        var va = new List<int>();
        var groups = Groups(train, rows ?? Enumerable.Range(0, train.Count));
        foreach (var g in groups)
        {
            var idx = g.ToArray();
            rng.Shuffle(idx);
            int nv = idx.Length >= 2 ? Math.Max(1, (int)Math.Round(idx.Length * fraction)) : 0;
            va.AddRange(idx.Take(nv));
            tr.AddRange(idx.Skip(nv));
        }
        tr.Sort();
        va.Sort();
        return (tr.ToArray(), va.ToArray());
    }

    /// <summary>Trains a linear head on the frozen features of model and evaluates it on the test split.</summary>
    public static ProbeResult Run(MetaMaeModel model, Dataset ds, ProbeOptions o, Action<int, double, double>? onEpoch = null)
    {
        o.Validate();
        if (!ds.IsLabeled) throw new ArgumentException($"dataset '{ds.Name}' has no labels: nothing to probe");
        if (ds.Task == TaskKind.TokenClassification) return TokenProbe.Run(model, ds, o);
        if (ds.Test is null) throw new ArgumentException($"dataset '{ds.Name}' has no test split");
        using var fTrainAll = Features(model, ds.Train.X, o.Features, o.FeatureBatch);
        using var fTest = Features(model, ds.Test.X, o.Features, o.FeatureBatch);
        return RunOnFeatures(fTrainAll, ds.Train, fTest, ds.Test, ds.Task, ds.ClassNames.Length, o, onEpoch)
            with { Features = FeatureExtraction.Name(o.Features) };
    }

    /// <summary>
    /// The probe of options o at each label fraction, on one extraction of the frozen features (per-token tasks extract
    /// per fraction). Results in the order of fractions; o's own LabelFraction is ignored.
    /// </summary>
    public static ProbeResult[] RunAtFractions(MetaMaeModel model, Dataset ds, ProbeOptions o, IReadOnlyList<double> fractions)
    {
        o.Validate();
        if (!ds.IsLabeled) throw new ArgumentException($"dataset '{ds.Name}' has no labels: nothing to probe");
        if (ds.Task == TaskKind.TokenClassification || ds.Test is null)
            return fractions.Select(f => Run(model, ds, o with { LabelFraction = f })).ToArray();
        using var fTrainAll = Features(model, ds.Train.X, o.Features, o.FeatureBatch);
        using var fTest = Features(model, ds.Test.X, o.Features, o.FeatureBatch);
        return fractions.Select(f => RunOnFeatures(fTrainAll, ds.Train, fTest, ds.Test, ds.Task, ds.ClassNames.Length,
            o with { LabelFraction = f }) with { Features = FeatureExtraction.Name(o.Features) }).ToArray();
    }

    public static ProbeResult RunOnFeatures(Tensor fTrainAll, Split train, Tensor fTest, Split test, TaskKind task, int classes,
        ProbeOptions o, Action<int, double, double>? onEpoch = null, (int[] Train, int[] Validation)? carve = null)
    {
        o.Validate();
        var (trIdx, vaIdx) = carve ?? Carve(train, o);
        if (vaIdx.Length == 0) throw new ArgumentException("the training split is too small to hold out a validation set");
        EnsureFinite(fTrainAll, "training");
        EnsureFinite(fTest, "test");
        // the fit's float64 copies: all rows, train, validation, train + validation and test, standardised (ConvergedProbe)
        long width = fTrainAll.shape[1], rows = fTrainAll.shape[0] + fTest.shape[0];
        MemoryBudget.Ensure(3 * rows * width * sizeof(double),
            $"the linear probe on {fTrainAll.shape[0]:N0} + {fTest.shape[0]:N0} samples x {width:N0} features",
            "probe fewer or narrower features (--features mean instead of tokens, a smaller --label-fraction) or free memory");
        if (o.Protocol == ProbeProtocol.Converged)
        {
            var c = ConvergedProbe.Run(fTrainAll, train, fTest, test, task, classes, o, (trIdx, vaIdx));
            return c with { LabelFraction = o.LabelFraction, Record = ProbeRecord.Of(o, c) };
        }
        using var scope = NewDisposeScope();
        var fTr = fTrainAll.index_select(0, tensor(trIdx.Select(i => (long)i).ToArray()));
        var fVa = fTrainAll.index_select(0, tensor(vaIdx.Select(i => (long)i).ToArray()));
        if (o.Standardize)
        {
            var mean = fTr.mean([0], keepdim: true);
            var std = fTr.std(0, keepdim: true).clamp_min(1e-6);
            fTr = (fTr - mean) / std;
            fVa = (fVa - mean) / std;
            fTest = (fTest - mean) / std;
        }
        bool cls = task == TaskKind.Classification;
        int outDim = cls ? classes : 1;
        Tensor yTr = cls ? tensor(trIdx.Select(i => train.Labels![i]).ToArray()) : tensor(trIdx.Select(i => train.Targets![i]).ToArray());

        manual_seed(Pretrainer.Mix(o.Seed, 0, 8));
        var head = Linear(fTr.shape[1], outDim);
        var opt = new AdamW(head.named_parameters(), o.Lr, o.WeightDecay, decoupled: false);   // Adam with L2 decay
        var rng = new Random((int)(Pretrainer.Mix(o.Seed, 0, 9) & 0x7FFFFFFF));
        int n = trIdx.Length;
        double best = double.NegativeInfinity;
        int bestEpoch = 0;
        Dictionary<string, Tensor>? bestState = null;
        var valCurve = new double[o.Epochs];
        var lossCurve = new double[o.Epochs];
        var order = Enumerable.Range(0, n).ToArray();
        for (int e = 0; e < o.Epochs; e++)
        {
            rng.Shuffle(order);
            double lossSum = 0;
            int batches = 0;
            for (int i = 0; i < n; i += o.Batch)
            {
                using var step = NewDisposeScope();
                var ix = tensor(order.Skip(i).Take(o.Batch).Select(k => (long)k).ToArray());
                var pred = head.forward(fTr.index_select(0, ix));
                var yb = yTr.index_select(0, ix);
                var loss = cls ? functional.cross_entropy(pred, yb) : functional.mse_loss(pred.squeeze(-1), yb);
                opt.ZeroGrad();
                loss.backward();
                opt.Step();
                double l = loss.ToDouble();
                if (!double.IsFinite(l))
                    throw new ArithmeticException(
                        $"the paper probe's training loss is {l} at epoch {e + 1}: no figure is reported");
                lossSum += l;
                batches++;
            }
            double val = Score(head, fVa, vaIdx, train, cls).Primary;
            valCurve[e] = val;
            lossCurve[e] = lossSum / batches;
            onEpoch?.Invoke(e + 1, lossCurve[e], val);
            if (val > best)
            {
                best = val;
                bestEpoch = e + 1;
                if (bestState is not null) foreach (var t in bestState.Values) t.Dispose();
                bestState = head.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone().DetachFromDisposeScope());
            }
        }
        using (no_grad()) foreach (var (k, v) in head.state_dict()) v.copy_(bestState![k]);
        foreach (var t in bestState!.Values) t.Dispose();
        var testIdx = Enumerable.Range(0, test.Count).ToArray();
        var s = Score(head, fTest, testIdx, test, cls);
        opt.Dispose();
        return new ProbeResult(cls ? "accuracy" : "spearman", best, s.Primary, bestEpoch, o.Epochs, s.Accuracy, s.F1,
            valCurve, lossCurve, trIdx.Length, vaIdx.Length, test.Count)
        {
            Protocol = ProbeProtocol.Paper, Regularization = o.WeightDecay, Converged = bestEpoch <= 0.9 * o.Epochs,
            LabelFraction = o.LabelFraction, Record = ProbeRecord.Of(o, null),
        };
    }

    /// <summary>Throws when features hold NaN or infinite values: a probe on them fits nothing (its first L-BFGS step or
    /// Adam update is NaN) and would report the majority class as a figure. Names the split, the count and the first.</summary>
    public static void EnsureFinite(Tensor features, string split)
    {
        using var scope = NewDisposeScope();
        var bad = features.isfinite().logical_not();                               // (N, D)
        long count = bad.sum().ToInt64();
        if (count == 0) return;
        var first = bad.reshape(-1).nonzero()[0, 0].ToInt64();
        long d = features.shape.Length > 1 ? features.shape[1] : 1;
        throw new ArithmeticException($"the probe's {split} features hold {count:N0} non-finite values (NaN or infinite; the " +
            $"first at sample {first / d}, feature {first % d}): the probe would fit nothing, so no figure is reported. " +
            "Missing cells must be imputed before a probe, and an encoder whose weights diverged gives such features");
    }

    private static (double Primary, double Accuracy, double F1) Score(Module<Tensor, Tensor> head, Tensor feats, int[] idx,
        Split split, bool cls)
    {
        using var _ = no_grad();
        using var pred = head.forward(feats);
        return ScoreOutputs(pred, idx, split, cls);
    }

    /// <summary>Scores head outputs (N, C) logits or (N, 1) predictions against the split's labels or targets at idx.</summary>
    internal static (double Primary, double Accuracy, double F1) ScoreOutputs(Tensor pred, int[] idx, Split split, bool cls)
    {
        if (cls)
        {
            using var am = pred.argmax(1);
            var p = am.data<long>().ToArray();
            var t = idx.Select(i => split.Labels![i]).ToArray();
            double acc = Metrics.Accuracy(t, p);
            return (acc, acc, Metrics.WeightedF1(t, p));
        }
        var pv = pred.squeeze(-1).to(ScalarType.Float64).data<double>().ToArray();
        var tv = idx.Select(i => (double)split.Targets![i]).ToArray();
        double rho = Metrics.Spearman(tv, pv);
        return (rho, double.NaN, double.NaN);
    }
}
