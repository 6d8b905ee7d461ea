using System.Runtime.InteropServices;

namespace MetaMae.Distributed;

/// <summary>
/// The handful of MPI calls data-parallel training needs (init, rank, size, allreduce, broadcast,
/// barrier, abort, finalize), as a thin P/Invoke layer over Open MPI's libmpi (Debian's
/// openmpi-bin / libopenmpi3). Open MPI's handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM) are
/// addresses of exported globals, looked up at run time. Nothing here is touched, and no MPI
/// library is needed, unless the process was started by mpirun with more than one rank.
/// </summary>
public sealed class Mpi : ICommunicator, IDisposable
{
    private static readonly string[] LibraryNames = ["libmpi.so.40", "libmpi.so"];
    private static readonly IntPtr InPlace = 1;      // Open MPI's MPI_IN_PLACE

    private readonly IntPtr lib;
    private readonly IntPtr commWorld, mpiFloat, mpiDouble, mpiSum;
    private readonly Init init;
    private readonly Finalize finalize;
    private readonly CommInt commRank, commSize;
    private readonly Allreduce allreduce;
    private readonly Bcast bcast;
    private readonly BarrierFn barrier;
    private readonly Abort abort;
    private bool disposed;

    public int Rank { get; }
    public int Size { get; }

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int Init(IntPtr argc, IntPtr argv);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int Finalize();
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int CommInt(IntPtr comm, out int value);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int Allreduce(IntPtr send, IntPtr recv, int count, IntPtr type, IntPtr op, IntPtr comm);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate int Bcast(IntPtr buf, int count, IntPtr type, int root, IntPtr comm);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int BarrierFn(IntPtr comm);
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)] private delegate int Abort(IntPtr comm, int code);

    /// <summary>World size announced by the launcher (Open MPI, or a PMI-based one); 1 without mpirun.</summary>
    public static int LaunchedSize()
    {
        foreach (var v in new[] { "OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE" })
            if (int.TryParse(Environment.GetEnvironmentVariable(v), out var n) && n > 0) return n;
        return 1;
    }

    /// <summary>Initialises MPI when started by mpirun with more than one rank; null otherwise.</summary>
    public static Mpi? StartIfLaunched() => LaunchedSize() > 1 ? new Mpi() : null;

    private Mpi()
    {
        lib = IntPtr.Zero;
        foreach (var name in LibraryNames)
            if (NativeLibrary.TryLoad(name, out lib)) break;
        if (lib == IntPtr.Zero)
            throw new DllNotFoundException("started by mpirun but libmpi.so.40 (Open MPI) cannot be loaded; " +
                "install openmpi-bin / libopenmpi3");
        T Fn<T>(string name) where T : Delegate => Marshal.GetDelegateForFunctionPointer<T>(NativeLibrary.GetExport(lib, name));
        IntPtr Global(string name) => NativeLibrary.TryGetExport(lib, name, out var p) ? p
            : throw new EntryPointNotFoundException($"{name} not found in libmpi: only Open MPI's ABI is supported");
        init = Fn<Init>("MPI_Init");
        finalize = Fn<Finalize>("MPI_Finalize");
        commRank = Fn<CommInt>("MPI_Comm_rank");
        commSize = Fn<CommInt>("MPI_Comm_size");
        allreduce = Fn<Allreduce>("MPI_Allreduce");
        bcast = Fn<Bcast>("MPI_Bcast");
        barrier = Fn<BarrierFn>("MPI_Barrier");
        abort = Fn<Abort>("MPI_Abort");
        commWorld = Global("ompi_mpi_comm_world");
        mpiFloat = Global("ompi_mpi_float");
        mpiDouble = Global("ompi_mpi_double");
        mpiSum = Global("ompi_mpi_op_sum");
        Check(init(IntPtr.Zero, IntPtr.Zero), "MPI_Init");
        Check(commRank(commWorld, out var r), "MPI_Comm_rank");
        Check(commSize(commWorld, out var s), "MPI_Comm_size");
        Rank = r;
        Size = s;
    }

    private static void Check(int rc, string what)
    {
        if (rc != 0) throw new InvalidOperationException($"{what} failed with MPI error code {rc}");
    }

    /// <summary>Element-wise sum over all ranks, in place.</summary>
    public unsafe void AllreduceSum(Span<float> data)
    {
        fixed (float* p = data) Check(allreduce(InPlace, (IntPtr)p, data.Length, mpiFloat, mpiSum, commWorld), "MPI_Allreduce");
    }

    public unsafe void AllreduceSum(Span<double> data)
    {
        fixed (double* p = data) Check(allreduce(InPlace, (IntPtr)p, data.Length, mpiDouble, mpiSum, commWorld), "MPI_Allreduce");
    }

    /// <summary>Copies root's buffer to every rank.</summary>
    public unsafe void Broadcast(Span<float> data, int root = 0)
    {
        fixed (float* p = data) Check(bcast((IntPtr)p, data.Length, mpiFloat, root, commWorld), "MPI_Bcast");
    }

    public unsafe void Broadcast(Span<double> data, int root = 0)
    {
        fixed (double* p = data) Check(bcast((IntPtr)p, data.Length, mpiDouble, root, commWorld), "MPI_Bcast");
    }

    public void Barrier() => Check(barrier(commWorld), "MPI_Barrier");

    /// <summary>Ends every rank of the job (after an error on this one, so that no rank hangs).</summary>
    public void AbortAll(int code) => abort(commWorld, code);

    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        finalize();
    }
}
