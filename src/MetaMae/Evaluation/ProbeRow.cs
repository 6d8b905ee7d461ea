using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace MetaMae.Evaluation;

/// <summary>
/// One probe figure, the one result record every result file stores (issue 30): the rows of `run`, `probe` and a
/// bench-suite cell, and the flat keys of `run --json` (the first label fraction's row, prefixed per encoder).
/// Serialised by System.Text.Json (<see cref="Json"/>): snake_case keys, enums by their JSON names, a value that is
/// not a number (a regression's accuracy, a probe that has no learning rate) written as null. The scripts read this
/// record, and the cell's "settings", never folder names.
/// </summary>
/// <param name="Encoder">The features' source: an algorithm's name (mae, metamae, ...), random_init, raw_input, or
/// checkpoint (`probe --checkpoint`).</param>
/// <param name="LabelFraction">The fraction of the training labels the head saw.</param>
/// <param name="Metric">accuracy, weighted_f1, spearman, ... (the dataset's metric).</param>
/// <param name="Test">The metric on the test split, read as <see cref="ProbeRecord.Read"/> says.</param>
/// <param name="Validation">The metric on the validation split at the chosen epoch or L2 strength.</param>
/// <param name="TestAccuracy">Test accuracy (NaN for regression).</param>
/// <param name="TestWeightedF1">Test weighted F1 (NaN for regression).</param>
/// <param name="Features">mean, cls, tokens or raw.</param>
/// <param name="Probe">The probe kind.</param>
/// <param name="Regularization">Converged: the L2 strength chosen on validation; paper: Adam's weight decay.</param>
/// <param name="ProbeConverged">Converged: the final fit met the gradient tolerance; paper: the best epoch is not in
/// the last 10%.</param>
/// <param name="BestEpoch">Paper: the epoch read (best on validation); null for the converged probe.</param>
/// <param name="ProbeTrainSamples">Labelled samples the head was fitted on (train + validation).</param>
/// <param name="ProbeProtocol">The whole protocol (optimiser, lr, weight decay, epochs, batch, standardised, read).</param>
public sealed record ProbeRow(string Encoder, double LabelFraction, string Metric, double Test, double Validation,
    double TestAccuracy, double TestWeightedF1, string Features, ProbeProtocol Probe, double Regularization,
    bool ProbeConverged, int? BestEpoch, int ProbeTrainSamples, ProbeRecord? ProbeProtocol)
{
    /// <summary>The serialisation of result records: snake_case, enums by name, NaN and infinities as null.</summary>
    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower), new NonFiniteAsNull() },
    };

    /// <summary>The row of probe result r of the features of encoder.</summary>
    public static ProbeRow Of(string encoder, ProbeResult r) => new(encoder, r.LabelFraction, r.Metric, r.Test,
        r.Validation, r.TestAccuracy, r.TestWeightedF1, r.Features, r.Protocol, r.Regularization, r.Converged,
        r.Protocol == Evaluation.ProbeProtocol.Paper ? r.BestEpoch : null, r.TrainCount + r.ValidationCount, r.Record);

    public JsonObject ToJson() => JsonSerializer.SerializeToNode(this, Json)!.AsObject();

    /// <summary>Writes every field but the encoder into o as PREFIX + key: the flat keys of a result file, which
    /// therefore always equal its row.</summary>
    public void AddFlat(JsonObject o, string prefix = "")
    {
        foreach (var (k, v) in ToJson())
            if (k != "encoder") o[prefix + k] = v?.DeepClone();
    }

    /// <summary>A stored row; rows written before a field existed read it as its default (NaN for numbers).</summary>
    public static ProbeRow FromJson(JsonNode node, string source)
    {
        try
        {
            return node.Deserialize<ProbeRow>(Json) ?? throw new InvalidDataException($"{source}: empty probe row");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{source}: a probe row is malformed ({e.Message})", e);
        }
    }

    /// <summary>Writes NaN and infinities as null (JSON has no such numbers) and reads null back as NaN.</summary>
    private sealed class NonFiniteAsNull : JsonConverter<double>
    {
        public override bool HandleNull => true;

        public override double Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
            reader.TokenType == JsonTokenType.Null ? double.NaN : reader.GetDouble();

        public override void Write(Utf8JsonWriter writer, double value, JsonSerializerOptions options)
        {
            if (double.IsFinite(value)) writer.WriteNumberValue(value);
            else writer.WriteNullValue();
        }
    }
}
