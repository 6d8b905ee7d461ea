using MetaMae.Model;
using static TorchSharp.torch;

namespace MetaMae.Objectives;

/// <summary>The loss of one step, with its parts for logging (detached scalars, NaN when absent).</summary>
public sealed record LossParts(Tensor Total, double Reconstruction, double Contrast, double Inner);

/// <summary>A pretraining objective: the loss of one batch of tokens. All randomness comes from gen.</summary>
public interface IObjective
{
    string Name { get; }
    /// <summary>tokens: (B, L, P) values or (B, L) ids, already on the model's device.</summary>
    LossParts Loss(MetaMaeModel model, Tensor tokens, Generator gen);
}
