using Bcm.Schedules;
using Bcm.Training;
using Xunit;

namespace Bcm.Tests;

/// <summary>The BCT pair sampler against the discretised log-normal it is meant to follow.</summary>
public sealed class PairSamplerTests
{
    [Fact]
    public void PairsFollowTheDiscretisedLogNormalWithoutTheTopIntervalAndWithUNotT()
    {
        var grid = KarrasGrid.Ascending(21);
        var sampler = new BctPairSampler(grid, -1.1, 2.0);
        var p = DiscretisedLogNormal.IntervalProbabilities(grid, -1.1, 2.0);
        const int draws = 200_000;
        var intervals = new int[grid.Length - 1];
        var uGivenFirst = new int[grid.Length];
        var rng = new Random(12345);
        for (int i = 0; i < draws; i++)
        {
            var (n, m) = sampler.Draw(rng);
            Assert.InRange(n, 0, grid.Length - 3); // the top interval (t = T) is never a CT pair
            Assert.NotEqual(n + 1, m);             // u ≠ t
            intervals[n]++;
            if (n == 5) uGivenFirst[m]++;
        }
        // P(n) ∝ p[n] without the top interval: every frequency within 5 standard errors.
        double rest = 1 - p[^1];
        for (int n = 0; n < intervals.Length; n++)
        {
            double expected = n == intervals.Length - 1 ? 0 : p[n] / rest;
            double se = Math.Sqrt(expected * (1 - expected) / draws) + 1e-9;
            Assert.True(Math.Abs(intervals[n] / (double)draws - expected) <= 5 * se + 1e-6, $"interval {n}: {intervals[n] / (double)draws} vs {expected}");
        }
        // P(m | n = 5) ∝ p[m] with m = 6 removed.
        int total = uGivenFirst.Sum();
        var expectedU = sampler.UProbabilities(5);
        Assert.Equal(0, expectedU[6]);
        for (int m = 0; m < expectedU.Length; m++)
        {
            double se = Math.Sqrt(expectedU[m] * (1 - expectedU[m]) / total) + 1e-9;
            Assert.True(Math.Abs(uGivenFirst[m] / (double)total - expectedU[m]) <= 5 * se + 1e-6, $"u index {m}: {uGivenFirst[m] / (double)total} vs {expectedU[m]}");
        }
    }

    [Fact]
    public void GridsTooSmallForAPairAreRefused() =>
        Assert.Throws<ArgumentException>(() => new BctPairSampler(KarrasGrid.Ascending(2), -1.1, 2.0));
}
