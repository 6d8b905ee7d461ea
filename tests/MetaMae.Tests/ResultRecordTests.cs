using System.Text.Json.Nodes;
using MetaMae.Evaluation;
using Xunit;

namespace MetaMae.Tests;

/// <summary>ProbeRow, the one result record of run, probe and bench-suite (issue 30): its JSON names, NaN as null, and
/// that stored rows read back.</summary>
public class ResultRecordTests
{
    static readonly string[] Keys =
    [
        "encoder", "label_fraction", "metric", "test", "validation", "test_accuracy", "test_weighted_f1", "features",
        "probe", "regularization", "probe_converged", "best_epoch", "probe_train_samples", "probe_protocol",
    ];

    /// <summary>Every field of the row (rows[0] of o unless given) is in o under PREFIX + its key with the same value.</summary>
    internal static void AssertFlatKeysAreTheRow(JsonObject o, string prefix, JsonObject? row = null)
    {
        row ??= o["rows"]![0]!.AsObject();
        Assert.Equal(Keys, row.Select(kv => kv.Key));
        foreach (var (k, v) in row)
            if (k != "encoder")
                Assert.True(JsonNode.DeepEquals(v, o[prefix + k]), $"{prefix}{k}: row {v?.ToJsonString()}, flat " +
                    o[prefix + k]?.ToJsonString());
    }

    [Fact]
    public void ARowWritesSnakeCaseKeysEnumNamesAndNaNAsNullAndReadsBack()
    {
        var record = new ProbeRecord("paper", false, "adam", 1e-4, 1e-4, 100, 0, 64, ProbeRecord.BestValidationEpoch);
        var row = new ProbeRow("metamae", 0.1, "spearman", 0.5, 0.6, double.NaN, double.NaN, "mean", ProbeProtocol.Paper,
            1e-4, false, 37, 210, record);
        var json = row.ToJson();
        Assert.Equal(Keys, json.Select(kv => kv.Key));
        Assert.Equal("paper", (string?)json["probe"]);
        Assert.Null(json["test_accuracy"]);
        Assert.Equal(37, (int)json["best_epoch"]!);
        Assert.Equal(1e-4, (double)json["probe_protocol"]!["weight_decay"]!);
        var back = ProbeRow.FromJson(JsonNode.Parse(json.ToJsonString())!, "test");
        Assert.True(double.IsNaN(back.TestAccuracy));
        Assert.Equal(row with { TestAccuracy = 0, TestWeightedF1 = 0 }, back with { TestAccuracy = 0, TestWeightedF1 = 0 });

        var converged = new ProbeRecord("converged", true, "lbfgs", double.NaN, 1e-3, 0, 12, 0, ProbeRecord.ChosenPenalty);
        Assert.Null(converged.ToJson()["lr"]);
        var bad = JsonNode.Parse("""{"encoder": "mae", "probe": "sometimes"}""")!;
        Assert.Contains("cell.json", Assert.Throws<InvalidDataException>(() => ProbeRow.FromJson(bad, "cell.json")).Message);
    }
}
