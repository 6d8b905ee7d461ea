using MetaMae.Modalities;
using MetaMae.Model;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace MetaMae.Objectives;

/// <summary>Small pieces the objectives share.</summary>
internal static class ObjectiveHelpers
{
    /// <summary>A (B, L) 0/1 mask of token positions that are not padding.</summary>
    internal static Tensor NotPadding(InputSpec spec, Tensor tokens, ScalarType dtype) =>
        spec is MultiInputSpec multi
            ? cat(multi.Inputs.Select((input, i) => NotPadding(input, multi.Unpack(tokens, i), dtype)).ToArray(), 1) :
        spec is TokenSpec { PadId: int pad } ? tokens.ne(pad).to(dtype)
            : ones(tokens.shape[0], tokens.shape[1], dtype: dtype, device: tokens.device);

    internal static void Init(Module m)
    {
        using var _ = no_grad();
        foreach (var sub in m.modules())
            if (sub is Linear lin)
            {
                init.xavier_uniform_(lin.weight);
                if (lin.bias is not null) init.zeros_(lin.bias);
            }
    }

    /// <summary>k tokens per sample chosen uniformly: (B, k) positions (argsort of uniform noise).</summary>
    public static Tensor ChooseTokens(long batch, int tokens, int k, BatchRandom gen, Device device)
    {
        using var noise = gen.Rand(batch, tokens);
        return argsort(noise, 1)[.., ..k].to(device);
    }
}
