using MetaMae.Data;
using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MetaMae.Evaluation;

/// <summary>One fit of a linear head: weights (D, C) and bias (C) as float64, how it ended.</summary>
public sealed record LinearFit(double[] Weights, double[] Bias, int Features, int Outputs, int Iterations, bool Converged);

/// <summary>
/// The converged linear probe (issue 15): an L2-regularised linear model fitted to convergence on
/// standardised frozen features, as linear evaluation meant for comparison across methods does it
/// (CLIP's L-BFGS logistic regression with the L2 strength swept on validation data).
/// Classification: multinomial logistic regression, minimising mean cross-entropy + (lambda/2)||W||^2
/// (bias unpenalised) by L-BFGS. Regression: ridge regression, mean squared error / 2 + (lambda/2)||w||^2,
/// in closed form through one SVD shared by every lambda. lambda is chosen from
/// <see cref="ProbeOptions.Penalties"/> by the validation metric (ties: the lower validation loss),
/// then the head is refitted at that lambda on train + validation (standardised with their statistics)
/// and the test split is scored once.
/// </summary>
public static class ConvergedProbe
{
    public static ProbeResult Run(Tensor fTrainAll, Split train, Tensor fTest, Split test, TaskKind task, int classes,
        ProbeOptions o, (int[] Train, int[] Validation) carve)
    {
        var (trIdx, vaIdx) = carve;
        bool cls = task == TaskKind.Classification;
        using var scope = NewDisposeScope();
        var all = fTrainAll.to(ScalarType.Float64);                            // (N, D)
        var xTr = Rows(all, trIdx);
        var xVa = Rows(all, vaIdx);
        var (mean, std) = Moments(xTr);
        xTr.sub_(mean).div_(std);                                               // in place: index_select made copies
        xVa.sub_(mean).div_(std);
        var grid = o.Penalties.OrderDescending().ToArray();                   // strong to weak: warm starts follow the path
        var valScore = new double[grid.Length];
        var valLoss = new double[grid.Length];
        var trainLoss = new double[grid.Length];
        var fits = new LinearFit[grid.Length];
        var yTr = Targets(train, trIdx, cls);
        var yVa = Targets(train, vaIdx, cls);
        Func<double, LinearFit?, LinearFit> fitTrain = cls
            ? (l, warm) => FitLogistic(xTr, yTr.Labels!, classes, l, warm, o)
            : RidgeSolver(xTr, yTr.Values!);
        LinearFit? prev = null;
        for (int k = 0; k < grid.Length; k++)
        {
            fits[k] = prev = fitTrain(grid[k], prev);
            var sVa = Evaluate(prev, xVa, yVa, train, vaIdx, cls);
            valScore[k] = sVa.Primary;
            valLoss[k] = sVa.Loss;
            trainLoss[k] = Evaluate(prev, xTr, yTr, train, trIdx, cls).Loss;
            EnsureFitted(prev, trainLoss[k], grid[k], k == 0 ? null : fits[k - 1]);
        }
        int best = 0;
        for (int k = 1; k < grid.Length; k++)
            if (valScore[k] > valScore[best] || (valScore[k] == valScore[best] && valLoss[k] < valLoss[best])) best = k;
        double lambda = grid[best];

        // refit on train + validation at the chosen strength, standardised with their statistics
        var allIdx = trIdx.Concat(vaIdx).ToArray();
        var xAll = Rows(all, allIdx);
        var (meanAll, stdAll) = Moments(xAll);
        xAll.sub_(meanAll).div_(stdAll);
        var yAll = Targets(train, allIdx, cls);
        var final = cls ? FitLogistic(xAll, yAll.Labels!, classes, lambda, fits[best], o) : RidgeSolver(xAll, yAll.Values!)(lambda, null);
        EnsureFitted(final, Evaluate(final, xAll, yAll, train, allIdx, cls).Loss, lambda, fits[best]);
        var xTe = fTest.to(ScalarType.Float64, copy: true).sub_(meanAll).div_(stdAll);
        var testIdx = Enumerable.Range(0, test.Count).ToArray();
        var s = Evaluate(final, xTe, Targets(test, testIdx, cls), test, testIdx, cls);
        // validation curve / train loss: one point per penalty, weakest first (the order of ProbeOptions.Penalties sorted ascending)
        var order = Enumerable.Range(0, grid.Length).Reverse().ToArray();
        return new ProbeResult(cls ? "accuracy" : "spearman", valScore[best], s.Primary, 0, 0, s.Accuracy, s.F1,
            order.Select(k => valScore[k]).ToArray(), order.Select(k => trainLoss[k]).ToArray(), trIdx.Length, vaIdx.Length, test.Count)
        {
            Protocol = ProbeProtocol.Converged, Regularization = lambda, Converged = final.Converged, Iterations = final.Iterations,
            Penalties = order.Select(k => grid[k]).ToArray(),
        };
    }

