namespace Bcm.Studio;

/// <summary>
/// One model evaluation at a time, in arrival order: a request waits for its turn (and leaves the queue when its client
/// goes away); each waiting request has a ticket whose position the page can ask for while it waits.
/// </summary>
/// <remarks>The library is safe under collections that the server's other threads start while a request runs
/// (<c>Bcm.Tensors.ScalarMath</c>), so requests run with the runtime's ordinary garbage collection.</remarks>
internal sealed class EvaluationQueue
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
                return await Task.Run(() => work(cancel), CancellationToken.None);
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
}
