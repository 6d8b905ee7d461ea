using MetaMae.Modalities;
using MetaMae.Model;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MetaMae.Objectives;

/// <summary>
/// e-Mix: each sample's token embeddings are mixed with another sample's (a random derangement),
/// lambda ~ Beta(1, 1) folded to >= 0.5; the projections of the mixed inputs are contrasted with
/// the projections of the clean ones (cosine / temperature 0.2) with soft targets lambda on the
/// sample itself and 1 - lambda on its partner. Projector: Linear(D, D) - ReLU - Linear(D, 128).
/// </summary>
public sealed class EMixObjective : IObjective, IHasHead
{
    private readonly double temperature;
    private readonly Sequential projector;
    public Module Head => projector;

    public EMixObjective(ModelConfig model, double temperature)
    {
        this.temperature = temperature;
        projector = Sequential(("0", Linear(model.EncDim, model.EncDim)), ("1", ReLU()), ("2", Linear(model.EncDim, model.ProjDim)));
        ObjectiveHelpers.Init(projector);
    }

    public string Name => Algorithms.EMix;

    /// <summary>lambda ~ Beta(1,1) = U(0,1), folded to max(l, 1-l); partner: a derangement (no sample mixes with itself).</summary>
    public static (Tensor Lambda, Tensor Partner) Draw(long b, Generator gen)
    {
        var u = rand(b, generator: gen, dtype: ScalarType.Float64);
        var lam = maximum(u, 1 - u);
        var perm = randperm(b, generator: gen);
        var partner = zeros(b, dtype: ScalarType.Int64);
        partner.index_put_(perm.roll(-1, 0), perm);                     // partner[perm[k]] = perm[k+1]
        return (lam, partner);
    }

    public LossParts Loss(MetaMaeModel model, Tensor tokens, Generator gen)
    {
        long b = tokens.shape[0];
        var (lam64, partner64) = Draw(b, gen);
        var e = model.TokenEmbedding(tokens);
        var lam = lam64.to(e.dtype, e.device);
        var partner = partner64.to(e.device);
        var l3 = lam.view(b, 1, 1);
        var mixed = l3 * e + (1 - l3) * e.index_select(0, partner);
        var zMix = functional.normalize(projector.forward(Losses.Pool(model.Encode(model.WithPositions(mixed)))), p: 2, dim: -1);
        var zClean = functional.normalize(projector.forward(Losses.Pool(model.Encode(model.WithPositions(e)))), p: 2, dim: -1);
        var logp = functional.log_softmax(matmul(zMix, zClean.t()) / temperature, 1);
        var self = logp.gather(1, arange(b, device: e.device).unsqueeze(1)).squeeze(1);
        var other = logp.gather(1, partner.unsqueeze(1)).squeeze(1);
        var loss = -(lam * self + (1 - lam) * other).mean();
        return new LossParts(loss, double.NaN, loss.ToDouble(), double.NaN);
    }
}
