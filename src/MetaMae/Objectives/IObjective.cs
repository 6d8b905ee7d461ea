using MetaMae.Model;
using static TorchSharp.torch.nn;
using static TorchSharp.torch;

namespace MetaMae.Objectives;

/// <summary>
/// The loss of one step, with its parts for logging (detached scalars, NaN when absent). LatentChange
/// (||Z* - Z|| / ||Z||) and InnerGain (L_Q(Z) - L_Q(Z*)) are measured by MetaMAE on logging steps only, as are
/// ContrastShare and SecondOrderShare (issue 34): the norm of the encoder's gradient from lambda x contrast alone,
/// and from the inner step's second-order path alone, each over the norm of the encoder's whole gradient.
/// </summary>
public sealed record LossParts(Tensor Total, double Reconstruction, double Contrast, double Inner,
    double LatentChange = double.NaN, double InnerGain = double.NaN, double ContrastShare = double.NaN,
    double SecondOrderShare = double.NaN);

/// <summary>A pretraining objective: the loss of one batch of tokens. All randomness comes from gen.</summary>
public interface IObjective
{
    string Name { get; }
    /// <summary>tokens: (B, L, P) values or (B, L) ids, already on the model's device.</summary>
    LossParts Loss(MetaMaeModel model, Tensor tokens, Generator gen);

    /// <summary>
    /// The loss of one shard of a global batch (a micro-batch of --accumulate, an MPI rank's part).
    /// Objectives whose draws are all per sample take them from rng (BatchRandom), so the shards of a
    /// batch draw exactly what the whole batch would. The default passes the bare generator on: draws
    /// of the shard's own shape, correct with one shard but not invariant to sharding (e-Mix, whose
    /// mixing partners are other samples of the same batch, keeps it).
    /// </summary>
    LossParts Loss(MetaMaeModel model, Tensor tokens, BatchRandom rng) => Loss(model, tokens, rng.Generator);
}

/// <summary>
/// An objective with its own trainable head (a module outside the model). The pretrainer adds
/// the head's parameters to the optimizer and saves them in checkpoints under "objective.".
/// </summary>
public interface IHasHead
{
    Module Head { get; }
}
