using System.Text.Json.Nodes;

namespace MetaMae.Tests;

/// <summary>`metamae datasets --root` and `metamae run --root DIR --dataset NAME` on DABS fixtures.</summary>
public class DabsCliTests
{
    [Fact]
    public void DatasetsRootReportsPresenceAndRunTrainsOnCifarFixture()
    {
        var root = Tmp.Dir("dabsroot");
        var cifar = DabsMediaTests.CifarDir();
        Directory.Move(cifar, Path.Combine(root, "cifar-10-batches-bin"));
        var (code, output, err) = CliTests.Metamae("datasets", "--root", root, "--json");
        Assert.True(code == 0, err);
        var arr = JsonNode.Parse(output.Trim().Split('\n')[^1])!.AsArray();
        Assert.Equal(23, arr.Count);
        Assert.True(arr.Single(e => (string)e!["name"]! == "cifar10")!["present"]!.GetValue<bool>());
        Assert.False(arr.Single(e => (string)e!["name"]! == "pamap2")!["present"]!.GetValue<bool>());

        (code, output, err) = CliTests.Metamae("run", "--root", root, "--dataset", "cifar10", "--preset", "tiny", "--steps", "2", "--batch", "4",
            "--probe-epochs", "2", "--threads", "1", "--out", Path.Combine(root, "run"), "--json");
        Assert.True(code == 0, err);
        var r = JsonNode.Parse(output.Trim().Split('\n')[^1])!;
        Assert.Equal("cifar10", (string)r["dataset"]!);
        Assert.Equal(2, (int)r["steps"]!);

        (code, _, err) = CliTests.Metamae("run", "--root", root, "--dataset", "pamap2", "--preset", "tiny", "--steps", "1");
        Assert.Equal(2, code);
        Assert.Contains("PAMAP2_Dataset/Protocol: not found", err);
    }
}
