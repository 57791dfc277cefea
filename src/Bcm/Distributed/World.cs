namespace Bcm.Distributed;

/// <summary>
/// The job this process belongs to. Outside mpirun (no <c>OMPI_COMM_WORLD_SIZE</c> in the environment) it is one
/// process and no MPI library is needed or loaded; under <c>mpirun -np N</c> with N &gt; 1 it is Open MPI's world
/// communicator, started on first use.
/// </summary>
public static class World
{
    private static ICommunicator? current;
    private static readonly Lock Gate = new();

    /// <summary>The job's communicator (started on first use; <see cref="SingleProcess"/> outside mpirun).</summary>
    public static ICommunicator Current
    {
        get
        {
            lock (Gate) return current ??= Open();
        }
    }

    /// <summary>The communicator if one was started with several ranks, else null (does not start MPI).</summary>
    public static ICommunicator? Started
    {
        get
        {
            lock (Gate) return current is { Size: > 1 } ? current : null;
        }
    }

    /// <summary>Size of the job from the launcher's environment, without starting MPI (1 outside mpirun).</summary>
    public static int LaunchedSize =>
        int.TryParse(Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE"), out int n) && n > 0 ? n : 1;

    /// <summary>True when a launcher other than Open MPI's started this process with several ranks.</summary>
    private static bool OtherLauncher =>
        Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE") is null
        && (int.TryParse(Environment.GetEnvironmentVariable("PMI_SIZE"), out int p) && p > 1
            || int.TryParse(Environment.GetEnvironmentVariable("PMIX_SIZE"), out int q) && q > 1);

    private static ICommunicator Open()
    {
        if (OtherLauncher)
            throw new DistributedException("this process was started by an MPI launcher other than Open MPI's (PMI_SIZE/PMIX_SIZE set): " +
                                           "bcm binds Open MPI only; launch it with Open MPI's mpirun");
        return LaunchedSize > 1 ? OpenMpi.Start() : SingleProcess.Instance;
    }

    /// <summary>Ends MPI cleanly if it was started (every rank must call it); a no-op otherwise.</summary>
    public static void Shutdown()
    {
        lock (Gate)
            if (current is OpenMpi mpi) mpi.Finalise();
    }
}