    /// <summary>
    /// Throws when a fit did not run: its training loss is not finite, or L-BFGS made no step without meeting the
    /// tolerance (a cold start that cannot move: what NaN features or labels give). A warm start that already meets the
    /// tolerance (0 iterations, converged) is a fit. A figure from such a fit would be the majority class.
    /// </summary>
    private static void EnsureFitted(LinearFit fit, double trainLoss, double lambda, LinearFit? warm)
    {
        if (!double.IsFinite(trainLoss))
            throw new ArithmeticException($"the converged probe's training loss is {trainLoss} at L2 {lambda:0.#####e+0}: " +
                                          "the fit did not run, so no figure is reported");
        if (fit.Outputs > 1 && fit.Iterations == 0 && !fit.Converged)
            throw new ArithmeticException($"the converged probe's L-BFGS made no step at L2 {lambda:0.#####e+0} " +
                $"({(warm is null ? "cold start" : "warm start")}) and did not converge: the fit did not run, so no figure " +
                "is reported");
    }

    /// <summary>Column mean and std (N-1) of x; a constant column gets std 1, so it stays constant instead of exploding.</summary>
    public static (Tensor Mean, Tensor Std) Moments(Tensor x)
    {
        var mean = x.mean([0], keepdim: true);                                  // (1, D)
        var std = x.shape[0] > 1 ? x.std(0, keepdim: true) : ones_like(mean);   // (1, D)
        return (mean, where(std > 1e-6, std, ones_like(std)));
    }

    private static Tensor Rows(Tensor x, int[] idx)
    {
        using var ix = tensor(idx.Select(i => (long)i).ToArray());
        return x.index_select(0, ix);
    }

    private sealed record Y(long[]? Labels, double[]? Values);

    private static Y Targets(Split s, int[] idx, bool cls) => cls
        ? new Y(idx.Select(i => s.Labels![i]).ToArray(), null)
        : new Y(null, idx.Select(i => (double)s.Targets![i]).ToArray());

    /// <summary>Outputs of a fit on (standardised) x: (N, C) logits or (N, 1) predictions.</summary>
    public static Tensor Predict(LinearFit fit, Tensor x)
    {
        using var w = tensor(fit.Weights, [fit.Features, fit.Outputs], ScalarType.Float64);
        using var b = tensor(fit.Bias, ScalarType.Float64);
        return x.to(ScalarType.Float64).matmul(w) + b;                          // (N, C)
    }

    private static (double Primary, double Loss, double Accuracy, double F1) Evaluate(LinearFit fit, Tensor x, Y y, Split split, int[] idx,
        bool cls)
    {
        using var scope = NewDisposeScope();
        var pred = Predict(fit, x);                                             // (N, C)
        var (primary, acc, f1) = LinearProbe.ScoreOutputs(pred, idx, split, cls);
        double loss = cls
            ? functional.cross_entropy(pred, tensor(y.Labels!)).ToDouble()
            : (pred.squeeze(-1) - tensor(y.Values!)).pow(2).mean().ToDouble() / 2;
        return (primary, loss, acc, f1);
    }

    /// <summary>Alpha 1 of tensor + / -, held for the process: TorchSharp would make a finalizable temporary per op, which a GC
    /// on another thread may free during the native call (see Directory.Build.props); the L-BFGS loop runs thousands.</summary>
    private static readonly Scalar One = 1.0.ToScalar();

