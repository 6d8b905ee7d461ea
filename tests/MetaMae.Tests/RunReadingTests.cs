using MetaMae.Cli;
using MetaMae.Evaluation;

namespace MetaMae.Tests;

/// <summary>The line under `metamae run`'s table: per label fraction, the pretrained encoder against the raw input and
/// the untrained encoder, as the README's first command's seed 4 needed (below both references, and nothing said so).
/// </summary>
public class RunReadingTests
{
    private static ProbeResult R(double test) => new("accuracy", test, test, 0, 0, test, test, [], [], 10, 10, 10);

    [Theory]
    [InlineData(0.94, 0.72, 0.90, RunReading.Standing.AboveBoth)]
    [InlineData(0.88, 0.72, 0.90, RunReading.Standing.BelowRawInput)]
    [InlineData(0.80, 0.85, 0.75, RunReading.Standing.BelowRandomInit)]
    [InlineData(0.815, 0.880, 0.951, RunReading.Standing.BelowBoth)]
    [InlineData(0.90, 0.90, 0.90, RunReading.Standing.BelowBoth)]             // a tie is no gain
    public void TheStandingComparesWithBothReferences(double pretrained, double random, double raw, RunReading.Standing want)
        => Assert.Equal(want, RunReading.Of(pretrained, random, raw));

    [Fact]
    public void TheLineGivesEachFractionsDifferencesAndItsStanding()
    {
        // dna-splice's first command, seed 4 (results/first-command): 10% and 100% of the labels
        var line = RunReading.Line("metamae", 4, [0.1, 1], [R(0.6965), R(0.8153)], [R(0.5944), R(0.8803)],
            [R(0.9207), R(0.9511)]);
        Assert.StartsWith("reading, seed 4 (one draw, no interval): 10% of the labels: metamae - raw input -0.2242, " +
            "- random init +0.1021: below the raw input", line);
        Assert.Contains("; 100% of the labels: metamae - raw input -0.1358, - random init -0.0650: below both", line);
        Assert.Contains("metamae compare", line);
        Assert.Throws<ArgumentException>(() => RunReading.Line("mae", 0, [0.1, 1], [R(0.9)], [R(0.8)], [R(0.7)]));
    }

    [Fact]
    public void TheAdaptationNoteAdvisesASmallerAlphaOnlyWhereTheFeaturesFail()
    {
        // dna-splice seed 4 at alpha 1 (results/first-command): below the raw input at both fractions
        var failed = RunReading.AdaptationNote(180, 1, [R(0.6965), R(0.8153)], [R(0.9207), R(0.9511)]);
        Assert.StartsWith("note: at step 180 the pretraining warned", failed);
        Assert.Contains("Here too the features do not beat the raw input: a smaller --alpha (0.1", failed);
        // one fraction at the raw input's level is enough: a tie is no gain
        Assert.Contains("a smaller --alpha", RunReading.AdaptationNote(180, 1, [R(0.95), R(0.90)], [R(0.92), R(0.90)]));
        // satellite seed 0 at alpha 1 (results/precision-parity/satellite/fp32): warned at step 100, above the raw input
        var paid = RunReading.AdaptationNote(100, 1, [R(0.8780), R(0.9125)], [R(0.8310), R(0.8405)]);
        Assert.Contains("Here the features beat the raw input at every label fraction", paid);
        Assert.DoesNotContain("a smaller --alpha", paid);
        // spambase seed 4 at alpha 0.1 (results/recipe-alpha): warned at step 740, below the raw input; already at 0.1
        var small = RunReading.AdaptationNote(740, 0.1, [R(0.8893), R(0.9273)], [R(0.9338), R(0.9425)]);
        Assert.Contains("do not beat the raw input at --alpha 0.1 already", small);
        Assert.DoesNotContain("a smaller --alpha", small);
        Assert.Throws<ArgumentException>(() => RunReading.AdaptationNote(1, 1, [R(0.9)], [R(0.8), R(0.7)]));
    }
}
