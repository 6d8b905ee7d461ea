namespace MetaMae.Tests;

/// <summary>results/INDEX.md (scripts/results-index.py) lists every entry of results/, and scripts/README.md every
/// script (issue 30, item 5).</summary>
public class ResultsIndexTests
{
    [Fact]
    public void EveryResultsEntryIsInTheIndex()
    {
        var root = Path.Combine(Repo.Root, "results");
        var index = File.ReadAllText(Path.Combine(root, "INDEX.md"));
        var missing = Directory.EnumerateFileSystemEntries(root).Select(Path.GetFileName)
            .Where(n => n is not ("INDEX.md" or "README.md") && !n!.StartsWith('.'))
            .Where(n => !index.Contains($"]({n})")).ToList();
        Assert.True(missing.Count == 0,
            $"results/INDEX.md misses {string.Join(", ", missing)}: run scripts/results-index.py");
    }

    [Fact]
    public void EveryScriptIsInTheScriptsIndex()
    {
        var root = Path.Combine(Repo.Root, "scripts");
        var index = File.ReadAllText(Path.Combine(root, "README.md"));
        var missing = Directory.EnumerateFiles(root).Select(Path.GetFileName)
            .Where(n => n is not "README.md" && !n!.StartsWith('.') && !index.Contains($"| `{n}` |")).ToList();
        Assert.True(missing.Count == 0, $"scripts/README.md does not list {string.Join(", ", missing)}");
    }
}
