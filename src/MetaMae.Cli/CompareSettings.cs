using MetaMae.Experiments;
using MetaMae.IO;

namespace MetaMae.Cli;

/// <summary>OUT/compare-settings.json: the settings a compare in OUT runs with (as its options' values), written
/// before its first cell, so a second command on the same folder continues it or refuses to mix settings.</summary>
internal static class CompareSettings
{
    internal const string FileName = Comparison.PlanName + "-settings.json";

    /// <summary>The option each setting comes from, for the error that names it.</summary>
    private static readonly Dictionary<string, string> Flags = new()
    {
        ["data"] = "--dataset / --data", ["preset"] = "--preset", ["seeds"] = "--seeds",
        ["label_fraction"] = "--label-fraction",
        ["probe"] = "--probe", ["probe_epochs"] = "--probe-epochs", ["budget"] = "--budget", ["steps"] = "--steps",
    };

    internal static Dictionary<string, string?>? Read(string outDir)
    {
        var path = Path.Combine(outDir, FileName);
        if (!File.Exists(path)) return null;
        try
        {
            return JsonNode.Parse(File.ReadAllText(path))!.AsObject()
                .ToDictionary(kv => kv.Key, kv => kv.Value?.GetValue<string>());
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or NullReferenceException)
        {
            throw new DataFormatException($"{path}: not a compare's settings ({e.Message}); delete it to start afresh");
        }
    }

    internal static void Write(string outDir, IReadOnlyDictionary<string, string?> settings)
    {
        var o = new JsonObject();
        foreach (var (k, v) in settings) o[k] = v;
        AtomicFile.WriteText(Path.Combine(outDir, FileName),
            o.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
    }

    /// <summary>Refuses settings that differ from the stored compare's (a setting still to be chosen, null, is not
    /// compared), naming the first option that differs.</summary>
    internal static void Check(IReadOnlyDictionary<string, string?> stored, IReadOnlyDictionary<string, string?> now,
        string outDir)
    {
        foreach (var (k, v) in now)
        {
            var was = stored.GetValueOrDefault(k);
            if (k == "steps" && v is null) continue;
            if (was == v) continue;
            throw new ArgumentException($"{outDir} holds a compare with {Flags[k]} {was ?? "(not given)"}, this command " +
                $"gives {v ?? "(not given)"}: run the same command (or --resume) to continue it, or choose another --out");
        }
    }

    /// <summary>Which data a compare ran on: the shipped name, the DABS folder, or the full path of the user's file.
    /// </summary>
    internal static string Describe(DataSource source) => source switch
    {
        ShippedSource s => s.Name,
        DabsSource d => Path.Combine(Path.GetFullPath(d.Root), d.Name),
        OwnDataSource o => $"{Path.GetFullPath(o.Path)} ({o.Options.Modality})",
        _ => source.ToString(),
    };
}
