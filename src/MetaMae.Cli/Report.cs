namespace MetaMae.Cli;

/// <summary>How commands report: the JSON line of --json, numbers that may be NaN, the model preset's name.</summary>
internal static class Report
{
    /// <summary>The probe's name, regularisation and convergence, as PREFIXprobe, PREFIXprobe_l2, PREFIXprobe_converged.</summary>
    internal static void AddProbeJson(JsonObject o, ProbeResult r, string prefix = "")
    {
        o[prefix + "probe"] = ProbeOptions.Name(r.Protocol);
        o[prefix + "probe_l2"] = Num(r.Regularization);
        o[prefix + "probe_converged"] = r.Converged;
        o[prefix + "features"] = r.Features;
        o[prefix + "label_fraction"] = r.LabelFraction;
        o[prefix + "probe_train_samples"] = r.TrainCount + r.ValidationCount;
        if (r.Protocol == ProbeProtocol.Paper) o[prefix + "best_epoch"] = r.BestEpoch;
        if (r.Record is not null) o[prefix + "probe_protocol"] = r.Record.ToJson();
    }

    /// <summary>"rows": one object per probe result (encoder, label_fraction, metric, test, validation, features, probe,
    /// probe_train_samples, probe_protocol), the schema of `run --json`'s rows.</summary>
    internal static void AddRows(JsonObject o, string encoder, IEnumerable<ProbeResult> results)
    {
        var rows = o["rows"] as JsonArray ?? [];
        foreach (var r in results)
            rows.Add(new JsonObject
            {
                ["encoder"] = encoder, ["label_fraction"] = r.LabelFraction, ["metric"] = r.Metric, ["test"] = r.Test,
                ["validation"] = r.Validation, ["features"] = r.Features, ["probe"] = ProbeOptions.Name(r.Protocol),
                ["probe_train_samples"] = r.TrainCount + r.ValidationCount, ["probe_protocol"] = r.Record?.ToJson(),
            });
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
