using MetaMae.Data;
using MetaMae.Model;
using MetaMae.Training;
using static TorchSharp.torch;
using MetaMae.Runtime;

namespace MetaMae.Evaluation;

/// <summary>Which frozen features of an encoder a probe or `metamae embed` uses.</summary>
public enum FeatureKind
{
    /// <summary>Mean over the non-CLS tokens of the normed encoder output (the paper's linear-probe features): (N, D).</summary>
    Mean,
    /// <summary>The normed encoder output at the CLS slot: (N, D).</summary>
    Cls,
    /// <summary>Every token's normed encoder output: (N, L, D).</summary>
    Tokens,
}

/// <summary>Frozen features of whole, unmasked inputs, in one place for probes, embeddings and the library API.</summary>
public static class FeatureExtraction
{
    /// <summary>--features' names (<see cref="EnumNames{T}"/>: the members in lower case).</summary>
    public static string[] Names => EnumNames<FeatureKind>.All;

    public static FeatureKind Parse(string s) => EnumNames<FeatureKind>.Parse(s, "--features");

    public static string Name(FeatureKind k) => EnumNames<FeatureKind>.Of(k);

    /// <summary>Shape of one sample's features: [D] or [L, D].</summary>
    public static long[] Shape(MetaMaeModel model, FeatureKind kind) =>
        kind == FeatureKind.Tokens ? [model.Spec.NumTokens, model.Config.EncDim] : [model.Config.EncDim];

    /// <summary>tokens (B, L, P) or (B, L) -> features (B, D) or (B, L, D) of the kind.</summary>
    public static Tensor Of(MetaMaeModel model, Tensor tokens, FeatureKind kind) => kind switch
    {
        FeatureKind.Mean => model.forward(tokens),
        FeatureKind.Cls => model.Encode(model.Embed(tokens))[.., 0],                 // (B, 1+L, D) -> (B, D)
        _ => model.TokenFeatures(tokens),
    };

    /// <summary>
    /// Runs features(tokens) over rawX in batches, in eval mode without gradients; each batch's features go to
    /// onBatch(features as float32 on the CPU, index of its first row) inside that batch's dispose scope (keep a
    /// tensor by moving it out). Missing cells (NaN) are imputed with the training mean first (<see cref="Missing"/>).
    /// The model's training mode is restored.
    /// </summary>
    public static void Stream(MetaMaeModel model, Tensor rawX, int batch, Func<Tensor, Tensor> features, Action<Tensor, long> onBatch)
    {
        if (batch < 1) throw new ArgumentException($"batch must be >= 1 (got {batch})");
        var spec = model.Spec;
        var device = model.parameters().First().device;
        var dtype = model.parameters().First().dtype;
        bool wasTraining = model.training;
        model.eval();
        try
        {
            using var _ = no_grad();
            long n = rawX.shape[0];
            for (long i = 0; i < n; i += batch)
            {
                using var scope = NewDisposeScope();
                var x = Missing.Impute(rawX.slice(0, i, Math.Min(n, i + batch), 1));
                var tokens = spec.Patchify(spec.IsDiscrete ? x : x.to(dtype)).to(device);
                onBatch(features(tokens).to(ScalarType.Float32).cpu(), i);
            }
        }
        finally
        {
            if (wasTraining) model.train();
        }
    }

    /// <summary>All features of rawX (N, ..RawShape) of a kind: (N, D) or (N, L, D), float32 on the CPU.</summary>
    public static Tensor Extract(MetaMaeModel model, Tensor rawX, FeatureKind kind, int batch = 256) =>
        Collect(model, rawX, batch, t => Of(model, t, kind));

    /// <summary>
    /// All features of rawX, written batch by batch into one (N, ..F) tensor allocated at the first batch. (A list of
    /// per-batch tensors joined at the end kept thousands of small blocks alive between each batch's large temporaries,
    /// and glibc's heap, which this process keeps rather than returns, grew with N: 1.0 GB beyond the output at 200,000
    /// samples; results/rss-features.txt.)
    /// </summary>
    internal static Tensor Collect(MetaMaeModel model, Tensor rawX, int batch, Func<Tensor, Tensor> features)
    {
        if (rawX.shape[0] == 0) throw new ArgumentException("no samples to extract features from (0 rows)");
        Tensor? output = null;                                                  // (N, ..F), float32 on the CPU
        try
        {
            Stream(model, rawX, batch, features, (f, start) =>
            {
                if (output is null)
                {
                    long width = f.shape.Skip(1).Aggregate(1L, (a, b) => a * b);
                    Runtime.MemoryBudget.Ensure(rawX.shape[0] * width * f.ElementSize,
                        $"the features of {rawX.shape[0]:N0} samples ({width:N0} values each)",
                        "probe mean features instead of tokens, or stream them to a file with metamae embed");
                }
                output ??= empty([rawX.shape[0], .. f.shape.Skip(1)], f.dtype).DetachFromDisposeScope();
                output.narrow(0, start, f.shape[0]).copy_(f);                   // rows start .. start + B
            });
            return output!;
        }
        catch
        {
            output?.Dispose();
            throw;
        }
    }
}
