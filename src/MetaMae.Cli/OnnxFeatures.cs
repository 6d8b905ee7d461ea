using MetaMae.Modalities;

namespace MetaMae.Cli;

/// <summary>An <see cref="OnnxEncoder"/> as a <see cref="FeatureSource"/> for <see cref="Embeddings"/>.</summary>
public static class OnnxFeatures
{
    /// <summary>Raw samples (N, ..RawShape) in batches through ONNX Runtime; each batch's features a float32 tensor.</summary>
    public static FeatureSource Source(OnnxEncoder encoder) =>
        new(encoder.Info.Spec, encoder.Info.OutputShape[1..], (x, batch, onBatch) => Stream(encoder, x, batch, onBatch));

    private static void Stream(OnnxEncoder encoder, Tensor rawX, int batch, Action<Tensor, long> onBatch)
    {
        if (batch < 1) throw new ArgumentException($"batch must be >= 1 (got {batch})");
        encoder.Info.Spec.CheckBatch(rawX, encoder.Path);
        long n = rawX.shape[0];
        for (long i = 0; i < n; i += batch)
        {
            using var scope = NewDisposeScope();
            long rows = Math.Min(n, i + batch) - i;
            using var x = rawX.slice(0, i, i + rows, 1).contiguous();
            float[] f = encoder.Info.Spec is TokenSpec
                ? encoder.Run(x.to(ScalarType.Int64).data<long>().ToArray(), rows)
                : encoder.Run(x.to(ScalarType.Float32).data<float>().ToArray(), rows);
            onBatch(tensor(f, [rows, .. encoder.Info.OutputShape[1..]]), i);
        }
    }

    /// <summary>All features of rawX (N, ..RawShape): (N, D) or (N, L, D) float32.</summary>
    public static Tensor Extract(OnnxEncoder encoder, Tensor rawX, int batch = 256)
    {
        var output = empty([rawX.shape[0], .. encoder.Info.OutputShape[1..]], ScalarType.Float32);
        Stream(encoder, rawX, batch, (f, start) => output.narrow(0, start, f.shape[0]).copy_(f));
        return output;
    }
}
