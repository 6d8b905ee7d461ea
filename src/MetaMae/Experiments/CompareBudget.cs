using System.Diagnostics;
using MetaMae.Data;
using MetaMae.Evaluation;
using MetaMae.Model;
using MetaMae.Training;
using static TorchSharp.torch;

namespace MetaMae.Experiments;

/// <summary>Measured speeds of a comparison's cells on its data: seconds per MAE and MetaMAE step (median of the timed
/// steps after warm-up ones) and of one probe; MeasureSeconds: what measuring took.</summary>
public sealed record CompareSpeed(double MaeStep, double MetaMaeStep, double Probe, double MeasureSeconds)
{
    /// <summary>Seconds of all cells of a comparison: 2 pretrainings per seed (MAE, MetaMAE; the label fractions share
    /// them) and 4 probes per seed and label fraction (each priced as the measured one).</summary>
    public double Seconds(int steps, int seeds, int fractions) =>
        seeds * steps * (MaeStep + MetaMaeStep) + 4.0 * seeds * fractions * Probe;

    /// <summary>A prior for a cell's seconds (the suite's ETA until a cell of the row has run): a probe, plus the
    /// pretraining for the row that runs it (the first row of its algorithm).</summary>
    public double CellSeconds(ExperimentPlan plan, PlanRow row, int steps)
    {
        double step = row.Algo == Objectives.Algorithms.Mae ? MaeStep
            : row.Algo == Objectives.Algorithms.MetaMae ? MetaMaeStep : 0;
        bool pretrains = plan.Rows.First(r => r.Algo == row.Algo) == row;
        return Probe + (pretrains ? steps * step : 0);
    }
}

/// <summary>`compare --budget`: measures the speed of a comparison's cells on its data, then picks the pretraining
/// steps that fit the budget.</summary>
public static class CompareBudget
{
    /// <summary>Fewest steps a budget may leave: fewer pretrain nothing worth comparing.</summary>
    public const int MinSteps = 10;

    /// <summary>Times warm + timed real steps of the plan's MAE and MetaMAE rows on the data (seed of the plan's first,
    /// in a temporary folder, deleted after) and one probe of the random-init encoder at the largest label fraction.
    /// </summary>
    public static CompareSpeed Measure(ExperimentPlan plan, Dataset ds, Table8Row preset, int warm = 2, int timed = 4)
    {
        var clock = Stopwatch.StartNew();
        long seed = plan.Seeds[0];
        double Step(string algo)
        {
            var row = plan.Rows.First(r => r.Algo == algo);
            var cfg = plan.CellConfig(row, ds.Name, ds.Spec, preset, seed);
            cfg = cfg with
            {
                Train = cfg.Train with { Steps = warm + timed, WarmupSteps = 0, SaveEvery = 0, LogEvery = 1000 },
            };
            var dir = Directory.CreateTempSubdirectory("metamae-compare-speed-").FullName;
            try
            {
                var times = new StepTimes();
                var r = Pretrainer.Run(ds.Train.X, cfg, dir, monitor: times,
                    missingCells: ds.Report is { MissingTrain: > 0 });
                r.Model.Dispose();
                var each = times.Seconds.Select((s, i) => s - (i == 0 ? 0 : times.Seconds[i - 1])).Skip(warm).ToList();
                return StepBenchmark.Median(each);
            }
            finally { Directory.Delete(dir, recursive: true); }
        }
        double mae = Step(Objectives.Algorithms.Mae), meta = Step(Objectives.Algorithms.MetaMae);
        var rnd = plan.Rows.Where(r => r.Algo == Objectives.Algorithms.RandomInit)
            .MaxBy(r => plan.ProbeOf(r, preset, seed).LabelFraction)!;
        var probeClock = Stopwatch.StartNew();
        using (var model = Pretrainer.CreateModel(plan.CellConfig(rnd, ds.Name, ds.Spec, preset, seed), CPU))
            LinearProbe.Run(model, ds, plan.ProbeOf(rnd, preset, seed));
        return new CompareSpeed(mae, meta, probeClock.Elapsed.TotalSeconds, clock.Elapsed.TotalSeconds);
    }

    /// <summary>The most steps (at most the recipe's) whose cells fit budget after the measuring already spent; a
    /// budget that leaves fewer than <see cref="MinSteps"/> is an ArgumentException saying what would fit.</summary>
    public static int StepsFor(TimeSpan budget, CompareSpeed speed, int seeds, int fractions, string budgetText)
    {
        double left = budget.TotalSeconds - speed.MeasureSeconds - speed.Seconds(0, seeds, fractions);
        double perStep = seeds * (speed.MaeStep + speed.MetaMaeStep);
        int steps = (int)Math.Min(CpuRecipe.Steps, Math.Floor(left / perStep));
        if (steps < MinSteps)
        {
            var need = TimeSpan.FromSeconds(speed.MeasureSeconds + speed.Seconds(MinSteps, seeds, fractions));
            var probes = TimeSpan.FromSeconds(speed.Seconds(0, seeds, fractions));
            throw new ArgumentException($"--budget {budgetText} is too small for {seeds} seeds and {fractions} label " +
                $"fraction(s): the probes alone take about {ExperimentSuite.Duration(probes)} and {MinSteps} steps need " +
                $"about {ExperimentSuite.Duration(need)} in all (give --budget at least that, or fewer --seeds)");
        }
        return steps;
    }

    private sealed class StepTimes : ITrainingMonitor
    {
        public List<double> Seconds { get; } = [];
        public void OnStepDone(StepMetrics metrics, MetaMaeModel model) => Seconds.Add(metrics.Seconds);
    }
}
