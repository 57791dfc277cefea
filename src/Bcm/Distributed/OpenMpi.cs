using System.Runtime.InteropServices;

namespace Bcm.Distributed;

/// <summary>
/// A thin binding of the few MPI calls we use, to Open MPI's <c>libmpi.so.40</c>, loaded at run time (no build-time
/// dependency). Open MPI's handles are exported objects: MPI_COMM_WORLD is the address of <c>ompi_mpi_comm_world</c>,
/// MPI_FLOAT of <c>ompi_mpi_float</c>, MPI_SUM of <c>ompi_mpi_op_sum</c>; MPI_IN_PLACE is (void*)1. Other MPIs (MPICH,
/// Intel MPI) use integer handles and are refused with a message. The library is opened RTLD_GLOBAL, as mpi4py does,
/// so that Open MPI's plugins find its symbols; <c>BCM_MPI_LIBRARY</c> names another path.
/// </summary>
internal sealed unsafe class OpenMpi : ICommunicator
{
    private const string Install = "install Open MPI (Debian/Ubuntu: apt-get install openmpi-bin; it brings libmpi.so.40), " +
                                   "or set BCM_MPI_LIBRARY to the path of Open MPI's libmpi.so";
    private const int ThreadSerialized = 2;
    private static readonly IntPtr InPlace = 1;

    private readonly IntPtr world, mpiFloat, mpiDouble, mpiByte, mpiInt, opSum;
    private readonly delegate* unmanaged<int*, IntPtr, int, int*, int> initThread;
    private readonly delegate* unmanaged<int*, int> finalized;
    private readonly delegate* unmanaged<int> finalize;
    private readonly delegate* unmanaged<IntPtr, int*, int> commRank, commSize;
    private readonly delegate* unmanaged<IntPtr, IntPtr, int, IntPtr, IntPtr, IntPtr, int> allreduce;
    private readonly delegate* unmanaged<IntPtr, int, IntPtr, int, IntPtr, int> bcast;
    private readonly delegate* unmanaged<IntPtr, int, IntPtr, IntPtr, int, IntPtr, int, IntPtr, int> gather;
    private readonly delegate* unmanaged<IntPtr, int, IntPtr, IntPtr, int*, int*, IntPtr, int, IntPtr, int> gatherv;
    private readonly delegate* unmanaged<IntPtr, int> barrier;
    private readonly delegate* unmanaged<IntPtr, int, int> abort;
    private bool finalised;

    public int Rank { get; }
    public int Size { get; }

    private OpenMpi(IntPtr lib, string name)
    {
        IntPtr Symbol(string symbol) => NativeLibrary.TryGetExport(lib, symbol, out var p) ? p
            : throw new DistributedException($"{name} has no symbol {symbol}: " +
                                             (symbol.StartsWith("ompi_", StringComparison.Ordinal) ? "it is not Open MPI (bcm binds Open MPI's ABI only); " : "") + Install);
        world = Symbol("ompi_mpi_comm_world");
        mpiFloat = Symbol("ompi_mpi_float");
        mpiDouble = Symbol("ompi_mpi_double");
        mpiByte = Symbol("ompi_mpi_byte");
        mpiInt = Symbol("ompi_mpi_int");
        opSum = Symbol("ompi_mpi_op_sum");
        initThread = (delegate* unmanaged<int*, IntPtr, int, int*, int>)Symbol("MPI_Init_thread");
        finalized = (delegate* unmanaged<int*, int>)Symbol("MPI_Finalized");
        finalize = (delegate* unmanaged<int>)Symbol("MPI_Finalize");
        commRank = (delegate* unmanaged<IntPtr, int*, int>)Symbol("MPI_Comm_rank");
        commSize = (delegate* unmanaged<IntPtr, int*, int>)Symbol("MPI_Comm_size");
        allreduce = (delegate* unmanaged<IntPtr, IntPtr, int, IntPtr, IntPtr, IntPtr, int>)Symbol("MPI_Allreduce");
        bcast = (delegate* unmanaged<IntPtr, int, IntPtr, int, IntPtr, int>)Symbol("MPI_Bcast");
        gather = (delegate* unmanaged<IntPtr, int, IntPtr, IntPtr, int, IntPtr, int, IntPtr, int>)Symbol("MPI_Gather");
        gatherv = (delegate* unmanaged<IntPtr, int, IntPtr, IntPtr, int*, int*, IntPtr, int, IntPtr, int>)Symbol("MPI_Gatherv");
        barrier = (delegate* unmanaged<IntPtr, int>)Symbol("MPI_Barrier");
        abort = (delegate* unmanaged<IntPtr, int, int>)Symbol("MPI_Abort");

        int provided;
        Check(initThread(null, IntPtr.Zero, ThreadSerialized, &provided), "MPI_Init_thread");
        int rank, size;
        Check(commRank(world, &rank), "MPI_Comm_rank");
        Check(commSize(world, &size), "MPI_Comm_size");
        Rank = rank;
        Size = size;
    }