    /// <summary>Mean cross-entropy + (lambda/2)||W||^2 and its gradient at theta = [W (D*C, row-major), b (C)]. No op here
    /// takes a Scalar made on the fly (<see cref="One"/>).</summary>
    internal static (double Loss, double[] Grad) LogisticObjective(Tensor x, Tensor y, int classes, double lambda, double[] theta)
    {
        using var scope = NewDisposeScope();
        long n = x.shape[0], d = x.shape[1];
        var th = tensor(theta, ScalarType.Float64);
        var w = th.narrow(0, 0, d * classes).view(d, classes);                  // (D, C)
        var b = th.narrow(0, d * classes, classes);                             // (C)
        var lam = tensor(lambda, ScalarType.Float64);                           // () tensors, not Scalars
        var invN = tensor(1.0 / n, ScalarType.Float64);
        var logits = x.matmul(w).add(b, One);                                   // (N, C)
        var lse = logits.logsumexp(1, keepdim: true);                           // (N, 1)
        var yi = y.unsqueeze(1);                                                // (N, 1)
        double loss = lse.sub(logits.gather(1, yi)).mean().ToDouble() + 0.5 * lambda * w.mul(w).sum().ToDouble();
        var p = logits.sub(lse).exp();                                     // softmax (N, C)
        p.scatter_add_(1, yi, ones(n, 1, ScalarType.Float64).neg());            // p - onehot(y)
        var gw = x.t().matmul(p).mul(invN).add(w.mul(lam), One);                // (D, C)
        var gb = p.mean([0]);                                                   // (C)
        return (loss, cat([gw.reshape(-1), gb]).data<double>().ToArray());
    }

    /// <summary>Multinomial logistic regression at one L2 strength, by L-BFGS (warm-started from another fit if given).</summary>
    public static LinearFit FitLogistic(Tensor x, long[] labels, int classes, double lambda, LinearFit? warm, ProbeOptions o)
    {
        if (classes < 2) throw new ArgumentException($"a classification probe needs >= 2 classes (got {classes})");
        // only a converted copy is ours to dispose: to() of a float64 tensor may hand back the caller's own tensor
        bool convert = x.dtype != ScalarType.Float64;
        var xd = convert ? x.to(ScalarType.Float64) : x;
        using var y = tensor(labels);
        int d = (int)x.shape[1];
        var theta0 = new double[d * classes + classes];
        if (warm is not null && warm.Features == d && warm.Outputs == classes)
        {
            warm.Weights.CopyTo(theta0, 0);
            warm.Bias.CopyTo(theta0, d * classes);
        }
        var (theta, iters, ok) = Lbfgs(t => LogisticObjective(xd, y, classes, lambda, t), theta0, o.MaxIterations, o.Tolerance);
        if (convert) xd.Dispose();
        return new LinearFit(theta[..(d * classes)], theta[(d * classes)..], d, classes, iters, ok);
    }

    /// <summary>
    /// Ridge regression on centred targets: w = V diag(s / (s^2 + N lambda)) U^T (y - mean y), bias = mean y
    /// (x is standardised, so its columns are centred). One SVD, then any lambda in O(D k).
    /// </summary>
    public static Func<double, LinearFit?, LinearFit> RidgeSolver(Tensor x, double[] y)
    {
        var xd = x.to(ScalarType.Float64).detach();
        long n = xd.shape[0], d = xd.shape[1];
        var colMean = xd.mean([0], keepdim: true);                              // (1, D): 0 on the fitting split
        double ym = y.Average();
        var (u, s, vh) = linalg.svd(xd - colMean, fullMatrices: false);          // U (N, k), S (k), Vh (k, D)
        var uty = u.t().matmul(tensor(y.Select(v => v - ym).ToArray(), ScalarType.Float64));   // (k)
        var s64 = s.data<double>().ToArray();
        var uty64 = uty.data<double>().ToArray();
        var vhCopy = vh.detach().clone();
        var mean64 = colMean.squeeze(0).data<double>().ToArray();
        foreach (var t in new[] { xd, u, s, vh, uty, colMean }) t.Dispose();
        return (lambda, _) =>
        {
            using var scope = NewDisposeScope();
            var coef = tensor(s64.Select((sv, i) => sv / (sv * sv + n * lambda) * uty64[i]).ToArray(), ScalarType.Float64);   // (k)
            var w = vhCopy.t().matmul(coef).data<double>().ToArray();          // (D)
            double bias = ym - w.Select((wi, i) => wi * mean64[i]).Sum();
            return new LinearFit(w, [bias], (int)d, 1, 0, true);
        };
    }

