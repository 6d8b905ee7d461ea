namespace MetaMae.Data.Dabs;

/// <summary>A DABS dataset a user downloads: where it lies under --root, and its reader.</summary>
public sealed record DabsEntry(string Name, string Modality, string RelativePath, string Reader, Table8Row Preset,
    Func<string, DabsOptions, Dataset> Load)
{
    public bool IsPresentUnder(string root) =>
        File.Exists(Path.Combine(root, RelativePath)) || Directory.Exists(Path.Combine(root, RelativePath));
}

/// <summary>The DABS datasets with readers, their expected layout under a root folder (docs/dabs-datasets.md) and the
/// Table 8 presets.</summary>
public static class DabsCatalog
{
    // Table 8, at full scale (Data/Table8.cs)
    static readonly Table8Row Pamap2P = Table8.FullScale(Table8.Pamap2);
    static readonly Table8Row HiggsP = Table8.FullScale(Table8.Higgs);
    static readonly Table8Row EuroSatP = Table8.FullScale(Table8.EuroSat);
    static readonly Table8Row GenomicsP = Table8.FullScale(Table8.Genomics);
    static readonly Table8Row PfamP = Table8.FullScale(Table8.Pfam);
    static readonly Table8Row LibriP = Table8.FullScale(Table8.LibriSpeech);
    static readonly Table8Row WaferP = Table8.FullScale(Table8.WaferMap);
    static readonly Table8Row ImageNetP = Table8.FullScale(Table8.ImageNet32);

    public static IReadOnlyList<DabsEntry> Entries { get; } =
    [
        new("pamap2", "time series", "PAMAP2_Dataset/Protocol", "Pamap2.Load (.dat)", Pamap2P, (p, o) => Pamap2.Load(p, o)),
        new("higgs", "tabular", "HIGGS/HIGGS.csv", "Higgs.Load (csv)", HiggsP, (p, o) => Higgs.Load(p, o)),
        new("genomics", "DNA tokens", "genomics_ood", "Genomics.Load (csv)", GenomicsP, (p, o) => Genomics.Load(p, false, o)),
        new("genomics-ood", "DNA tokens", "genomics_ood", "Genomics.Load ood (csv)", GenomicsP, (p, o) => Genomics.Load(p, true, o)),
        new("pfam", "protein tokens", "tape/pfam", "Tape.Load (json)", PfamP, (p, o) => Tape.Load(TapeTask.Pfam, p, o)),
        new("scop", "protein tokens", "tape/remote_homology", "Tape.Load (json)", PfamP,
            (p, o) => Tape.Load(TapeTask.RemoteHomology, p, o)),
        new("secondary-structure", "protein tokens", "tape/secondary_structure",
            "Tape.LoadSecondaryStructure (json; per-token labels)", PfamP,
            (p, o) => Tape.Load(TapeTask.SecondaryStructure, p, o)),
        new("stability", "protein tokens", "tape/stability", "Tape.Load (json, regression)", PfamP,
            (p, o) => Tape.Load(TapeTask.Stability, p, o)),
        new("fluorescence", "protein tokens", "tape/fluorescence", "Tape.Load (json, regression)", PfamP,
            (p, o) => Tape.Load(TapeTask.Fluorescence, p, o)),
        new("eurosat", "multispectral image", "EuroSAT_MS", "EuroSat.Load (13-band GeoTIFF)", EuroSatP, (p, o) => EuroSat.Load(p, o)),
        new("wafermap", "image", "wafermap/wafermap.csv", "WaferMap.Load (CSV export of LSWMD.pkl)", WaferP, (p, o) => WaferMap.Load(p, o)),
        new("librispeech", "speech", "LibriSpeech", "SpeechSets.LibriSpeech (WAV)", LibriP, (p, o) => SpeechSets.LibriSpeech(p, o)),
        new("audiomnist", "speech", "AudioMNIST", "SpeechSets.AudioMnist (WAV)", LibriP, (p, o) => SpeechSets.AudioMnist(p, o)),
        new("fluent-speech", "speech", "fluent_speech_commands_dataset", "SpeechSets.FluentSpeech (WAV)", LibriP,
            (p, o) => SpeechSets.FluentSpeech(p, o)),
        new("speech-commands", "speech", "speech_commands_v0.02", "SpeechSets.SpeechCommands (WAV)", LibriP,
            (p, o) => SpeechSets.SpeechCommands(p, o)),
        new("voxceleb1", "speech", "VoxCeleb1", "SpeechSets.VoxCeleb1 (WAV)", LibriP, (p, o) => SpeechSets.VoxCeleb1(p, o)),
        new("imagenet32", "RGB image", "imagenet32", "Images.ImageNet32 (binary export)", ImageNetP, (p, o) => Images.ImageNet32(p, o)),
        new("cifar10", "RGB image", "cifar-10-batches-bin", "Images.Cifar10 (binary batches)", ImageNetP, (p, o) => Images.Cifar10(p, o)),
        new("cub", "RGB image", "images/cub", "Images.Folder (train/CLASS, test/CLASS)", ImageNetP, (p, o) => Images.Folder("cub", p, o)),
        new("vgg-flowers", "RGB image", "images/vgg_flowers", "Images.Folder", ImageNetP, (p, o) => Images.Folder("vgg-flowers", p, o)),
        new("dtd", "RGB image", "images/dtd", "Images.Folder", ImageNetP, (p, o) => Images.Folder("dtd", p, o)),
        new("traffic-sign", "RGB image", "images/traffic_sign", "Images.Folder (PPM too)", ImageNetP,
            (p, o) => Images.Folder("traffic-sign", p, o)),
        new("aircraft", "RGB image", "images/aircraft", "Images.Folder", ImageNetP, (p, o) => Images.Folder("aircraft", p, o)),
    ];

    public static DabsEntry? TryGet(string name) => Entries.FirstOrDefault(e => e.Name == name);

    public static DabsEntry Get(string name) => TryGet(name)
        ?? throw new ArgumentException($"unknown DABS dataset '{name}' (known: {string.Join(", ", Entries.Select(e => e.Name))})");

    public static Dataset Load(string name, string root, DabsOptions? o = null)
    {
        if (!Directory.Exists(root)) throw new DirectoryNotFoundException($"--root '{root}' does not exist");
        var e = Get(name);
        var path = Path.Combine(root, e.RelativePath);
        if (!e.IsPresentUnder(root))
            throw new DataFormatException($"{path}: not found; DABS dataset '{name}' is expected there " +
                "(see docs/dabs-datasets.md)");
        return e.Load(path, o ?? new DabsOptions());
    }
}
