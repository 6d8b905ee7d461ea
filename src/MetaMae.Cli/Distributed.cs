using MetaMae.Distributed;

namespace MetaMae.Cli;

/// <summary>
/// `mpirun -np N metamae pretrain ...`: MPI is initialised only when mpirun started more than one
/// rank (without it no MPI library is loaded). An error on any rank is printed with the rank and ends
/// the whole job (MPI_Abort), so no other rank waits forever in an allreduce.
/// </summary>
internal static class DistributedCli
{
    public static int Run(int accumulate, Func<DataParallel, int> body)
    {
        using var mpi = Mpi.StartIfLaunched();
        var par = new DataParallel(accumulate, mpi);
        if (mpi is null) return body(par);
        try
        {
            return body(par);
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"error: rank {mpi.Rank} of {mpi.Size}: {e.Message}");
            Console.Error.Flush();
            mpi.AbortAll(e is ArithmeticException ? 1 : 2);
            throw;
        }
    }

    /// <summary>Processes of this job on this host (mpirun's local size; 1 without mpirun).</summary>
    public static int LocalRanks() =>
        int.TryParse(Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_LOCAL_SIZE"), out var n) && n > 0 ? n : 1;
}
