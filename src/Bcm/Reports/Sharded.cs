using Bcm.Distributed;
using Bcm.Model;
using Bcm.Plans;
using static TorchSharp.torch;

namespace Bcm.Reports;

/// <summary>
/// Work split over the ranks of a job (<c>mpirun -np N bcm sample</c>): each rank takes a contiguous share of the
/// items, as EDM's generate.py does with seeds, and rank 0 gathers the results. Since every sample depends on its own
/// seed only, the gathered samples equal one process's.
/// </summary>
public static class Sharded
{
    /// <summary>The contiguous share [Start, Start + Count) of <paramref name="total"/> items for <paramref name="rank"/> of <paramref name="size"/>.</summary>
    public static (int Start, int Count) Share(int total, int rank, int size)
    {
        if (size < 1 || rank < 0 || rank >= size) throw new ArgumentException($"rank {rank} of {size}");
        int start = (int)((long)total * rank / size), end = (int)((long)total * (rank + 1) / size);
        return (start, end - start);
    }

    /// <summary>
    /// Per-item columns measured by each rank on its share of <paramref name="total"/> items (each column as long as
    /// the rank's share), concatenated in rank order on rank 0 (the order of one process); null on other ranks.
    /// </summary>
    public static double[][]? GatherColumns(ICommunicator comm, int total, params double[][] columns)
    {
        if (comm.Size == 1) return columns;
        var all = comm.Gather(columns.SelectMany(c => c).ToArray());
        if (comm.Rank != 0) return null;
        var result = columns.Select(_ => new List<double>(total)).ToArray();
        int offset = 0;
        for (int r = 0; r < comm.Size; r++)
        {
            int m = Share(total, r, comm.Size).Count;
            for (int c = 0; c < columns.Length; c++, offset += m) result[c].AddRange(all[offset..(offset + m)]);
        }
        return result.Select(c => c.ToArray()).ToArray();
    }

    /// <summary>One rank's samples and where they start in the run; <see cref="All"/> holds every rank's, in order, on rank 0 only.</summary>
    public sealed record Samples(Tensor Local, int First, Tensor? All) : IDisposable
    {
        /// <summary>Frees this rank's samples and the gathered ones.</summary>
        public void Dispose()
        {
            Local.Dispose();
            if (!ReferenceEquals(All, Local)) All?.Dispose();
        }
    }

    /// <summary>
    /// <see cref="PlanRunner.Generate"/> of <paramref name="count"/> samples split over the ranks of <paramref name="comm"/>
    /// (every rank must call it). Each rank needs at least one sample: <paramref name="count"/> ≥ the number of ranks.
    /// </summary>
    public static Samples Generate(ICommunicator comm, BcmModel model, Plan plan, int count, long seed, int batchSize = 64, int? label = null,
        Action<int, PlanProgress>? callback = null, IProgress<int>? progress = null)
    {
        if (count < comm.Size) throw new ArgumentException($"{count} samples cannot be shared by {comm.Size} processes: ask for at least {comm.Size}");
        var (first, mine) = Share(count, comm.Rank, comm.Size);
        var local = PlanRunner.Generate(model, plan, mine, seed, batchSize, label, callback, progress, first);
        if (comm.Size == 1) return new Samples(local, 0, local);
        using var flat = local.to(float32).contiguous();
        var all = comm.Gather(flat.data<float>().ToArray());
        Tensor? gathered = comm.Rank == 0 ? tensor(all, [count, .. model.Network.SampleShape]).to(local.dtype) : null;
        return new Samples(local, first, gathered);
    }
}
