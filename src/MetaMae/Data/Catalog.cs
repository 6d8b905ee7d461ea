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
    /// <summary>Pfam in Table 8: alpha 0.1, lambda 1.0, depth 4, p 0, mask 0.15, batch 128.</summary>
    public static readonly DatasetPreset Pfam = new("Pfam", 0.15, 128, 0.1, 1.0, 4, 0.0, 64);
    /// <summary>EuroSAT in Table 8: alpha 0.1, lambda 1.0, depth 4, p 0, mask 0.85, batch 64.</summary>
    public static readonly DatasetPreset EuroSat = new("EuroSAT", 0.85, 64, 0.1, 1.0, 4, 0.0, 64);
    /// <summary>HIGGS in Table 8: alpha 1.0, lambda 1.0, depth 6, p 0.1, mask 0.5, batch 256.</summary>
    public static readonly DatasetPreset Higgs = new("HIGGS", 0.5, 256, 1.0, 1.0, 6, 0.1, 64);
    /// <summary>ImageNet32 (RGB images) in Table 8: alpha 0.1, lambda 0.1, depth 4, p 0, mask 0.85, batch 64.</summary>
    public static readonly DatasetPreset ImageNet32 = new("ImageNet32", 0.85, 64, 0.1, 0.1, 4, 0.0, 64);
    /// <summary>LibriSpeech in Table 8: alpha 0.1, lambda 1.0, depth 4, p 0, mask 0.85, batch 64.</summary>
    public static readonly DatasetPreset LibriSpeech = new("LibriSpeech", 0.85, 64, 0.1, 1.0, 4, 0.0, 64);
    /// <summary>PAMAP2 in Table 8: alpha 0.5, lambda 1.0, depth 4, p 0.1, mask 0.85, batch 256.</summary>
    public static readonly DatasetPreset Pamap2 = new("PAMAP2", 0.85, 256, 0.5, 1.0, 4, 0.1, 64);
    /// <summary>WaferMap in Table 8: alpha 0.1, lambda 0.1, depth 6, p 0, mask 0.15, batch 128.</summary>
    public static readonly DatasetPreset WaferMap = new("WaferMap", 0.15, 128, 0.1, 0.1, 6, 0.0, 64);
    /// <summary>MSCOCO (image + caption) in Table 8: alpha 0.5, lambda 0.1, depth 2, p 0, mask 0.5, batch 64.</summary>
    public static readonly DatasetPreset Mscoco = new("MSCOCO", 0.5, 64, 0.5, 0.1, 2, 0.0, 64);

    public static IReadOnlyList<CatalogEntry> Entries { get; } =
    [
        new("dna-splice", "DNA tokens",
            "Primate splice junctions (UCI/StatLog DNA): 60 bases, classes ei / ie / n",
            "dna-splice/dna_splice.csv", Genomics,
            p => Readers.SequenceCsv("dna-splice", p, "ACGT", 60)),
        new("protein-families", "protein tokens",
            "8 Pfam families (HMMER / EMBOSS examples): residues XARNDCQEGHILKMFPSTWYVUOBZJ (X = padding), cropped / padded to 128",
            "protein-families/protein_families.csv", Pfam,
            p => Readers.SequenceCsv("protein-families", p, Generators.TapeLike.Vocabulary, 128, 'X')),
        new("satellite", "multispectral image",
            "Statlog Landsat: 4-band 3x3 neighbourhoods, 6 soil / crop classes; per-band standardised (train statistics)",
            "satellite/satellite.csv", EuroSat, Shipped.Satellite),
        new("spambase", "tabular",
            "UCI Spambase: 57 e-mail features, log(1+x) then standardised (train statistics); spam / nonspam",
            "spambase/spambase.csv", Higgs, Shipped.Spambase),
        new("digits", "grey image",
            "UCI optical digits: 1x8x8 images (values / 16), 10 digits", "digits/digits.csv", ImageNet32, Shipped.Digits),
        new("emoji", "RGB image",
            "Twemoji 32x32 RGB PNGs (CC BY 4.0), 9 Unicode categories", "emoji/index.csv", ImageNet32, Shipped.Emoji),
        new("speech-digits", "speech (log-mel)",
            "eSpeak NG spoken digits, 16 kHz WAV -> 64-mel x 64-frame log-mel (scaled-down DABS recipe), speaker-disjoint split",
            "speech-digits/index.csv", LibriSpeech, Shipped.SpeechDigits),
        new("ecg", "time series (unlabeled)",
            "MIT-BIH record 208, lead MLII, 360 Hz: 320-sample windows for pretraining only (no labels, no probe)",
            "ecg/ecg.csv", Pamap2, p => Shipped.Ecg(p)),
        new("pamap2-like", "time series (SYNTHETIC)",
            "Generated, seed 0: PAMAP2-like 52-channel x 320-step IMU + heart-rate windows, 12 activities, subject-disjoint split",
            "", Pamap2, _ => Generators.Pamap2Like.Generate()),
        new("wafer-like", "RGB image (SYNTHETIC)",
            "Generated, seed 0: WM-811K-like 3x32x32 wafer maps, 9 failure patterns, imbalanced; score with weighted F1",
            "", WaferMap, _ => Generators.WaferLike.Generate()),
        new("stability-like", "protein tokens, regression (SYNTHETIC)",
            "Generated, seed 0: TAPE-like stability scores of 43-residue designed proteins; Spearman",
            "", Pfam, _ => Generators.TapeLike.Stability()),
        new("fluorescence-like", "protein tokens, regression (SYNTHETIC)",
            "Generated, seed 0: TAPE-like log-fluorescence of GFP-like mutants (train 1-3, test 4-8 mutations); Spearman",
            "", Pfam, _ => Generators.TapeLike.Fluorescence()),
        new("emoji-captions", "image + caption",
            "Twemoji 3x32x32 (patch 4) + name as caption, bert-base-uncased word pieces (32); label = category",
            "emoji/index.csv", Mscoco, p => VisionLanguage.EmojiCaptions(p, CaptionTask.Category)),
        new("emoji-captions-mismatch", "image + caption",
            "emoji-captions probe: caption swapped with another sample's with probability 0.5 (seed 0); matched / swapped",
            "emoji/index.csv", Mscoco, p => VisionLanguage.EmojiCaptions(p, CaptionTask.Mismatch)),
        new("emoji-captions-vqa", "image + question",
            "emoji-captions probe: 'is this a CATEGORY?' with the true or another category (50/50, seed 0); yes / no",
            "emoji/index.csv", Mscoco, p => VisionLanguage.EmojiCaptions(p, CaptionTask.Vqa)),
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
