using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace MetaMae.Runtime;

/// <summary>The address of a CPU tensor's first element, storage offset included (TorchSharp exposes no span over a
/// tensor's memory): what the C# kernels write through (FastDropout's mask, AdamWKernel's update).</summary>
internal static unsafe class NativeTensor
{
    [DllImport("LibTorchSharp")]
    private static extern IntPtr THSTensor_data(IntPtr tensor);

    /// <summary>Whether this TorchSharp's wrapper has the entry point and it gives the elements' address (looked up
    /// once; without it FastDropout falls back to libtorch's dropout).</summary>
    public static readonly bool Available = Probe();

    /// <summary>t's first float32 element; t must be a contiguous float32 CPU tensor.</summary>
    public static float* Floats(Tensor t) => (float*)THSTensor_data(t.Handle);

    private static bool Probe()
    {
        try
        {
            using var t = tensor(new float[] { 1f, 2f });
            return Floats(t)[1] == 2f;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return false; }
    }
}
