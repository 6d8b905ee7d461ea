using System.Text.Json.Nodes;
using MetaMae.Experiments;

namespace MetaMae.Tests;

/// <summary>scripts/cells.py, how the research scripts read bench-suite cells (issue 30): the algorithm, inner-loss
/// scaling, features, label fraction and seed come from each cell's result.json, not from its folder's name.</summary>
public class ScriptCellsTests
{
    [Fact]
    public void TheScriptsReadACellsSettingsFromItsResultNotItsFolder()
    {
        var dir = Tmp.Dir("script-cells");
        var planPath = Path.Combine(dir, "plan.json");
        File.WriteAllText(planPath, """
            {"name": "mini", "kind": "ablation", "preset": "tiny", "steps": 2, "seeds": [0], "datasets": ["dna-splice"],
             "rows": [{"label": "Raw", "algo": "raw-input", "settings": {"label_fraction": 0.5}},
                      {"label": "M", "algo": "metamae", "settings": {"inner_loss": "paper", "batch": 8,
                                                                     "features": "tokens"}}]}
            """);
        var outDir = Path.Combine(dir, "out");
        ExperimentSuite.Run(ExperimentPlan.Load(planPath), outDir);
        // a folder renamed by hand says nothing: the cells still read as what they ran
        Directory.Move(Path.Combine(outDir, "cells", "m"), Path.Combine(outDir, "cells", "mae__10__labels"));

        var (code, stdout, stderr) = Repo.Python(
            "from cells import load, identity; import json, os; " +
            $"cs = load([{Quote(outDir)}]); " +
            "print(json.dumps(sorted([c.row, c.dataset, c.seed, c.arm, c.features, c.fraction] for c in cs))); " +
            "print(json.dumps(identity(os.path.join(" + Quote(outDir) + ", 'cells', 'mae__10__labels', 'dna-splice', 's0')))); " +
            "from cells import metrics_paths, read_metrics; " +
            $"print(json.dumps([[os.path.basename(p), [r['step'] for r in read_metrics(p)]] for p in metrics_paths({Quote(outDir)})]))");
        Assert.True(code == 0, stderr);
        var lines = stdout.Trim().Split('\n');
        Assert.Equal("""[["M", "dna-splice", 0, "metamae_paper", "tokens", 1.0], ["Raw", "dna-splice", 0, "raw_input", "raw", 0.5]]""",
            lines[0]);
        Assert.Equal("""["M", "dna-splice", 0]""", lines[1]);
        Assert.Equal("""[["metrics.csv.gz", ["1", "2"]]]""", lines[2]);          // a finished cell's log, compressed

        // a cell written before results carried settings is refused, naming the file and the command that adds them
        var result = Path.Combine(outDir, "cells", "raw", "dna-splice", "s0", "result.json");
        var o = JsonNode.Parse(File.ReadAllText(result))!.AsObject();
        o.Remove("settings");
        File.WriteAllText(result, o.ToJsonString());
        (code, _, stderr) = Repo.Python($"from cells import load; load([{Quote(outDir)}])");
        Assert.NotEqual(0, code);
        Assert.Contains(result + ": no settings", stderr);
        Assert.Contains("--render", stderr);
    }

    static string Quote(string s) => "'" + s.Replace("\\", "\\\\").Replace("'", "\\'") + "'";
}
