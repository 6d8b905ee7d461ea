using System.Globalization;
using System.Text.Json.Nodes;
using MetaMae.Experiments;

namespace MetaMae.Tests;

/// <summary>The paired 95% interval of the scripts (scripts/pairstats.py) is the one the tables use
/// (ExperimentSuite.PairedDifference), for few and many seeds (issue 30: one rule, not two).</summary>
public class PairStatsTests
{
    [Fact]
    public void ThePythonIntervalIsTheSuites()
    {
        var rng = new Random(7);
        var sets = new[] { 2, 3, 5, 11, 17, 31, 45, 130 }
            .Select(n => Enumerable.Range(0, n).Select(_ => Math.Round(rng.NextDouble() * 0.1 - 0.03, 4)).ToArray())
            .ToArray();
        var lists = "[" + string.Join(",", sets.Select(d => "[" + string.Join(",",
            d.Select(v => v.ToString("R", CultureInfo.InvariantCulture))) + "]")) + "]";
        var (code, stdout, stderr) = Repo.Python("import json, pairstats; " +
            $"print(json.dumps([pairstats.paired_interval(d)[:2] for d in {lists}]))");
        Assert.True(code == 0, stderr);
        var py = JsonNode.Parse(stdout)!.AsArray();
        for (int i = 0; i < sets.Length; i++)
        {
            var d = sets[i];
            var results = d.SelectMany((v, s) => new[]
            {
                new CellResult("a", "c", s, "accuracy", 0.5 + v, 0, 0, [], false),
                new CellResult("b", "c", s, "accuracy", 0.5, 0, 0, [], false),
            }).ToList();
            var cs = ExperimentSuite.PairedDifference(results, new PlanPair("a", "b"), "c")!.Value;
            double mean = (double)py[i]![0]!, half = (double)py[i]![1]!;
            Assert.Equal(cs.Mean, mean, 9);
            Assert.True(Math.Abs((cs.Hi - cs.Mean) - half) <= 1e-3 * half,
                $"n={d.Length}: C# half-width {cs.Hi - cs.Mean:G6}, scripts {half:G6}");
        }
    }
}
