using MetaMae.Modalities;
using MetaMae.Model;

namespace MetaMae.Objectives;

/// <summary>
/// A pretraining algorithm: its --algo name, what it is, the defaults it brings over the dataset
/// preset (null = the preset's), and how to build its objective. Adding an algorithm means one new
/// objective file and one row in <see cref="Algorithms.All"/>.
/// </summary>
/// <param name="Name">The --algo value.</param>
/// <param name="Summary">One line for help texts and tables.</param>
/// <param name="Adapts">MetaMAE's latent adaptation and task contrast are on (else lambda = 0, no adaptation).</param>
/// <param name="MaskRatio">The algorithm's own corruption rate (DABS baselines: 15%), instead of the preset's.</param>
/// <param name="Temperature">The algorithm's own contrast temperature, instead of NT-Xent's 0.5.</param>
/// <param name="Create">The objective; null for an encoder that is not trained (random init).</param>
/// <param name="MasksMissingCells">Its reconstruction can skip missing cells (NaN in the data, Data/Missing.cs): the
/// masked decoders of MetaMAE and MAE.</param>
public sealed record Algorithm(string Name, string Summary, bool Adapts, double? MaskRatio, double? Temperature,
    Func<InputSpec, ModelConfig, ObjectiveOptions, IObjective>? Create, bool MasksMissingCells = false);

/// <summary>The registry of algorithms: MetaMAE, MAE with a decoder, the DABS baselines, random init.</summary>
public static class Algorithms
{
    /// <summary>MetaMAE: the paper's method (latent adaptation + task contrast).</summary>
    public const string MetaMae = "metamae";

    /// <summary>MAE with a Transformer decoder: MetaMAE without adaptation or contrast.</summary>
    public const string Mae = "mae";

    /// <summary>The DABS baselines (Table 3): MAE with a linear head, e-Mix, ShED and Capri.</summary>
    public const string MaeDabs = "mae-dabs", EMix = "emix", Shed = "shed", Capri = "capri";

    /// <summary>The untrained encoder, probed as the baseline row; has no objective.</summary>
    public const string RandomInit = "random-init";

    /// <summary>No encoder at all: the probe on the raw input (the reference row every encoder must beat).</summary>
    public const string RawInput = "raw-input";

    /// <summary>The random-init row's encoder name in result files (`run --json` rows, compare): the JSON spelling.
    /// </summary>
    public const string RandomInitRow = "random_init";

    /// <summary>The raw-input row's encoder name in result files.</summary>
    public const string RawInputRow = "raw_input";

    public static IReadOnlyList<Algorithm> All { get; } =
    [
        new(MetaMae, "MetaMAE: latent adaptation + task contrast (Algorithm 1)", true, null, null,
            (_, _, o) => new MetaMaeObjective(o with { Adapt = true }), MasksMissingCells: true),
        new(Mae, "MAE with a Transformer decoder (Table 4 row 2)", false, null, null,
            (_, _, o) => new MetaMaeObjective(o with { Adapt = false, Lambda = 0 }), MasksMissingCells: true),
        new(MaeDabs, "DABS MAE: linear head, masked embeddings zeroed, 15% masked", false, 0.15, 0.5,
            (s, m, o) => new MaeDabsObjective(s, m, o.MaskRatio)),
        new(EMix, "e-Mix: embedding mixup contrast, temperature 0.2 (masks nothing)", false, 0.15, 0.2,
            (_, m, o) => new EMixObjective(m, o.Temperature)),
        new(Shed, "ShED: detect shuffled embeddings (15%)", false, 0.15, 0.5,
            (_, m, o) => new ShedObjective(m, o.MaskRatio)),
        new(Capri, "Capri: masked-token contrast, temperature 0.07 (15%)", false, 0.15, 0.07,
            (_, m, o) => new CapriObjective(m, o.MaskRatio, o.Temperature)),
        new(RandomInit, "the same encoder, untrained (the baseline row)", true, null, null, null),
        new(RawInput, "no encoder: the probe on the standardised raw input (one-hot tokens)", true, null, null, null),
    ];

    /// <summary>Every --algo value that trains (random init is a probe row, not a pretraining).</summary>
    public static IReadOnlyList<string> Trainable { get; } = All.Where(a => a.Create is not null).Select(a => a.Name).ToArray();

    public static Algorithm Get(string name) => All.FirstOrDefault(a => a.Name == name)
        ?? throw new ArgumentException($"unknown --algo '{name}' (expected one of: {string.Join(", ", Trainable)})");

    /// <summary>The objective of a trainable algorithm.</summary>
    public static IObjective CreateObjective(string name, InputSpec spec, ModelConfig model, ObjectiveOptions o) =>
        (Get(name).Create ?? throw new ArgumentException($"'{name}' has no objective: it is not trained"))(spec, model, o);

    /// <summary>
    /// The objective options of a run before the user's overrides: the dataset preset's, then the
    /// algorithm's own corruption rate and temperature; lambda 0 and no adaptation unless it adapts.
    /// </summary>
    public static ObjectiveOptions Defaults(string name, Data.Table8Row preset)
    {
        var a = Get(name);
        var o = preset.Objective(a.Adapts);
        return o with { MaskRatio = a.MaskRatio ?? o.MaskRatio, Temperature = a.Temperature ?? o.Temperature };
    }
}
