using System.Text.Json.Nodes;
using MetaMae.Objectives;
using MetaMae.Training;

namespace MetaMae.Experiments;

/// <summary>
/// The CPU recipe of the README's "Which recipe to use" (issue 17, configs/campaign-recipe.json): the small preset,
/// batch 32, a linear warm-up over the first tenth of the steps then a cosine to 0 from a peak lr of 1e-3, 4000
/// steps. MetaMAE at the paper's Eq. 1 inner-loss scaling (inner loss "paper", alpha 1): the scaling under which the
/// latent adaptation moves the latent at all (1e-2 to 8e-2; the authors' scaling moves it by about 1e-4, a measured
/// no-op, so MetaMAE would be MAE plus a contrast term) and the one whose lead over MAE on speech-digits was
/// confirmed on fresh seeds (results/confirm-speech). On dna-splice alpha 1 fails on half the seeds (the adaptation takes
/// over early; results/first-command), so the README's first command takes the paper's Genomics value there
/// (`--alpha 0.1`). The recipe's alpha stays 1: at 0.1 satellite scores the same (10 seeds) and spambase still trails
/// its raw input (6 seeds; results/recipe-alpha), and speech-digits, whose lead was measured at 1, is not measured at 0.1.
/// </summary>
public static class CpuRecipe
{
    public const string Preset = "small";
    public const int Batch = 32;
    public const double Lr = 1e-3;
    public const int Steps = 4000;
    public const int WarmupSteps = 400;
    public const LrSchedule Schedule = Training.LrSchedule.Cosine;
    public const InnerLossScaling MetaMaeInnerLoss = InnerLossScaling.Paper;
    public const double MetaMaeAlpha = 1.0;

    /// <summary>The warm-up for a step budget other than the recipe's: the same tenth of the steps.</summary>
    public static int WarmupFor(int steps) => (int)((long)steps * WarmupSteps / Steps);

    /// <summary>A plan row's settings for algorithm algo at the recipe with this many steps; the batch is at most
    /// the training samples (a small table of the user's own may have fewer than 32).</summary>
    public static Dictionary<string, JsonNode?> Settings(string algo, int steps, int trainCount)
    {
        var s = new Dictionary<string, JsonNode?>
        {
            ["lr_schedule"] = EnumNames<LrSchedule>.Of(Schedule), ["lr"] = Lr, ["warmup_steps"] = WarmupFor(steps),
            ["batch"] = Math.Min(Batch, trainCount),
        };
        if (algo == Algorithms.MetaMae)
        {
            s["inner_loss"] = EnumNames<InnerLossScaling>.Of(MetaMaeInnerLoss);
            s["alpha"] = MetaMaeAlpha;
        }
        return s;
    }

    /// <summary>The recipe under a run's own settings (`run --recipe cpu`): every setting the user left unset takes the
    /// recipe's value; what the user gave stays.</summary>
    public static RunOverrides Fill(RunOverrides user, string algo, int trainCount)
    {
        int steps = user.Steps ?? Steps;
        return user with
        {
            Steps = steps, Batch = user.Batch ?? Math.Min(Batch, trainCount), Lr = user.Lr ?? Lr,
            LrSchedule = user.LrSchedule ?? Schedule, WarmupSteps = user.WarmupSteps ?? WarmupFor(steps),
            InnerLoss = algo == Algorithms.MetaMae ? user.InnerLoss ?? MetaMaeInnerLoss : user.InnerLoss,
            Alpha = algo == Algorithms.MetaMae ? user.Alpha ?? MetaMaeAlpha : user.Alpha,
        };
    }

    /// <summary>One line for tables and logs.</summary>
    public static string Describe(string preset, int steps) =>
        $"preset {preset}, batch {Batch}, warm-up {WarmupFor(steps)} + cosine at peak lr {Lr:0.####}, {steps} steps; " +
        $"MetaMAE at the paper's inner-loss scaling (alpha {MetaMaeAlpha:0.#})";
}
