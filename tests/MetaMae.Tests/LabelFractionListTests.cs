using System.Text.Json.Nodes;

namespace MetaMae.Tests;

/// <summary>Issue 31, item 2: several label fractions in one run, probed on the same frozen features.</summary>
public class LabelFractionListTests
{
    /// <summary>`run --label-fraction 0.1,1 --json`: rows for every (encoder, fraction), the flat fields of the first
    /// fraction, and a table with a column per fraction.</summary>
    [Fact]
    public void RunProbesEveryFractionAndReportsARowEach()
    {
        var (code, stdout, err, _) = SharedRuns.TinyDnaSplice;
        Assert.True(code == 0, err);
        Assert.Contains("10% of the labels", stdout);
        Assert.Contains("100% of the labels", stdout);
        var j = JsonNode.Parse(stdout.Trim().Split('\n')[^1])!.AsObject();
        var rows = j["rows"]!.AsArray();
        Assert.Equal(6, rows.Count);
        foreach (var encoder in new[] { "metamae", "random_init", "raw_input" })
            Assert.Equal([0.1, 1.0], rows.Where(r => r!["encoder"]!.GetValue<string>() == encoder)
                .Select(r => r!["label_fraction"]!.GetValue<double>()).ToArray());
        double Test(string encoder, double f) => rows.Single(r => r!["encoder"]!.GetValue<string>() == encoder
            && r["label_fraction"]!.GetValue<double>() == f)!["test"]!.GetValue<double>();
        Assert.Equal(j["test"]!.GetValue<double>(), Test("metamae", 0.1));             // flat fields: the first fraction
        Assert.Equal(j["raw_input_test"]!.GetValue<double>(), Test("raw_input", 0.1));
        Assert.Equal(0.1, j["label_fraction"]!.GetValue<double>());
        Assert.True(rows.Where(r => r!["label_fraction"]!.GetValue<double>() == 0.1).All(r =>
            r!["probe_train_samples"]!.GetValue<int>() < 400));                          // 10% of 2000 (+ per-class minimum)
    }

    /// <summary>A fraction probed in a list gives the figure it gives alone (the features are the same, extracted once).</summary>
    [Fact]
    public void AFractionInAListGivesItsFigureAlone()
    {
        static JsonObject Probe(string fractions)
        {
            var (code, stdout, err) = CliTests.Metamae("probe", "--random-init", "--dataset", "dna-splice", "--preset", "tiny",
                "--label-fraction", fractions, "--threads", "2", "--json");
            Assert.True(code == 0, err);
            return JsonNode.Parse(stdout.Trim().Split('\n')[^1])!.AsObject();
        }
        var both = Probe("0.3,1")["rows"]!.AsArray();
        var alone = Probe("1")["rows"]!.AsArray();
        Assert.Equal(2, both.Count);
        Assert.Equal(alone.Single()!["test"]!.GetValue<double>(), both[1]!["test"]!.GetValue<double>());
        var (c, _, e) = CliTests.Metamae("probe", "--raw-input", "--label-fraction", "0.5,0.5");
        Assert.Equal(2, c);
        Assert.Contains("--label-fraction lists a fraction twice", e);
        (c, _, e) = CliTests.Metamae("probe", "--raw-input", "--label-fraction", "0.1,1.5");
        Assert.Equal(2, c);
        Assert.Contains("--label-fraction must be in (0, 1]", e);
    }
}
