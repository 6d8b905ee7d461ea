namespace MetaMae.Data;

/// <summary>A dataset that ships in the repository's data/ folder.</summary>
public sealed record CatalogEntry(string Name, string Modality, string Description, string RelativePath, Table8Row Preset,
    Func<string, Dataset> Load);

public static class Catalog
{
    public static IReadOnlyList<CatalogEntry> Entries { get; } =
    [
        new("dna-splice", "DNA tokens",
            "Primate splice junctions (UCI/StatLog DNA): 60 bases, classes ei / ie / n",
            "dna-splice/dna_splice.csv", Table8.Genomics,
            p => Readers.SequenceCsv("dna-splice", p, "ACGT", 60)),
        new("protein-families", "protein tokens",
            "8 Pfam families (HMMER / EMBOSS examples): residues XARNDCQEGHILKMFPSTWYVUOBZJ (X = padding), cropped / padded to 128",
            "protein-families/protein_families.csv", Table8.Pfam,
            p => Readers.SequenceCsv("protein-families", p, Generators.TapeLike.Vocabulary, 128, 'X')),
        new("satellite", "multispectral image",
            "Statlog Landsat: 4-band 3x3 neighbourhoods, 6 soil / crop classes; per-band standardised (train statistics)",
            "satellite/satellite.csv", Table8.EuroSat, Shipped.Satellite),
        new("spambase", "tabular",
            "UCI Spambase: 57 e-mail features, log(1+x) then standardised (train statistics); spam / nonspam",
            "spambase/spambase.csv", Table8.Higgs, Shipped.Spambase),
        new("digits", "grey image",
            "UCI optical digits: 1x8x8 images (values / 16), 10 digits", "digits/digits.csv", Table8.ImageNet32, Shipped.Digits),
        new("emoji", "RGB image",
            "Twemoji 32x32 RGB PNGs (CC BY 4.0), 9 Unicode categories", "emoji/index.csv", Table8.ImageNet32, Shipped.Emoji),
        new("speech-digits", "speech (log-mel)",
            "eSpeak NG spoken digits, 16 kHz WAV -> 64-mel x 64-frame log-mel (scaled-down DABS recipe), speaker-disjoint split",
            "speech-digits/index.csv", Table8.LibriSpeech, Shipped.SpeechDigits),
        new("ecg", "time series (unlabeled)",
            "MIT-BIH record 208, lead MLII, 360 Hz: 320-sample windows for pretraining only (no labels, no probe)",
            "ecg/ecg.csv", Table8.Pamap2, p => Shipped.Ecg(p)),
        new("pamap2-like", "time series (SYNTHETIC)",
            "Generated, seed 0: PAMAP2-like 52-channel x 320-step IMU + heart-rate windows, 12 activities, subject-disjoint split",
            "", Table8.Pamap2, _ => Generators.Pamap2Like.Generate()),
        new("wafer-like", "RGB image (SYNTHETIC)",
            "Generated, seed 0: WM-811K-like 3x32x32 wafer maps, 9 failure patterns, imbalanced; score with weighted F1",
            "", Table8.WaferMap, _ => Generators.WaferLike.Generate()),
        new("stability-like", "protein tokens, regression (SYNTHETIC)",
            "Generated, seed 0: TAPE-like stability scores of 43-residue designed proteins; Spearman",
            "", Table8.Pfam, _ => Generators.TapeLike.Stability()),
        new("fluorescence-like", "protein tokens, regression (SYNTHETIC)",
            "Generated, seed 0: TAPE-like log-fluorescence of GFP-like mutants (train 1-3, test 4-8 mutations); Spearman",
            "", Table8.Pfam, _ => Generators.TapeLike.Fluorescence()),
        new("emoji-captions", "image + caption",
            "Twemoji 3x32x32 (patch 4) + name as caption, bert-base-uncased word pieces (32); label = category",
            "emoji/index.csv", Table8.Mscoco, p => VisionLanguage.EmojiCaptions(p, CaptionTask.Category)),
        new("emoji-captions-mismatch", "image + caption",
            "emoji-captions probe: caption swapped with another sample's with probability 0.5 (seed 0); matched / swapped",
            "emoji/index.csv", Table8.Mscoco, p => VisionLanguage.EmojiCaptions(p, CaptionTask.Mismatch)),
        new("emoji-captions-vqa", "image + question",
            "emoji-captions probe: 'is this a CATEGORY?' with the true or another category (50/50, seed 0); yes / no",
            "emoji/index.csv", Table8.Mscoco, p => VisionLanguage.EmojiCaptions(p, CaptionTask.Vqa)),
    ];

    public static CatalogEntry Get(string name) =>
        Entries.FirstOrDefault(e => e.Name == name)
        ?? throw new ArgumentException($"unknown dataset '{name}' (shipped: " +
            $"{string.Join(", ", Entries.Select(e => e.Name))}; see 'metamae datasets')");

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
