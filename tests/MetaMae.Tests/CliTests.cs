using System.Diagnostics;
using System.Text.Json.Nodes;

namespace MetaMae.Tests;

/// <summary>The `metamae` command as users and scripts call it (a child process, like a shell).</summary>
public class CliTests
{
    internal static (int Code, string Out, string Err) Metamae(params string[] args) => MetamaeWithEnv(new Dictionary<string, string>(), args);

    internal static (int Code, string Out, string Err) MetamaeWithEnv(IReadOnlyDictionary<string, string> env, params string[] args)
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "MetaMae.Cli.dll");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var (k, v) in env) psi.Environment[k] = v;
        psi.ArgumentList.Add(dll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, output, err.Result);
    }

    [Theory]
    [InlineData(new[] { "run", "--bogus" }, "--bogus")]
    [InlineData(new[] { "run", "--dataset", "nope" }, "unknown dataset 'nope'")]
    [InlineData(new[] { "pretrain", "--steps", "zero" }, "zero")]
    [InlineData(new[] { "pretrain", "--steps", "0" }, "--steps must be >= 1")]
    [InlineData(new[] { "run", "--algo", "simclr" }, "simclr")]
    [InlineData(new[] { "run", "--mask-ratio", "1.5", "--preset", "tiny" }, "mask-ratio")]
    [InlineData(new[] { "probe", "--checkpoint", "/nonexistent.safetensors" }, "/nonexistent.safetensors")]
    public void BadUsageGetsOneClearLineAndExitCode2(string[] args, string mentions)
    {
        var (code, _, err) = Metamae(args);
        Assert.Equal(2, code);
        var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("error: ", lines[0]);
        Assert.Contains(mentions, lines[0]);
    }

    /// <summary>The CPU-scale preset is a name every command accepts, and a checkpoint made with it is reported and
    /// resumed as that preset, not as "custom".</summary>
    [Fact]
    public void TheSmallPresetRunsAndIsNamedInTheResult()
    {
        var dir = Tmp.Dir("cli-small");
        var (code, output, err) = Metamae("run", "--preset", "small", "--steps", "2", "--batch", "8", "--probe-epochs", "1",
            "--threads", "2", "--out", dir, "--json");
        Assert.True(code == 0, err);
        Assert.Equal("small", (string?)JsonNode.Parse(output.Trim().Split('\n')[^1])!["preset"]);
        var cfg = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "pretrain", "config.json")))!;
        Assert.Equal(128, (int)cfg["model"]!["enc_dim"]!);
        Assert.Equal(4, (int)cfg["model"]!["enc_depth"]!);
        var (bad, _, berr) = Metamae("run", "--preset", "medium", "--steps", "1");
        Assert.NotEqual(0, bad);
        Assert.Contains("small", berr);
    }

    [Fact]
    public void RunPrintsTheDocumentedJsonAndPretrainResumes()
    {
        var (code, output, err, dir) = SharedRuns.TinyDnaSplice;
        Assert.True(code == 0, err);
        var json = JsonNode.Parse(output.Trim().Split('\n')[^1])!.AsObject();
        foreach (var k in new[] { "dataset", "algo", "metric", "test", "random_init_test", "steps" }) Assert.True(json.ContainsKey(k), k);
        Assert.Equal("dna-splice", (string?)json["dataset"]);
        Assert.Equal(3, (int)json["steps"]!);
        Assert.True(File.Exists(Path.Combine(dir, "result.json")));

        var pdir = Path.Combine(dir, "p");
        var a = Metamae("pretrain", "--preset", "tiny", "--steps", "4", "--batch", "16", "--out", pdir, "--json");
        Assert.True(a.Code == 0, a.Err);
        var pj = JsonNode.Parse(a.Out.Trim().Split('\n')[^1])!.AsObject();
        Assert.Equal(4, (int)pj["steps"]!);
        Assert.True(File.Exists((string)pj["checkpoint"]!));
        var again = Metamae("pretrain", "--preset", "tiny", "--steps", "4", "--batch", "16", "--out", pdir);
        Assert.Equal(2, again.Code);
        var changed = Metamae("pretrain", "--out", pdir, "--resume", "--steps", "6", "--alpha", "0.3");
        Assert.Equal(2, changed.Code);
        Assert.Contains("--alpha", changed.Err);
        var more = Metamae("pretrain", "--out", pdir, "--resume", "--steps", "6", "--json");
        Assert.True(more.Code == 0, more.Err);
        Assert.Contains("resuming from step 4", more.Err);
        Assert.Equal(6, (int)JsonNode.Parse(more.Out.Trim().Split('\n')[^1])!["steps"]!);

        var probe = Metamae("probe", "--checkpoint", (string)pj["checkpoint"]!, "--probe-epochs", "2", "--json");
        Assert.True(probe.Code == 0, probe.Err);
        Assert.Equal("accuracy", (string?)JsonNode.Parse(probe.Out.Trim().Split('\n')[^1])!["metric"]);
    }

    [Fact]
    public void DatasetsListsDnaSplice()
    {
        var (code, output, _) = Metamae("datasets", "--json");
        Assert.Equal(0, code);
        var arr = JsonNode.Parse(output.Trim().Split('\n')[^1])!.AsArray();
        var dna = arr.Single(d => (string?)d!["name"] == "dna-splice")!;
        Assert.Equal(3, (int)dna["classes"]!);
        Assert.Equal(2000, (int)dna["train"]!);
    }
}
