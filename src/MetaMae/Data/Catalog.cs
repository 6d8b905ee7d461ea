using MetaMae.Model;
using MetaMae.Objectives;

namespace MetaMae.Data;

/// <summary>
/// Per-dataset defaults: the DABS mask ratio and batch of the nearest paper dataset, and its
/// MetaMAE values from the paper's Table 8 (alpha, lambda, decoder depth, dropout).
/// </summary>
public sealed record DatasetPreset(
    string PaperAnalogue, double MaskRatio, int Batch, double Alpha, double Lambda, int DecoderDepth, double Dropout, int ProbeBatch)
{
    public ObjectiveOptions Objective(bool adapt) => new()
    {
        MaskRatio = MaskRatio, Adapt = adapt, Alpha = Alpha, Lambda = adapt ? Lambda : 0,
    };

    public ModelConfig Apply(ModelConfig m) => m with { DecDepth = DecoderDepth, Dropout = Dropout };
}

/// <summary>A dataset that ships in the repository's data/ folder.</summary>
public sealed record CatalogEntry(string Name, string Modality, string Description, string RelativePath, DatasetPreset Preset,
    Func<string, Dataset> Load);

public static class Catalog
{
    /// <summary>Genomics in Table 8: alpha 0.1, lambda 0.01, depth 2, p 0, mask 0.5, batch 32 (probe batch 64).</summary>
    public static readonly DatasetPreset Genomics = new("Genomics", 0.5, 32, 0.1, 0.01, 2, 0.0, 64);

    public static IReadOnlyList<CatalogEntry> Entries { get; } =
    [
        new("dna-splice", "DNA tokens",
            "Primate splice junctions (UCI/StatLog DNA): 60 bases, classes ei / ie / n",
            "dna-splice/dna_splice.csv", Genomics,
            p => Readers.SequenceCsv("dna-splice", p, "ACGT", 60)),
    ];

    public static CatalogEntry Get(string name) =>
        Entries.FirstOrDefault(e => e.Name == name)
        ?? throw new ArgumentException($"unknown dataset '{name}' (shipped: {string.Join(", ", Entries.Select(e => e.Name))}; see 'metamae datasets')");

    /// <summary>
    /// The data/ folder: METAMAE_DATA if set, else the data/ folder beside the program (the build
    /// copies it there), else the nearest data/ folder above the current directory.
    /// </summary>
    public static string DataRoot(string? explicitRoot = null)
    {
        if (explicitRoot is not null)
        {
            if (!Directory.Exists(explicitRoot)) throw new DirectoryNotFoundException($"data folder '{explicitRoot}' does not exist");
            return explicitRoot;
        }
        var env = Environment.GetEnvironmentVariable("METAMAE_DATA");
        if (!string.IsNullOrEmpty(env))
        {
            if (!Directory.Exists(env)) throw new DirectoryNotFoundException($"METAMAE_DATA='{env}' does not exist");
            return env;
        }
        var beside = Path.Combine(AppContext.BaseDirectory, "data");
        if (Directory.Exists(beside)) return beside;
        for (var d = new DirectoryInfo(Directory.GetCurrentDirectory()); d is not null; d = d.Parent)
        {
            var c = Path.Combine(d.FullName, "data");
            if (File.Exists(Path.Combine(c, "README.md"))) return c;
        }
        throw new DirectoryNotFoundException("cannot find the data/ folder: set METAMAE_DATA or pass --data-dir");
    }

    public static Dataset Load(string name, string? root = null)
    {
        var e = Get(name);
        return e.Load(Path.Combine(DataRoot(root), e.RelativePath));
    }
}