    /// <summary>
    /// L-BFGS (two-loop recursion, memory 10) with a backtracking Armijo line search, on managed vectors;
    /// fg gives the objective and its gradient. Converged: the largest gradient entry fell below tol.
    /// </summary>
    internal static (double[] Theta, int Iterations, bool Converged) Lbfgs(Func<double[], (double, double[])> fg, double[] theta0,
        int maxIter, double tol, int memory = 10)
    {
        var theta = (double[])theta0.Clone();
        var (f, g) = fg(theta);
        var S = new List<double[]>();
        var Yv = new List<double[]>();
        var rho = new List<double>();
        int n = theta.Length;
        for (int it = 0; it < maxIter; it++)
        {
            if (MaxAbs(g) < tol) return (theta, it, true);
            // direction r = H g by the two-loop recursion
            var q = (double[])g.Clone();
            var a = new double[S.Count];
            for (int i = S.Count - 1; i >= 0; i--)
            {
                a[i] = rho[i] * Dot(S[i], q);
                Axpy(-a[i], Yv[i], q);
            }
            double gamma = S.Count > 0 ? Dot(S[^1], Yv[^1]) / Dot(Yv[^1], Yv[^1]) : 1.0 / Math.Max(1.0, Math.Sqrt(Dot(g, g)));
            for (int j = 0; j < n; j++) q[j] *= gamma;
            for (int i = 0; i < S.Count; i++) Axpy(a[i] - rho[i] * Dot(Yv[i], q), S[i], q);
            var dir = q;
            for (int j = 0; j < n; j++) dir[j] = -dir[j];
            double gd = Dot(g, dir);
            if (!(gd < 0))
            {
                // not a descent direction: restart from steepest descent
                S.Clear(); Yv.Clear(); rho.Clear();
                double gn = Math.Sqrt(Dot(g, g));
                for (int j = 0; j < n; j++) dir[j] = -g[j] / Math.Max(1.0, gn);
                gd = Dot(g, dir);
            }
            double step = 1;
            double[] next;
            double fNew;
            double[] gNew;
            while (true)
            {
                next = new double[n];
                for (int j = 0; j < n; j++) next[j] = theta[j] + step * dir[j];
                (fNew, gNew) = fg(next);
                if (fNew <= f + 1e-4 * step * gd) break;
                step *= 0.5;
                if (step < 1e-12) return (theta, it, MaxAbs(g) < tol);         // no decrease left at machine precision
            }
            var sv = new double[n];
            var yv = new double[n];
            for (int j = 0; j < n; j++) { sv[j] = next[j] - theta[j]; yv[j] = gNew[j] - g[j]; }
            double sy = Dot(sv, yv);
            if (sy > 1e-12 * Math.Sqrt(Dot(yv, yv) * Dot(sv, sv)))
            {
                S.Add(sv); Yv.Add(yv); rho.Add(1 / sy);
                if (S.Count > memory) { S.RemoveAt(0); Yv.RemoveAt(0); rho.RemoveAt(0); }
            }
            bool stalled = f - fNew <= 1e-15 * Math.Max(1, Math.Abs(f));
            theta = next; f = fNew; g = gNew;
            if (stalled) return (theta, it + 1, MaxAbs(g) < tol);
        }
        return (theta, maxIter, MaxAbs(g) < tol);
    }

    private static double Dot(double[] a, double[] b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += a[i] * b[i];
        return s;
    }

    private static void Axpy(double alpha, double[] x, double[] y)
    {
        for (int i = 0; i < x.Length; i++) y[i] += alpha * x[i];
    }

    private static double MaxAbs(double[] a)
    {
        double m = 0;
        foreach (var v in a) m = Math.Max(m, Math.Abs(v));
        return m;
    }
}
