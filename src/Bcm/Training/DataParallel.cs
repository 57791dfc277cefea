using Bcm.Distributed;
using TorchSharp.Modules;
using static TorchSharp.torch;
using Bcm.Tensors;

namespace Bcm.Training;

/// <summary>
/// Data-parallel training over the ranks of a job: each rank computes the gradient of its share of the global batch,
/// and one all-reduce per step (one flat float32 buffer: every gradient, then the step's loss, consistency and soft
/// terms and a stop flag) leaves every rank with the global-batch mean gradient and the same decision to stop. Since the
/// ranks then apply identical updates, their weights stay identical; <see cref="CheckInSync"/> verifies it with a
/// checksum and stops the job on divergence. With one process every method is the identity.
/// </summary>
internal sealed class DataParallel(ICommunicator comm, IReadOnlyList<Parameter> parameters)
{
    private const int Extras = 4; // loss, ct, soft, stop
    private float[]? buffer;

    public ICommunicator Communicator => comm;

    /// <summary>
    /// With BCM_ALLREDUCE_BARRIER=1 every rank waits at a barrier before the all-reduce, so that <see cref="LastAllReduceSeconds"/>
    /// measures the transfer alone rather than the transfer plus the wait for the slowest rank (for benchmarks; it costs a barrier per step).
    /// </summary>
    private static readonly bool SeparateWait = Environment.GetEnvironmentVariable("BCM_ALLREDUCE_BARRIER") is "1";

    /// <summary>Seconds the last <see cref="Reduce"/> spent in the all-reduce (null for one process).</summary>
    public double? LastAllReduceSeconds { get; private set; }

    /// <summary>
    /// Replaces each rank's gradients by their mean over the ranks, and averages the step's loss values; the stop flag
    /// is raised when any rank asked to stop. Call after backward, before clipping.
    /// </summary>
    public (double Loss, double Ct, double Soft, bool Stop) Reduce(double loss, double ct, double soft, bool stop)
    {
        if (comm.Size == 1) return (loss, ct, soft, stop);
        using var scope = NewDisposeScope();
        var grads = parameters.Select(p => p.grad ?? zeros_like(p)).ToArray();
        using var flat = cat(grads.Select(g => g.detach().flatten()).ToArray()).to(float32).cpu().contiguous();
        int n = (int)flat.numel();
        buffer ??= new float[n + Extras];
        flat.bytes.CopyTo(System.Runtime.InteropServices.MemoryMarshal.AsBytes(buffer.AsSpan(0, n)));
        buffer[n] = (float)loss;
        buffer[n + 1] = (float)ct;
        buffer[n + 2] = (float)soft;
        buffer[n + 3] = stop ? 1 : 0;
        if (SeparateWait) comm.Barrier(); // profiling: wait for the slowest rank first, so the time below is the transfer alone
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        comm.AllReduceSum(buffer);
        LastAllReduceSeconds = System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds;
        float scale = 1f / comm.Size;
        for (int i = 0; i < n + 3; i++) buffer[i] *= scale;
        flat.bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(buffer.AsSpan(0, n));
        long offset = 0;
        using var _ = no_grad();
        foreach (var p in parameters)
        {
            long count = p.numel();
            if (p.grad is not null) p.grad.copy_(flat.narrow(0, offset, count).view_as(p.grad));
            offset += count;
        }
        return (buffer[n], buffer[n + 1], buffer[n + 2], buffer[n + 3] > 0);
    }

    /// <summary>
    /// Checks that every rank holds the same weights (sum and sum of squares in float64, compared exactly on rank 0);
    /// on a mismatch rank 0 throws <see cref="TrainingDivergedException"/> (the caller then aborts the job, as after any error under MPI).
    /// </summary>
    public void CheckInSync(IEnumerable<Tensor> weights, long step)
    {
        if (comm.Size == 1) return;
        double sum = 0, squares = 0;
        using (no_grad())
            foreach (var w in weights)
            {
                using var d = w.detach().to(float64);
                sum += d.sum().item<double>();
                squares += d.Squared().sum().item<double>();
            }
        var all = comm.Gather([sum, squares]);
        if (comm.Rank != 0) return;
        for (int r = 1; r < comm.Size; r++)
            if (all[2 * r] != all[0] || all[2 * r + 1] != all[1])
                throw new TrainingDivergedException($"the weights of rank {r} differ from rank 0's at step {step} (checksum {all[2 * r]:R} vs {all[0]:R}): " +
                                                    "the ranks no longer train the same model; resume from the last checkpoint");
    }
}
