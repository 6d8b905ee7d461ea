using System.Globalization;
using System.Text.Json.Nodes;
using MetaMae.Training;

namespace MetaMae.Tests;

/// <summary>The early sign of a collapsing MetaMAE run (AdaptationWatch), against the runs it was read from.</summary>
public class AdaptationWatchTests
{
    private static StepMetrics Row(int step, double recon, double gain) =>
        new(step, recon, recon, double.NaN, double.NaN, 0.05, gain, 0);

    [Fact]
    public void TheWatchFiresOnceOnThreeLoggedStepsAboveOnePercentInTheFirstQuarter()
    {
        var w = new AdaptationWatch(4000);
        Assert.False(w.Observe(Row(20, 1.4, 0.1)));                 // start-up: left out
        Assert.False(w.Observe(Row(40, 1.4, 0.1)));
        Assert.False(w.Observe(Row(60, 1.4, 0.02)));
        Assert.False(w.Observe(Row(80, 1.4, 0.02)));                // two logged steps: not yet a window
        Assert.False(w.Observe(Row(90, 1.4, double.NaN)));          // not a logging step: no measurement
        Assert.True(w.Observe(Row(100, 1.4, 0.02)));                // mean 1.43% of the reconstruction loss
        Assert.Equal(100, w.Step);
        Assert.Equal(0.02 / 1.4, w.RelativeGain, 9);
        Assert.False(w.Observe(Row(120, 1.4, 0.05)));               // once
        Assert.Contains("at step 100 the latent adaptation already lowers the support loss by 1.4% of", w.Warning());

        var late = new AdaptationWatch(4000);
        foreach (var s in new[] { 1020, 1040, 1060 }) Assert.False(late.Observe(Row(s, 1.3, 0.05)));   // after 1000
        var low = new AdaptationWatch(4000);
        foreach (var s in new[] { 60, 80, 100, 120 }) Assert.False(low.Observe(Row(s, 1.4, 0.013)));  // 0.93%
        Assert.Null(low.Step);
    }

    /// <summary>The runs the rule was read from (so a pin, not a validation): of the README's first command at fp32
    /// and at bf16, the watch fires on exactly the seeds whose pretrained encoder ended below the raw input with 10% of
    /// the labels (by more than 0.05: a failed seed, not a near tie).</summary>
    [Fact]
    public void OnTheFirstCommandsSeedsTheWatchFiresWhereTheEncoderEndedBelowTheRawInput()
    {
        int runs = 0, fired = 0;
        foreach (var folder in new[] { "results/first-command", "results/precision-parity/dna-splice/bf16" })
            foreach (var run in Directory.GetDirectories(Path.Combine(Repo.Root, folder), "s*").Order())
            {
                var result = JsonNode.Parse(File.ReadAllText(Path.Combine(run, "result.json")))!;
                double Test(string encoder) => result["rows"]!.AsArray().Single(r => (string?)r!["encoder"] == encoder
                    && (double)r["label_fraction"]! == 0.1)!["test"]!.GetValue<double>();
                bool below = Test("metamae") < Test("raw_input") - 0.05;                 // failed, not a near tie
                var lines = File.ReadAllLines(Path.Combine(run, "pretrain", "metrics.csv"));
                var head = lines[0].Split(',').ToList();
                int step = head.IndexOf("step"), recon = head.IndexOf("reconstruction"), gain = head.IndexOf("inner_gain");
                var w = new AdaptationWatch(4000);
                foreach (var f in lines.Skip(1).Select(l => l.Split(',')))
                    w.Observe(Row(int.Parse(f[step], CultureInfo.InvariantCulture),
                        double.Parse(f[recon], CultureInfo.InvariantCulture),
                        f[gain] == "" ? double.NaN : double.Parse(f[gain], CultureInfo.InvariantCulture)));
                Assert.True(below == w.Step is not null, $"{run}: below the raw input {below}, warned at {w.Step}");
                runs++;
                if (w.Step is not null) fired++;
            }
        Assert.True(runs >= 10 && fired >= 2, $"{runs} runs, {fired} warned");
    }
}
