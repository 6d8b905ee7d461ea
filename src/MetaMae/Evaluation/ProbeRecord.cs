using System.Text.Json;
using System.Text.Json.Nodes;

namespace MetaMae.Evaluation;

/// <summary>
/// The protocol a probe figure was measured with (issue 34), stored beside every probe result (run / probe JSON,
/// bench-suite cells): the probe kind, whether the features were standardised, the optimiser and its settings, the
/// epochs or iterations, the batch, and which figure was read. Two results are comparable only when these agree.
/// </summary>
/// <param name="Kind">converged or paper (<see cref="ProbeOptions.Name"/>).</param>
/// <param name="Standardized">The head saw features standardised with the probe-training split's statistics.</param>
/// <param name="Optimizer">adam (L2 weight decay), lbfgs, or ridge (closed form).</param>
/// <param name="Lr">Adam's learning rate; NaN for the converged probe (no learning rate).</param>
/// <param name="WeightDecay">Adam's L2 weight decay, or the converged probe's chosen L2 strength.</param>
/// <param name="Epochs">Paper: epochs run; converged: 0.</param>
/// <param name="Iterations">Converged: L-BFGS iterations of the final fit (0 for ridge); paper: 0.</param>
/// <param name="Batch">Paper: the mini-batch; converged: 0 (full batch).</param>
/// <param name="Read">Which figure is reported: the best validation epoch's test metric, or the test metric of the
/// refit at the L2 strength chosen on validation. Never the best epoch on test.</param>
public sealed record ProbeRecord(string Kind, bool Standardized, string Optimizer, double Lr, double WeightDecay,
    int Epochs, int Iterations, int Batch, string Read)
{
    /// <summary>The paper probe reads the epoch best on validation; the authors' script prints test at every epoch
    /// and has no validation split, so reading its best would be selecting on test (reference-notes.md).</summary>
    public const string BestValidationEpoch = "test at the epoch best on validation";
    /// <summary>The converged probe sweeps L2 on validation, refits on train + validation, and reads test once.</summary>
    public const string ChosenPenalty = "test of the refit at the L2 strength best on validation";

    /// <summary>The record of options o; converged (the result of a converged fit) supplies the chosen L2 strength,
    /// its iterations and whether it was ridge.</summary>
    public static ProbeRecord Of(ProbeOptions o, ProbeResult? converged) => o.Protocol == ProbeProtocol.Paper
        ? new(ProbeOptions.Name(ProbeProtocol.Paper), o.Standardize, "adam", o.Lr, o.WeightDecay, o.Epochs, 0, o.Batch,
            BestValidationEpoch)
        : new(ProbeOptions.Name(ProbeProtocol.Converged), true, converged?.Metric == "spearman" ? "ridge" : "lbfgs",
            double.NaN, converged?.Regularization ?? double.NaN, 0, converged?.Iterations ?? 0, 0, ChosenPenalty);

    /// <summary>The record as a JSON object (NaN as null), the "probe_protocol" of result files; serialised as
    /// <see cref="ProbeRow"/> is.</summary>
    public JsonObject ToJson() => JsonSerializer.SerializeToNode(this, ProbeRow.Json)!.AsObject();
}
