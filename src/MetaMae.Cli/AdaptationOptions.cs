using System.CommandLine;
using MetaMae.Objectives;
using MetaMae.Training;

namespace MetaMae.Cli;

/// <summary>
/// Flags of the inner-loss scaling, the inner distance and the learning-rate schedule (issue 17):
/// defaults are the authors' code and the paper's constant rate (ObjectiveOptions, TrainOptions).
/// </summary>
public static partial class Cli
{
    static readonly Option<string?> InnerLossOpt = new Option<string?>("--inner-loss")
    {
        Description = "Inner (support) loss scaling: reference (the authors' code: per-sample mean over support " +
                      "tokens, default) or paper (Eq. 1: per-sample sum over support tokens)",
    }.AcceptOnlyFromAmong(ObjectiveOptions.InnerLosses);
    static readonly Option<string?> DistanceOpt = new Option<string?>("--distance")
    {
        Description = "d of the inner loss for continuous tokens: mse (mean of squares over a token's values, " +
                      "default), sq-l2 (sum of squares) or l2 (the norm); token inputs use cross-entropy, the outer loss mse",
    }.AcceptOnlyFromAmong(ObjectiveOptions.Distances);
    static readonly Option<string?> LrScheduleOpt = new Option<string?>("--lr-schedule")
    {
        Description = "Learning-rate schedule: constant (the paper's, default) or cosine (to 0 at the last step, " +
                      "as the MAE reference)",
    }.AcceptOnlyFromAmong(TrainOptions.LrSchedules);
    static readonly Option<int?> WarmupStepsOpt = new("--warmup-steps")
    {
        Description = "Linear learning-rate warm-up over the first N steps (default 0)",
    };

    /// <summary>The flags above, for the training commands; they define a run (a resume may not change them).</summary>
    static Option[] AdaptationFlags => [InnerLossOpt, DistanceOpt, LrScheduleOpt, WarmupStepsOpt];

    static ObjectiveOptions WithAdaptationFlags(ParseResult p, ObjectiveOptions o) => o with
    {
        InnerLoss = p.GetValue(InnerLossOpt) ?? o.InnerLoss,
        Distance = p.GetValue(DistanceOpt) ?? o.Distance,
    };

    static TrainOptions WithScheduleFlags(ParseResult p, TrainOptions t) => t with
    {
        LrSchedule = p.GetValue(LrScheduleOpt) ?? t.LrSchedule,
        WarmupSteps = p.GetValue(WarmupStepsOpt) ?? t.WarmupSteps,
    };
}
