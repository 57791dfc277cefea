using Bcm.Data;
using Bcm.Oracle;
using Bcm.Reports;
using Xunit;

namespace Bcm.Tests;

/// <summary>The per-sample zigzag study against the exact ODE, with a perfect BCM of a Gaussian, where every error is known to be zero.</summary>
public sealed class ZigzagStudyTests
{
    [Fact]
    public void APerfectBcmNeitherDriftsNorErrsAndMultistepRedrawsItsSamples()
    {
        const double s = 0.7;
        var gauss = new GaussianMixture("gauss", [1.0], [[0.0, 0.0]], [[s * s, s * s]]);
        using var perfect = AnalyticGaussianNetwork.Model(2, s);
        var rows = ZigzagStudy.Run(perfect, null, new MixtureEvaluation(gauss), [0.5, 5], rounds: 3, samples: 64, seed: 3);
        Assert.Equal(2 * 2 * 4, rows.Count); // two samplers (no baseline) × two levels × rounds 0-3

        foreach (var r in rows.Where(r => r.Sampler == "bcm-zigzag"))
        {
            Assert.Equal(1 + 2 * r.Round, r.Nfe);
            Assert.True(r.ToExactP90 < 1e-4 && r.ToStartP90 < 1e-4, $"{r}");
            if (r.Round > 0) Assert.True(r.InversionErrorP90 < 1e-4 && r.GenerationErrorP90 < 1e-4, $"{r}");
        }
        foreach (var r in rows.Where(r => r.Sampler == "cm-multistep" && r.Round > 0))
        {
            Assert.Equal(1 + r.Round, r.Nfe);
            Assert.True(double.IsNaN(r.InversionErrorMedian)); // no jump up: fresh noise instead
            Assert.True(r.GenerationErrorP90 < 1e-4, $"{r}");   // its jump down is exact too
            Assert.True(r.ToStartMedian > 0.05, $"{r}");        // but fresh noise draws another sample
        }
    }

    [Fact]
    public void PercentilesInterpolateBetweenOrderStatistics()
    {
        Assert.Equal(2.5, ZigzagStudy.Percentile([4, 1, 3, 2], 0.5), 12);
        Assert.Equal(3.7, ZigzagStudy.Percentile([4, 1, 3, 2], 0.9), 12);
        var d = ZigzagStudy.Distances([3, 4, 1, 1], [0, 0, 1, 1], 2); // RMS over the coordinates of each point
        Assert.Equal(Math.Sqrt(12.5), d[0], 12);
        Assert.Equal(0, d[1]);
    }
}
