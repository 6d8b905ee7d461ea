namespace MetaMae.Cli;

/// <summary>How commands report: the JSON line of --json, numbers that may be NaN, the model preset's name.</summary>
internal static class Report
{
    /// <summary>The fields of r's <see cref="ProbeRow"/> (all but the encoder) as flat keys PREFIXtest,
    /// PREFIXvalidation, PREFIXprobe, PREFIXregularization, ...: the flat part of `run --json` and `probe --json`.</summary>
    internal static void AddProbeJson(JsonObject o, ProbeResult r, string prefix = "") =>
        ProbeRow.Of("", r).AddFlat(o, prefix);

    /// <summary>"rows": one <see cref="ProbeRow"/> per probe result, the schema of every command's rows.</summary>
    internal static void AddRows(JsonObject o, string encoder, IEnumerable<ProbeResult> results)
    {
        var rows = o["rows"] as JsonArray ?? [];
        foreach (var r in results) rows.Add(ProbeRow.Of(encoder, r).ToJson());
        o["rows"] = rows;
    }

    internal static void PrintJson(ParseResult p, JsonObject o)
    {
        if (p.GetValue(Json)) Console.WriteLine(o.ToJsonString());
    }

    internal static JsonNode? Num(double v) => double.IsNaN(v) ? null : JsonValue.Create(v);

    internal static string PresetName(ModelConfig m) =>
        ModelConfig.PresetNames.FirstOrDefault(n =>
            ModelConfig.FromPreset(n) with { DecDepth = m.DecDepth, Dropout = m.Dropout } == m)
        ?? "custom";
}
