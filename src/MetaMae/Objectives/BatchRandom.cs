using static TorchSharp.torch;

namespace MetaMae.Objectives;

/// <summary>
/// The per-sample random draws of one step, independent of how the global batch is split. Every
/// draw is made for the whole global batch (GlobalBatch rows) from the step's generator, and this
/// shard keeps rows [Start, Start + rows). A shard (a micro-batch of --accumulate, or an MPI rank's
/// part) that starts from a generator seeded like the step's therefore gets exactly the rows the
/// unsplit batch would get. With GlobalBatch = 0 (a plain Generator converts to this) a draw is of
/// the rows asked for: the whole batch, as before sharding existed.
/// </summary>
public sealed class BatchRandom(Generator generator, long start = 0, long globalBatch = 0)
{
    public Generator Generator { get; } = generator;
    public long Start { get; } = start;
    /// <summary>Rows of the global batch; 0 = this shard is the whole batch.</summary>
    public long GlobalBatch { get; } = globalBatch;

    public static implicit operator BatchRandom(Generator generator) => new(generator);

    /// <summary>Uniform [0, 1) noise (rows, cols) on the CPU: this shard's rows of a (GlobalBatch, cols) draw.</summary>
    public Tensor Rand(long rows, long cols)
    {
        if (GlobalBatch == 0) return rand(rows, cols, generator: Generator);
        if (Start < 0 || Start + rows > GlobalBatch)
            throw new ArgumentException($"shard rows [{Start}, {Start + rows}) lie outside the global batch of {GlobalBatch}");
        using var all = rand(GlobalBatch, cols, generator: Generator);
        return all.narrow(0, Start, rows).clone();
    }
}
