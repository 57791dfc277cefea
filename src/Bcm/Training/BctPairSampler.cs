using Bcm.Schedules;

namespace Bcm.Training;

/// <summary>
/// The noise-level pairs of bidirectional consistency training (method §4) on a Karras grid ts of N points: the
/// consistency pair (s, t) = (ts[n], ts[n+1]) with n drawn from iCT's discretised log-normal over the intervals, the top
/// interval excluded (t = T is never a CT pair); and the soft-term level u = ts[m] with m drawn from the same
/// distribution with entry n+1 removed (u ≠ t), so u lies below or above t.
/// </summary>
internal sealed class BctPairSampler
{
    private readonly double[] p;

    /// <summary>Pairs on <paramref name="grid"/> (ascending noise levels) with the discretised log-normal of mean <paramref name="pMean"/> and deviation <paramref name="pStd"/>.</summary>
    /// <exception cref="ArgumentException">The grid has fewer than 3 levels.</exception>
    public BctPairSampler(IReadOnlyList<double> grid, double pMean, double pStd)
    {
        if (grid.Count < 3) throw new ArgumentException($"BCT pairs need a grid of at least 3 levels, got {grid.Count}");
        Grid = grid;
        p = DiscretisedLogNormal.IntervalProbabilities(grid, pMean, pStd);
        var ct = (double[])p.Clone();
        ct[^1] = 0; // the top interval is never a CT pair
        IntervalProbabilities = DiscretisedLogNormal.Normalise(ct);
    }

    /// <summary>The grid ts, increasing from ε to T.</summary>
    public IReadOnlyList<double> Grid { get; }

    /// <summary>P(n): the distribution of the consistency interval (zero on the top interval).</summary>
    public IReadOnlyList<double> IntervalProbabilities { get; }

    /// <summary>P(m | n): the soft-term index given the interval, with m = n + 1 (u = t) removed.</summary>
    public double[] UProbabilities(int interval)
    {
        var pU = (double[])p.Clone();
        pU[interval + 1] = 0; // n ≤ N−3 because the top interval is excluded, so n+1 is a valid entry
        return DiscretisedLogNormal.Normalise(pU);
    }

    /// <summary>One pair: n (t = ts[n+1], s = ts[n]) and m (u = ts[m]), from two uniforms of <paramref name="rng"/>.</summary>
    public (int Interval, int UIndex) Draw(Random rng)
    {
        int n = DiscretisedLogNormal.Draw(IntervalProbabilities, rng.NextDouble());
        int m = DiscretisedLogNormal.Draw(UProbabilities(n), rng.NextDouble());
        return (n, m);
    }
}
