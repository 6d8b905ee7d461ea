using TorchSharp;

// libtorch's global RNG (init, dropout) is process-wide: tests that compare runs must not interleave.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace MetaMae.Tests;

internal static class Tmp
{
    public static string Dir(string name)
    {
        var d = Path.Combine(Path.GetTempPath(), "metamae-tests", name + "-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(d);
        return d;
    }

    static Tmp() => torch.set_num_threads(2);
}

internal static class T
{
    /// <summary>Same shape and exactly the same values.</summary>
    public static bool Same(torch.Tensor a, torch.Tensor b) =>
        a.shape.SequenceEqual(b.shape) && a.dtype == b.dtype && a.eq(b).all().item<bool>();
}
