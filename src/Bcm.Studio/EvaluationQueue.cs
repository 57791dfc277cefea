using System.Runtime;

namespace Bcm.Studio;

/// <summary>
/// One model evaluation at a time, in arrival order: a request waits for its turn (and leaves the queue when its client
/// goes away); each waiting request has a ticket whose position the page can ask for while it waits.
/// </summary>
/// <param name="noCollectionBudget">Managed bytes a request may allocate (on any thread) before the runtime may collect again.</param>
internal sealed class EvaluationQueue(long noCollectionBudget = 64L << 20)
{
    private readonly SemaphoreSlim gate = new(1, 1);
    private readonly LinkedList<string> tickets = new(); // arrival order; the first is running (or about to)
    private readonly Lock sync = new();

    /// <summary>Where <paramref name="ticket"/> stands: 0 running, k with k requests before it, −1 unknown (done or never queued).</summary>
    public int Position(string ticket)
    {
        lock (sync)
        {
            int i = 0;
            for (var node = tickets.First; node is not null; node = node.Next, i++)
                if (node.Value == ticket) return i;
            return -1;
        }
    }

    /// <summary>Requests queued or running.</summary>
    public int Length
    {
        get { lock (sync) return tickets.Count; }
    }

    /// <summary>
    /// Runs <paramref name="work"/> when every earlier request is done. Cancelling <paramref name="cancel"/> takes a waiting
    /// request out of the queue; running work sees the token and stops at its next check, and the next request starts
    /// only when it has.
    /// </summary>
    public async Task<T> Run<T>(string ticket, Func<CancellationToken, T> work, CancellationToken cancel)
    {
        LinkedListNode<string> node;
        lock (sync) node = tickets.AddLast(ticket);
        try
        {
            await gate.WaitAsync(cancel);
            try
            {
                cancel.ThrowIfCancellationRequested();
                return await Task.Run(() => WithoutCollections(() => work(cancel)), CancellationToken.None);
            }
            finally
            {
                gate.Release();
            }
        }
        finally
        {
            lock (sync) tickets.Remove(node);
        }
    }

    // TorchSharp 0.107 hands libtorch the native handle of an implicit Scalar (`x * 0.5`) without keeping the Scalar
    // alive, so a collection that another thread starts during the native call may finalize it while libtorch reads it
    // (tools/scalar-race). The server's threads allocate while a request runs; so no collection may start during one.
    private T WithoutCollections<T>(Func<T> work)
    {
        bool region;
        try
        {
            region = GC.TryStartNoGCRegion(noCollectionBudget);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentOutOfRangeException)
        {
            region = false; // a region already in progress, or a runtime that does not allow this budget
        }
        try
        {
            return work();
        }
        finally
        {
            if (region && GCSettings.LatencyMode == GCLatencyMode.NoGCRegion) GC.EndNoGCRegion();
        }
    }
}
