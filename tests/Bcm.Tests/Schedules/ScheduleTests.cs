using Bcm.Model;
using Bcm.Schedules;
using Xunit;

namespace Bcm.Tests;

/// <summary>The test vectors and grid values of the method document (§2, §4).</summary>
public sealed class ScheduleTests
{
    [Theory]
    // t, u, c_skip, c_out, c_in(t), c_noise(t), c_noise(u)
    [InlineData(80, 0.002, 6.4060e-05, 0.49997773, 0.012499756, 1095.51, -1553.65)]
    [InlineData(2.4, 0.002, 0.042396007, 0.4890823, 0.40790851, 218.867, -1553.65)]
    [InlineData(0.07, 80, 22.950177, -79.158016, 1.9806835, -664.815, 1095.51)]
    [InlineData(0.07, 15, 5.1000392, -14.785802, 1.9806835, -664.815, 677.013)]
    [InlineData(15, 80, 5.3285239, -2.165464, 0.06662966, 677.013, 1095.51)]
    [InlineData(0.1, 1.2, 1.4230769, -1.0786387, 1.9611614, -575.646, 45.5804)]
    [InlineData(1, 1, 1, 0, 0.89442719, 0, 0)]
    public void ScalingsMatchTheTestVectors(double t, double u, double cSkip, double cOut, double cIn, double cNoiseT, double cNoiseU)
    {
        Assert.Equal(cSkip, Scalings.CSkip(t, u), cSkip * 1e-4 + 1e-9);
        Assert.Equal(cOut, Scalings.COut(t, u), Math.Abs(cOut) * 1e-6 + 1e-9);
        Assert.Equal(cIn, Scalings.CIn(t), cIn * 1e-6);
        Assert.Equal(cNoiseT, Scalings.CNoise(t), 0.01);
        Assert.Equal(cNoiseU, Scalings.CNoise(u), 0.01);
    }

    [Fact]
    public void BoundaryConditionIsIdentity()
    {
        foreach (var t in new[] { 0.002, 0.5, 3.0, 80.0 })
        {
            Assert.Equal(1.0, Scalings.CSkip(t, t), 12);
            Assert.Equal(0.0, Scalings.COut(t, t), 12);
        }
    }

    [Fact]
    public void KarrasGridMatchesTheCheckValues()
    {
        var g = KarrasGrid.Ascending(11);
        Assert.Equal(0.002, g[0], 9);
        Assert.Equal(0.016721, g[1], 5);
        Assert.Equal(0.085087, g[2], 5);
        Assert.Equal(24.4083, g[8], 3);
        Assert.Equal(45.3137, g[9], 3);
        Assert.Equal(80.0, g[10], 9);
        var g321 = KarrasGrid.Ascending(321);
        Assert.Equal(77.3098, g321[318], 3);
        Assert.Equal(78.6451, g321[319], 3);
        Assert.Equal(80.0, g321[320], 9);
    }

    [Fact]
    public void CurriculumDoublesEveryHundredThousandStepsOfEightHundredThousand()
    {
        long k = 800_000;
        var expected = new[] { 11, 21, 41, 81, 161, 321, 641, 1281 };
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], Curriculum.Scales(i * 100_000, k));
            Assert.Equal(expected[i], Curriculum.Scales(i * 100_000 + 99_999, k));
        }
        Assert.Equal(1281, Curriculum.Scales(k, k));
    }

    [Fact]
    public void IntervalProbabilitiesAreTheDiscretisedLogNormal()
    {
        var ts = KarrasGrid.Ascending(11);
        var p = DiscretisedLogNormal.IntervalProbabilities(ts);
        Assert.Equal(10, p.Length);
        Assert.Equal(1.0, p.Sum(), 12);
        Assert.All(p, v => Assert.True(v > 0));
        // Unnormalised mass of interval i is Φ-difference of ln σ under N(−1.1, 2²): check one entry by a midpoint sum.
        double Pdf(double x) => Math.Exp(-0.5 * Math.Pow((x + 1.1) / 2.0, 2)) / (2.0 * Math.Sqrt(2 * Math.PI));
        double total = DiscretisedLogNormal.Erf((Math.Log(80) + 1.1) / (Math.Sqrt(2) * 2)) - DiscretisedLogNormal.Erf((Math.Log(0.002) + 1.1) / (Math.Sqrt(2) * 2));
        double a = Math.Log(ts[4]), b = Math.Log(ts[5]), mass = 0;
        int steps = 10_000;
        for (int i = 0; i < steps; i++) mass += Pdf(a + (i + 0.5) * (b - a) / steps) * (b - a) / steps;
        Assert.Equal(2 * mass / total, p[4], 8);
    }

    [Theory]
    [InlineData(0.0, 0.0)]
    [InlineData(0.5, 0.5204998778130465)]
    [InlineData(1.0, 0.8427007929497149)]
    [InlineData(-2.0, -0.9953222650189527)]
    [InlineData(3.0, 0.9999779095030014)]
    [InlineData(6.0, 0.9999999999999999785)]
    public void ErfMatchesReferenceValues(double x, double expected) => Assert.Equal(expected, DiscretisedLogNormal.Erf(x), 14);

    [Fact]
    public void DrawFollowsTheCumulativeDistribution()
    {
        var p = new[] { 0.2, 0.0, 0.5, 0.3 };
        Assert.Equal(0, DiscretisedLogNormal.Draw(p, 0.1));
        Assert.Equal(2, DiscretisedLogNormal.Draw(p, 0.2));
        Assert.Equal(2, DiscretisedLogNormal.Draw(p, 0.69));
        Assert.Equal(3, DiscretisedLogNormal.Draw(p, 0.71));
        Assert.Equal(3, DiscretisedLogNormal.Draw(p, 0.999999999));
    }
}