    /// <summary>Loads Open MPI and starts it (MPI_Init_thread, serialised calls).</summary>
    public static OpenMpi Start()
    {
        if (!OperatingSystem.IsLinux()) throw new DistributedException("MPI support is implemented for Linux only");
        // Open MPI would otherwise install handlers for SIGSEGV/SIGBUS/SIGFPE/SIGILL, which the .NET runtime uses itself
        // (null references, stack overflow checks). A value the user set wins.
        SetEnv("OMPI_MCA_opal_signal", "", overwrite: 0);
        string? given = Environment.GetEnvironmentVariable("BCM_MPI_LIBRARY");
        string[] candidates = given is { Length: > 0 } ? [given] : ["libmpi.so.40", "libmpi.so"];
        foreach (var name in candidates)
        {
            IntPtr lib = DlOpen(name, RtldNow | RtldGlobal);
            if (lib != IntPtr.Zero) return new OpenMpi(lib, name);
        }
        throw new DistributedException($"started by mpirun with {World.LaunchedSize} ranks, but the MPI library could not be loaded " +
                                       $"(tried {string.Join(", ", candidates)}): {Install}");
    }

    private static void Check(int code, string call)
    {
        if (code != 0) throw new DistributedException($"{call} failed with MPI error {code}");
    }

    public void AllReduceSum(Span<float> values)
    {
        fixed (float* p = values) Chunked(p, values.Length, sizeof(float), mpiFloat);
    }

    public void AllReduceSum(Span<double> values)
    {
        fixed (double* p = values) Chunked(p, values.Length, sizeof(double), mpiDouble);
    }

    // MPI counts are ints: reduce longer buffers in pieces.
    private void Chunked(void* data, int length, int elementSize, IntPtr type)
    {
        for (long done = 0; done < length;)
        {
            int count = (int)Math.Min(length - done, 1 << 30);
            Check(allreduce(InPlace, (IntPtr)((byte*)data + done * elementSize), count, type, opSum, world), "MPI_Allreduce");
            done += count;
        }
    }

    public void Broadcast(Span<byte> values, int root = 0)
    {
        fixed (byte* p = values) Check(bcast((IntPtr)p, values.Length, mpiByte, root, world), "MPI_Bcast");
    }

    public float[] Gather(ReadOnlySpan<float> local, int root = 0)
    {
        fixed (float* p = local) return GatherV<float>((IntPtr)p, local.Length, mpiFloat, root);
    }

    public double[] Gather(ReadOnlySpan<double> local, int root = 0)
    {
        fixed (double* p = local) return GatherV<double>((IntPtr)p, local.Length, mpiDouble, root);
    }

    // Counts first (MPI_Gather of one int per rank), then the data (MPI_Gatherv) into one array on the root.
    private T[] GatherV<T>(IntPtr local, int length, IntPtr type, int root) where T : unmanaged
    {
        var counts = new int[Size];
        fixed (int* c = counts) Check(gather((IntPtr)(&length), 1, mpiInt, (IntPtr)c, 1, mpiInt, root, world), "MPI_Gather");
        if (Rank != root)
        {
            Check(gatherv(local, length, type, IntPtr.Zero, null, null, type, root, world), "MPI_Gatherv");
            return [];
        }
        var displacements = new int[Size];
        long total = 0;
        for (int r = 0; r < Size; r++)
        {
            displacements[r] = (int)total;
            total += counts[r];
        }
        if (total > int.MaxValue) throw new DistributedException($"a gather of {total} values exceeds MPI's int count");
        var all = new T[total];
        fixed (T* a = all)
        fixed (int* c = counts)
        fixed (int* d = displacements)
            Check(gatherv(local, length, type, (IntPtr)a, c, d, type, root, world), "MPI_Gatherv");
        return all;
    }

    public void Barrier() => Check(barrier(world), "MPI_Barrier");

    public void Abort(int exitCode)
    {
        Console.Out.Flush();
        Console.Error.Flush();
        abort(world, exitCode);
        Environment.Exit(exitCode); // not reached: MPI_Abort ends the job
    }

    public void Finalise()
    {
        if (finalised) return;
        int done;
        finalized(&done);
        if (done == 0) Check(finalize(), "MPI_Finalize");
        finalised = true;
    }

    private const int RtldNow = 2, RtldGlobal = 0x100;

    [DllImport("libc.so.6", EntryPoint = "dlopen")]
    private static extern IntPtr DlOpen([MarshalAs(UnmanagedType.LPUTF8Str)] string file, int mode);

    [DllImport("libc.so.6", EntryPoint = "setenv")]
    private static extern int SetEnv([MarshalAs(UnmanagedType.LPUTF8Str)] string name, [MarshalAs(UnmanagedType.LPUTF8Str)] string value, int overwrite);
}
