using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MetaMae.Training;

/// <summary>
/// Adam with decoupled (AdamW) or L2 (Adam) weight decay, numerically the same update as
/// torch.optim.AdamW / Adam (float32 CPU parameters in one fused pass each, the same to float32 rounding). Written
/// out so that its state (moments, step) lives in our checkpoints by parameter name and a resumed run continues bit
/// for bit. Parameters without a
/// gradient in a step are skipped (no decay, no moment update), as PyTorch does.
/// </summary>
public sealed class AdamW : IDisposable
{
    private readonly List<(string Name, Parameter P)> parameters;
    private readonly Dictionary<string, (Tensor M, Tensor V)> state = new();
    private readonly Dictionary<string, long> steps = new();

    /// <summary>Learning rate; the trainer sets it before each step (TrainOptions.LrAt).</summary>
    public double Lr { get; set; }
    public double WeightDecay { get; }
    public bool Decoupled { get; }
    public double Beta1 { get; } = 0.9;
    public double Beta2 { get; } = 0.999;
    public double Eps { get; } = 1e-8;

    /// <summary>Float32 CPU parameters take one fused pass each (<see cref="AdamWKernel"/>); false runs libtorch's ops
    /// for every parameter (the reference the kernel is tested against: AdamWTests).</summary>
    public bool Fused { get; init; } = true;

    public AdamW(IEnumerable<(string Name, Parameter P)> parameters, double lr, double weightDecay, bool decoupled = true)
    {
        this.parameters = parameters.ToList();
        Lr = lr;
        WeightDecay = weightDecay;
        Decoupled = decoupled;
    }

    public void ZeroGrad()
    {
        foreach (var (_, p) in parameters) p.grad = null;
    }

    public void Step()
    {
        using var _ = no_grad();
        foreach (var (name, p) in parameters)
        {
            var g = p.grad;
            if (g is null) continue;
            if (!state.TryGetValue(name, out var s))
            {
                s = (zeros_like(p).DetachFromDisposeScope(), zeros_like(p).DetachFromDisposeScope());
                state[name] = s;
                steps[name] = 0;
            }
            long t = ++steps[name];
            double bc1 = 1 - Math.Pow(Beta1, t), bc2 = 1 - Math.Pow(Beta2, t);
            if (Fused && AdamWKernel.Applies(p, g, s.M, s.V))
            {
                AdamWKernel.Update(p, g, s.M, s.V, new AdamWKernel.Coefficients(
                    Decay: (float)(Decoupled ? 1 - Lr * WeightDecay : 1), L2: (float)(Decoupled ? 0 : WeightDecay),
                    (float)Beta1, (float)(1 - Beta1), (float)Beta2, (float)(1 - Beta2), StepSize: (float)(-Lr / bc1),
                    Bc2Sqrt: (float)Math.Sqrt(bc2), (float)Eps));
                continue;
            }
            if (WeightDecay != 0)
            {
                if (Decoupled) p.mul_(1 - Lr * WeightDecay);
                else g = g.add(p, alpha: WeightDecay);
            }
            s.M.mul_(Beta1).add_(g, alpha: 1 - Beta1);
            s.V.mul_(Beta2).addcmul_(g, g, value: 1 - Beta2);
            using var denom = s.V.sqrt().div_(Math.Sqrt(bc2)).add_(Eps);
            p.addcdiv_(s.M, denom, value: -Lr / bc1);
        }
    }

    /// <summary>State as named tensors: "exp_avg.NAME", "exp_avg_sq.NAME", "step.NAME" (int64 scalar).</summary>
    public IEnumerable<KeyValuePair<string, Tensor>> StateTensors()
    {
        foreach (var (name, s) in state)
        {
            yield return new($"exp_avg.{name}", s.M);
            yield return new($"exp_avg_sq.{name}", s.V);
            yield return new($"step.{name}", tensor(steps[name]));
        }
    }

    public void LoadState(IReadOnlyDictionary<string, Tensor> tensors, string source)
    {
        foreach (var (name, p) in parameters)
        {
            if (!tensors.TryGetValue($"exp_avg.{name}", out var m)) continue;   // never stepped
            var v = tensors.TryGetValue($"exp_avg_sq.{name}", out var vv) ? vv
                : throw new InvalidDataException($"{source}: optimizer state of '{name}' lacks exp_avg_sq");
            var st = tensors.TryGetValue($"step.{name}", out var ss) ? ss
                : throw new InvalidDataException($"{source}: optimizer state of '{name}' lacks step");
            if (!m.shape.SequenceEqual(p.shape))
                throw new InvalidDataException($"{source}: optimizer state of '{name}' has shape " +
                    $"({string.Join(",", m.shape)}), parameter has ({string.Join(",", p.shape)})");
            if (!v.shape.SequenceEqual(p.shape))
                throw new InvalidDataException($"{source}: optimizer state exp_avg_sq of '{name}' has shape " +
                    $"({string.Join(",", v.shape)}), parameter has ({string.Join(",", p.shape)})");
            if (st.numel() != 1 || st.dtype != ScalarType.Int64)
                throw new InvalidDataException($"{source}: optimizer step of '{name}' is not one int64");
            if (state.TryGetValue(name, out var old)) { old.M.Dispose(); old.V.Dispose(); }
            state[name] = (m.to(p.dtype, p.device).DetachFromDisposeScope(), v.to(p.dtype, p.device).DetachFromDisposeScope());
            steps[name] = st.item<long>();
        }
    }

    public void Dispose()
    {
        foreach (var (m, v) in state.Values) { m.Dispose(); v.Dispose(); }
        state.Clear();
    }
}
