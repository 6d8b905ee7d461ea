using MetaMae.Model;
using MetaMae.Objectives;

namespace MetaMae.Data;

/// <summary>
/// A row of the paper's Table 8, the per-dataset defaults: the DABS mask ratio and batch of the nearest paper dataset,
/// and its MetaMAE values (alpha, lambda, decoder depth, dropout), plus the batch of the paper-protocol probe. (Named
/// for the table, not "preset": --preset is the model size, <see cref="Model.ModelConfig.PresetNames"/>.)
/// </summary>
public sealed record Table8Row(
    string PaperAnalogue, double MaskRatio, int Batch, double Alpha, double Lambda, int DecoderDepth, double Dropout,
    int ProbeBatch)
{
    public ObjectiveOptions Objective(bool adapt) => new()
    {
        MaskRatio = MaskRatio, Adapt = adapt, Alpha = Alpha, Lambda = adapt ? Lambda : 0,
    };

    public ModelConfig Apply(ModelConfig m) => m with { DecDepth = DecoderDepth, Dropout = Dropout };
}

/// <summary>
/// The paper's Table 8, written once. Every catalog (shipped data, DABS datasets, your own data by
/// modality) takes its preset from here. Probe batch 64: the shipped sets have a few hundred to a
/// few thousand training samples, so 64 gives a probe epoch several steps.
/// </summary>
public static class Table8
{
    /// <summary>Genomics: alpha 0.1, lambda 0.01, depth 2, p 0, mask 0.5, batch 32.</summary>
    public static readonly Table8Row Genomics = new("Genomics", 0.5, 32, 0.1, 0.01, 2, 0.0, 64);
    /// <summary>Pfam: alpha 0.1, lambda 1.0, depth 4, p 0, mask 0.15, batch 128.</summary>
    public static readonly Table8Row Pfam = new("Pfam", 0.15, 128, 0.1, 1.0, 4, 0.0, 64);
    /// <summary>EuroSAT: alpha 0.1, lambda 1.0, depth 4, p 0, mask 0.85, batch 64.</summary>
    public static readonly Table8Row EuroSat = new("EuroSAT", 0.85, 64, 0.1, 1.0, 4, 0.0, 64);
    /// <summary>HIGGS: alpha 1.0, lambda 1.0, depth 6, p 0.1, mask 0.5, batch 256.</summary>
    public static readonly Table8Row Higgs = new("HIGGS", 0.5, 256, 1.0, 1.0, 6, 0.1, 64);
    /// <summary>ImageNet32 (RGB images): alpha 0.1, lambda 0.1, depth 4, p 0, mask 0.85, batch 64.</summary>
    public static readonly Table8Row ImageNet32 = new("ImageNet32", 0.85, 64, 0.1, 0.1, 4, 0.0, 64);
    /// <summary>LibriSpeech: alpha 0.1, lambda 1.0, depth 4, p 0, mask 0.85, batch 64.</summary>
    public static readonly Table8Row LibriSpeech = new("LibriSpeech", 0.85, 64, 0.1, 1.0, 4, 0.0, 64);
    /// <summary>PAMAP2: alpha 0.5, lambda 1.0, depth 4, p 0.1, mask 0.85, batch 256.</summary>
    public static readonly Table8Row Pamap2 = new("PAMAP2", 0.85, 256, 0.5, 1.0, 4, 0.1, 64);
    /// <summary>WaferMap: alpha 0.1, lambda 0.1, depth 6, p 0, mask 0.15, batch 128.</summary>
    public static readonly Table8Row WaferMap = new("WaferMap", 0.15, 128, 0.1, 0.1, 6, 0.0, 64);
    /// <summary>MSCOCO (image + caption): alpha 0.5, lambda 0.1, depth 2, p 0, mask 0.5, batch 64.</summary>
    public static readonly Table8Row Mscoco = new("MSCOCO", 0.5, 64, 0.5, 0.1, 2, 0.0, 64);

    /// <summary>
    /// At full DABS scale the paper-protocol probe uses the pretraining batch (at least 64): the
    /// real datasets have tens of thousands of samples.
    /// </summary>
    public static Table8Row FullScale(Table8Row p) => p with { ProbeBatch = Math.Max(p.Batch, 64) };

    /// <summary>The preset for your own data: that of the paper dataset nearest to its modality.</summary>
    public static Table8Row ForModality(string modality) => modality switch
    {
        "tabular" => Higgs, "sequence" or "tokens" => Pfam, "image" => ImageNet32,
        "audio" => LibriSpeech, "image-caption" => Mscoco, _ => Pamap2,
    };
}
