using System.Globalization;

namespace MetaMae.Training;

/// <summary>
/// The early sign of a MetaMAE run whose features collapse, found on the README's first command
/// (results/first-command/README.md, 2026-12-07): on dna-splice at --recipe cpu, the 2 of 7 seeds whose pretrained
/// encoder fell below the raw input (seeds 4 and 6, at fp32 and at bf16 alike) had the inner step lower the support
/// loss by 2.2-5.6% of the reconstruction loss already inside the first 400 steps (the lr warm-up), while on the other
/// 5 seeds it stayed at 0.34% or less until past half the run. Seed 4 with the adaptation off (--alpha 0), all else
/// equal, did not collapse (0.950 against 0.697 with 10% of the labels), and neither did MAE on it (0.951).
/// One dataset's evidence: the watch says what it saw and what that meant there, and changes nothing in the run.
/// </summary>
/// <param name="totalSteps">The run's step budget: the first quarter of it is watched.</param>
public sealed class AdaptationWatch(int totalSteps)
{
    /// <summary>Inner gain over reconstruction loss that counts as the adaptation taking over: the failing runs above
    /// reached 2.2-5.6%, the others 0.34% at most (a 3x margin both ways).</summary>
    public const double Threshold = 0.01;

    /// <summary>Logged steps averaged: the gain is measured on logging steps only, and one step's is noisy.</summary>
    public const int Window = 3;

    /// <summary>Steps left out at the start: start-up transients (up to 0.34% at step 60 on the good seeds).</summary>
    public const int SkipSteps = 50;

    private readonly Queue<double> recent = new();

    /// <summary>The step at which the sign showed; null while it has not.</summary>
    public int? Step { get; private set; }

    /// <summary>The mean relative inner gain at that step.</summary>
    public double RelativeGain { get; private set; } = double.NaN;

    /// <summary>Feeds one step's metrics; true the one time the sign shows (the first quarter of the run only).</summary>
    public bool Observe(StepMetrics m)
    {
        if (Step is not null || double.IsNaN(m.InnerGain) || m.Step <= SkipSteps || m.Step > totalSteps / 4
            || !(m.Reconstruction > 0))
            return false;
        recent.Enqueue(m.InnerGain / m.Reconstruction);
        if (recent.Count > Window) recent.Dequeue();
        if (recent.Count < Window || recent.Average() < Threshold) return false;
        (Step, RelativeGain) = (m.Step, recent.Average());
        return true;
    }

    /// <summary>The line a user reads when the sign shows.</summary>
    public string Warning() =>
        $"warning: at step {Step} the latent adaptation already lowers the support loss by " +
        $"{(100 * RelativeGain).ToString("0.0", CultureInfo.InvariantCulture)}% of the " +
        $"reconstruction loss (mean of the last {Window} logged steps, in the run's first quarter). On dna-splice at " +
        "--recipe cpu the 2 of 7 seeds that did this ended with partly collapsed features (below the raw input), and " +
        "one of them with --alpha 0 did not; another --seed or --alpha 0 is what to try if the probe says the same";
}
