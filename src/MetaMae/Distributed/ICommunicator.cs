namespace MetaMae.Distributed;

/// <summary>What data-parallel training needs of a process group (Mpi implements it over Open MPI).</summary>
public interface ICommunicator
{
    int Rank { get; }
    int Size { get; }
    /// <summary>Element-wise sum over all ranks, in place.</summary>
    void AllreduceSum(Span<float> data);
    /// <summary>Copies root's buffer to every rank.</summary>
    void Broadcast(Span<float> data, int root = 0);
}
