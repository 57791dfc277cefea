namespace Bcm.Distributed;

/// <summary>
/// The processes of one job and the collective operations data-parallel training and sharded evaluation need. Every
/// rank must call each collective in the same order with the same sizes (the MPI rule); a rank that cannot go on
/// calls <see cref="Abort"/>, which stops them all.
/// </summary>
public interface ICommunicator
{
    /// <summary>This process's index, 0..Size−1; rank 0 alone writes files.</summary>
    int Rank { get; }

    /// <summary>Number of processes in the job (1 when not started by mpirun).</summary>
    int Size { get; }

    /// <summary>Sums <paramref name="values"/> element-wise over all ranks, in place on every rank.</summary>
    void AllReduceSum(Span<float> values);

    /// <summary>Sums <paramref name="values"/> element-wise over all ranks, in place on every rank.</summary>
    void AllReduceSum(Span<double> values);

    /// <summary>Copies <paramref name="values"/> of rank <paramref name="root"/> to every rank.</summary>
    void Broadcast(Span<byte> values, int root = 0);

    /// <summary>
    /// Concatenates every rank's <paramref name="local"/> in rank order on rank <paramref name="root"/> (the ranks may
    /// hold different lengths); other ranks get an empty array.
    /// </summary>
    float[] Gather(ReadOnlySpan<float> local, int root = 0);

    /// <summary>As <see cref="Gather(ReadOnlySpan{float}, int)"/> for doubles.</summary>
    double[] Gather(ReadOnlySpan<double> local, int root = 0);

    /// <summary>Waits until every rank has called it.</summary>
    void Barrier();

    /// <summary>Stops every process of the job with <paramref name="exitCode"/>; does not return.</summary>
    void Abort(int exitCode);
}

/// <summary>One process alone: every collective is the identity.</summary>
public sealed class SingleProcess : ICommunicator
{
    /// <summary>The one instance.</summary>
    public static readonly SingleProcess Instance = new();

    private SingleProcess() { }

    /// <inheritdoc/>
    public int Rank => 0;
    /// <inheritdoc/>
    public int Size => 1;
    /// <inheritdoc/>
    public void AllReduceSum(Span<float> values) { }
    /// <inheritdoc/>
    public void AllReduceSum(Span<double> values) { }
    /// <inheritdoc/>
    public void Broadcast(Span<byte> values, int root = 0) { }
    /// <inheritdoc/>
    public float[] Gather(ReadOnlySpan<float> local, int root = 0) => local.ToArray();
    /// <inheritdoc/>
    public double[] Gather(ReadOnlySpan<double> local, int root = 0) => local.ToArray();
    /// <inheritdoc/>
    public void Barrier() { }
    /// <inheritdoc/>
    public void Abort(int exitCode) => Environment.Exit(exitCode);
}

/// <summary>MPI cannot be used: the library is missing, not Open MPI, or failed to start.</summary>
public sealed class DistributedException(string message) : Errors.BadInputException(message);
