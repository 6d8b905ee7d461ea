using MetaMae.Distributed;
using static TorchSharp.torch;

namespace MetaMae.Distributed;

/// <summary>
/// How one optimizer step's global batch is split: over Comm.Size processes (MPI ranks; each takes a
/// disjoint contiguous part), and within a process into Accumulate micro-batches run one after the
/// other. Gradients are averaged over all shards (loss / Accumulate locally, then one allreduce of a
/// flattened buffer divided by the number of ranks), so every rank takes the same optimizer step.
/// </summary>
public sealed record DataParallel(int Accumulate = 1, ICommunicator? Comm = null)
{
    public int Ranks => Comm?.Size ?? 1;
    public int Rank => Comm?.Rank ?? 0;
    /// <summary>Only rank 0 writes checkpoints, metrics, TensorBoard and progress.</summary>
    public bool Writes => Rank == 0;

    /// <summary>Rows of one micro-batch; the global batch must divide by ranks x accumulate.</summary>
    public int MicroBatch(int batch)
    {
        if (Accumulate < 1) throw new ArgumentException($"--accumulate must be >= 1 (got {Accumulate})");
        int shards = Ranks * Accumulate;
        if (batch % shards != 0)
            throw new ArgumentException($"--batch {batch} does not divide into {Ranks} process(es) " +
                $"x --accumulate {Accumulate} = {shards} equal shards; choose a batch that is a multiple of {shards}");
        return batch / shards;
    }

    /// <summary>First row, within the global batch, of micro-batch k of this rank.</summary>
    public int ShardStart(int batch, int k) => Rank * (batch / Ranks) + k * MicroBatch(batch);

    /// <summary>Rank 0's values of the parameters copied to every rank (one flattened buffer).</summary>
    public static void BroadcastParameters(IReadOnlyList<Tensor> parameters, ICommunicator comm)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var buf = cat(parameters.Select(p => p.detach().flatten().to(ScalarType.Float32, CPU)).ToList()).data<float>().ToArray();
        comm.Broadcast(buf, 0);
        CopyBack(tensor(buf), parameters);
    }

    /// <summary>
    /// Averages the gradients of the parameters (those that have one) and the values in extras over
    /// all ranks with one allreduce of a single flattened float buffer. Every rank must pass the same
    /// parameters in the same order (they do: the same model and objective).
    /// </summary>
    public static void AverageGradients(IReadOnlyList<Tensor> parameters, ICommunicator comm, double[] extras)
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var grads = parameters.Where(p => p.grad is not null).Select(p => p.grad!).ToList();
        var pieces = grads.Select(g => g.flatten().to(ScalarType.Float32, CPU)).ToList();
        pieces.Add(tensor(extras.Select(v => (float)v).ToArray()));
        var buf = cat(pieces).data<float>().ToArray();
        comm.AllreduceSum(buf);
        var flat = tensor(buf).div_(comm.Size);
        CopyBack(flat, grads);
        var tail = flat.narrow(0, flat.shape[0] - extras.Length, extras.Length).to(ScalarType.Float64).data<double>().ToArray();
        tail.CopyTo(extras, 0);
    }

    private static void CopyBack(Tensor flat, IEnumerable<Tensor> targets)
    {
        long off = 0;
        foreach (var t in targets)
        {
            long n = t.numel();
            t.copy_(flat.narrow(0, off, n).view(t.shape));   // copy_ converts dtype and device
            off += n;
        }
    }
}
