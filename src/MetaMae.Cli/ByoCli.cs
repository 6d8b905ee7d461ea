using MetaMae.IO;
namespace MetaMae.Cli;

/// <summary>Users' own data in the CLI: table options, the facts a reader reports, defaults for small data,
/// output folder names and the run lock.</summary>
public static class ByoCli
{
    internal static readonly Option<string?> IdColumn =
        new("--id-column") { Description = "Id column of a --data CSV: names the samples (embed), never a feature" };
    internal static readonly Option<string?> IgnoreColumns =
        new("--ignore-columns") { Description = "Comma-separated columns of a --data table that are not features" };
    internal static readonly Option<string> MissingOpt = new Option<string>("--missing")
    {
        Description = "Missing table cells (empty, NA, N/A, NaN, nan, ?): mask = masked in pretraining, " +
            "training mean in features; error = refuse",
        DefaultValueFactory = _ => "mask",
    }.AcceptOnlyFromAmong("mask", "error");

    internal static Option[] ByoTableOptions => [IdColumn, IgnoreColumns, MissingOpt];

    internal static IReadOnlyList<string>? IgnoreList(ParseResult p) =>
        p.GetValue(IgnoreColumns) is string s ? s.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) : null;

    internal static MissingPolicy MissingOf(ParseResult p) => p.GetValue(MissingOpt) == "error" ? MissingPolicy.Error : MissingPolicy.Mask;

    internal static bool byoReported;

    /// <summary>Once per process: what the reader left out or imputed, and which preset values were taken and why.</summary>
    internal static void ReportByo(Dataset ds, string modality, Table8Row preset)
    {
        if (byoReported) return;
        byoReported = true;
        foreach (var l in ds.Report?.Lines() ?? []) Console.Error.WriteLine(l);
        Console.Error.WriteLine($"data: your own {modality} data has no preset: took {preset.PaperAnalogue}'s (the paper's nearest " +
            $"{modality} dataset): mask ratio {preset.MaskRatio}, batch {preset.Batch}, alpha {preset.Alpha}, lambda {preset.Lambda}, " +
            $"decoder depth {preset.DecoderDepth}, dropout {preset.Dropout}, probe batch {preset.ProbeBatch} " +
            "(change with --mask-ratio, --batch, --alpha, --lambda, --decoder-depth, --dropout, --probe-batch)");
    }

    /// <summary>The preset's batch, or all training samples when there are fewer (said in one line); an explicit --batch is kept.</summary>
    internal static int DefaultBatch(int? asked, int presetBatch, int trainCount)
    {
        if (asked is int b) return b;
        if (trainCount >= presetBatch) return presetBatch;
        Console.Error.WriteLine($"data: batch {trainCount}: the preset's batch {presetBatch} is larger than the " +
            $"{trainCount} training samples");
        return trainCount;
    }

    /// <summary>Folder-name part for a dataset: the --data file's stem (or a shipped name), safe characters only.</summary>
    internal static string SafeRunName(ParseResult p, string datasetName)
    {
        var path = p.GetValue(DataOpt);
        var stem = path is null ? datasetName : Path.GetFileNameWithoutExtension(Path.TrimEndingDirectorySeparator(path));
        return SafeName(stem);
    }

    /// <summary>Letters, digits, '.', '_' and '-' are kept; anything else becomes '_'.</summary>
    public static string SafeName(string s)
    {
        var chars = s.Select(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' ? c : '_').ToArray();
        var r = new string(chars).Trim('.');
        return r.Length == 0 ? "data" : r;
    }

    /// <summary>Whether the training rows hold missing cells (NaN, Data/Missing.cs) that pretraining must mask.</summary>
    internal static bool HasMissing(Dataset ds) => ds.Report is { MissingTrain: > 0 };

    /// <summary>Adds the data report to DIR/config.json (written by the pretrainer) as "data".</summary>
    internal static void AddDataReport(string runDir, Dataset ds)
    {
        var path = Path.Combine(runDir, "config.json");
        if (ds.Report is null || !File.Exists(path)) return;
        var o = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        o["data"] = ds.Report.ToJson();
        AtomicFile.WriteText(path, o.ToJsonString() + "\n");
    }
}
