using System.Globalization;
using MetaMae.Evaluation;

namespace MetaMae.Cli;

/// <summary>
/// The line under `metamae run`'s table that says, per label fraction, whether the pretrained encoder's features beat
/// the two references a pretraining has to beat: the raw input (no encoder) and the same encoder untrained. One seed is
/// one draw, so the line gives the differences, not a verdict on the method: on dna-splice at the CPU recipe's alpha
/// 1, 5 seeds in 10 scored below the others (results/first-command), most of them below the raw input.
/// </summary>
public static class RunReading
{
    /// <summary>Where a pretrained encoder's test metric (higher is better: accuracy, Spearman) stands against the
    /// raw input's and the random-init encoder's.</summary>
    public enum Standing { AboveBoth, BelowRawInput, BelowRandomInit, BelowBoth }

    public static Standing Of(double pretrained, double randomInit, double rawInput) =>
        (pretrained > rawInput, pretrained > randomInit) switch
        {
            (true, true) => Standing.AboveBoth,
            (false, true) => Standing.BelowRawInput,
            (true, false) => Standing.BelowRandomInit,
            (false, false) => Standing.BelowBoth,
        };

    private static string Say(Standing s) => s switch
    {
        Standing.AboveBoth => "above both: pretraining paid on this seed",
        Standing.BelowRawInput => "below the raw input: the features add nothing the input lacks",
        Standing.BelowRandomInit => "below the untrained encoder: pretraining hurt",
        _ => "below both: pretraining did not pay on this seed",
    };

    /// <summary>"reading, seed 4 (one draw, no interval): 10% of the labels: metamae - raw input -0.2242, - random init
    /// +0.1021: below the raw input: ...; 100% ...; ..." (fractions[i] goes with pretrained[i], randomInit[i],
    /// rawInput[i]).</summary>
    public static string Line(string algo, long seed, IReadOnlyList<double> fractions, IReadOnlyList<ProbeResult> pretrained,
        IReadOnlyList<ProbeResult> randomInit, IReadOnlyList<ProbeResult> rawInput)
    {
        if (fractions.Count == 0 || pretrained.Count != fractions.Count || randomInit.Count != fractions.Count
            || rawInput.Count != fractions.Count)
            throw new ArgumentException("one probe result per label fraction for each of the three rows");
        static string D(double d) => d.ToString("+0.0000;-0.0000", CultureInfo.InvariantCulture);
        var parts = fractions.Select((f, i) =>
        {
            double p = pretrained[i].Test, r = randomInit[i].Test, x = rawInput[i].Test;
            return $"{f.ToString("0.###%", CultureInfo.InvariantCulture)} of the labels: {algo} - raw input {D(p - x)}, " +
                $"- random init {D(p - r)}: {Say(Of(p, r, x))}";
        });
        return $"reading, seed {seed} (one draw, no interval): {string.Join("; ", parts)}. Seeds differ: " +
            "`metamae compare` runs several and gives intervals.";
    }

    /// <summary>The smaller inner step the note advises: the paper's Genomics alpha (Table 8), the README's first command
    /// on dna-splice (scripts/first-command.sh), where it rescued every seed the watch flagged at alpha 1.</summary>
    public const double SmallAlpha = 0.1;

    /// <summary>Under the reading, when the pretraining's AdaptationWatch warned: what the warning meant where it was
    /// read from, against what this run's probe shows. It advises a smaller --alpha only when the features fall to or
    /// below the raw input at some label fraction (the failure the warning stood for on dna-splice) and the run's alpha is
    /// above <see cref="SmallAlpha"/> (at 0.1 a smaller step did not help spambase: results/recipe-alpha); where they beat
    /// the raw input at every fraction it says the failure did not show (on satellite at alpha 1 the watch fired on all
    /// 20 runs of 10 seeds, both precisions, and every run beat its raw input: results/precision-parity).</summary>
    public static string AdaptationNote(int step, double alpha, IReadOnlyList<ProbeResult> pretrained,
        IReadOnlyList<ProbeResult> rawInput)
    {
        string small = SmallAlpha.ToString(CultureInfo.InvariantCulture);
        if (pretrained.Count == 0 || pretrained.Count != rawInput.Count)
            throw new ArgumentException("one probe result per label fraction for the pretrained and the raw-input rows");
        string head = $"note: at step {step} the pretraining warned that the latent adaptation took over early (its " +
            "log says how much); on dna-splice at alpha 1 every run that did so (5 of 10 seeds) scored below every run " +
            $"that did not, most below the raw input, and none of the five failed at --alpha {small}.";
        bool failed = pretrained.Zip(rawInput).Any(p => p.First.Test <= p.Second.Test);
        if (failed && alpha > SmallAlpha)
            return head + $" Here too the features do not beat the raw input: a smaller --alpha ({small}; 0 turns the " +
                "adaptation off) is what to try.";
        if (failed)
            return head + " Here the features do not beat the raw input at --alpha " +
                $"{alpha.ToString(CultureInfo.InvariantCulture)} already; on spambase at {small} the warning fired on 5 " +
                "of 6 runs and a smaller step did not help (results/recipe-alpha): --alpha 0 turns the adaptation off, " +
                "and `metamae compare` shows whether any pretraining pays on this data.";
        return head + " Here the features beat the raw input at every label fraction, so that failure did not show on " +
            "this seed (on satellite it fired on every run, and every run beat the raw input).";
    }
}
