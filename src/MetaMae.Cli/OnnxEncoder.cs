using MetaMae.Interop;
using Microsoft.ML.OnnxRuntime;

namespace MetaMae.Cli;

/// <summary>
/// An exported encoder (<see cref="OnnxExport"/>) run by ONNX Runtime: raw samples in, features out, no libtorch in
/// the forward pass. Open checks the file first (<see cref="OnnxModelInfo.Read"/>): one InvalidDataException naming the
/// file when it is not ours, cut short, or ONNX Runtime cannot load it.
/// </summary>
public sealed class OnnxEncoder : IDisposable
{
    private readonly InferenceSession session;

    public OnnxModelInfo Info { get; }
    public string Path { get; }

    private OnnxEncoder(string path, OnnxModelInfo info, InferenceSession session)
    {
        Path = path;
        Info = info;
        this.session = session;
    }

    /// <param name="path">The .onnx file.</param>
    /// <param name="threads">Intra-op threads of ONNX Runtime (0: its default).</param>
    public static OnnxEncoder Open(string path, int threads = 0)
    {
        var info = OnnxModelInfo.Read(path);
        using var options = new SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1 };
        try
        {
            return new OnnxEncoder(path, info, new InferenceSession(path, options));
        }
        catch (OnnxRuntimeException e)
        {
            throw new InvalidDataException($"{path}: ONNX Runtime cannot load it ({e.Message.Split('\n')[0]})");
        }
    }

    /// <summary>Values per sample of the input (the product of the raw shape).</summary>
    public long InputWidth => Info.InputShape.Skip(1).Aggregate(1L, (a, b) => a * b);

    /// <summary>Values per sample of the output: D, or L*D for tokens.</summary>
    public long OutputWidth => Info.OutputShape.Skip(1).Aggregate(1L, (a, b) => a * b);

    /// <summary>Features of n float32 samples, row-major (n, ..RawShape) -> (n, ..F) row-major.</summary>
    public float[] Run(float[] raw, long n) => RunValue(OrtValue.CreateTensorValueFromMemory(raw, Shape(raw.Length, n)));

    /// <summary>Features of n samples of token ids (int64 inputs).</summary>
    public float[] Run(long[] ids, long n) => RunValue(OrtValue.CreateTensorValueFromMemory(ids, Shape(ids.Length, n)));

    private long[] Shape(long values, long n)
    {
        if (values != n * InputWidth)
            throw new ArgumentException($"{Path}: {values} input values for {n} samples of {InputWidth} " +
                $"({OnnxModelInfo.ShapeText(Info.InputShape)})");
        return [n, .. Info.InputShape.Skip(1)];
    }

    private float[] RunValue(OrtValue input)
    {
        using (input)
        {
            using var run = new RunOptions();
            using var outputs = session.Run(run, [OnnxExport.InputName], [input], [OnnxExport.OutputName]);
            return outputs[0].GetTensorDataAsSpan<float>().ToArray();
        }
    }

    public void Dispose() => session.Dispose();
}
