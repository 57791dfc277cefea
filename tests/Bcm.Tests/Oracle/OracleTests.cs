using Bcm.Data;
using Bcm.Oracle;
using Xunit;

namespace Bcm.Tests;

public sealed class OracleTests
{
    private static GaussianMixture SingleGaussian(int d, double s, out double[] mu)
    {
        var rng = new Random(3);
        mu = Enumerable.Range(0, d).Select(_ => Randomness.Seeds.Normal(rng)).ToArray();
        return new GaussianMixture("single", [1.0], [mu], [Enumerable.Repeat(s * s, d).ToArray()]);
    }

    [Theory]
    [InlineData(80.0, 0.002)]
    [InlineData(0.002, 80.0)]
    [InlineData(0.07, 3.0)]
    [InlineData(5.0, 0.3)]
    public void JumpMatchesClosedFormForOneGaussian(double t, double u)
    {
        const double s = 0.4;
        var mixture = SingleGaussian(5, s, out var mu);
        var flow = new ProbabilityFlow(mixture);
        var rng = new Random(11);
        for (int trial = 0; trial < 5; trial++)
        {
            var x = Enumerable.Range(0, 5).Select(_ => 3 * Randomness.Seeds.Normal(rng)).ToArray();
            var result = new double[5];
            flow.Jump(x, t, u, result);
            // x(u) = μ + (x(t) − μ)·sqrt((s² + u²)/(s² + t²))
            double ratio = Math.Sqrt((s * s + u * u) / (s * s + t * t));
            for (int j = 0; j < 5; j++)
            {
                double expected = mu[j] + (x[j] - mu[j]) * ratio;
                Assert.True(Math.Abs(result[j] - expected) <= 1e-6 * Math.Max(1, Math.Abs(expected)), $"coordinate {j}: {result[j]} vs {expected}");
            }
        }
    }

    [Fact]
    public void AVectorModelIsMeasuredAgainstTheMixtureItLearntOrTheOneGiven()
    {
        Assert.Equal("8gaussians", Data.GaussianMixture.ForModel(null, "mixture:8gaussians", 2).Name);
        Assert.Equal(64, Data.GaussianMixture.ForModel("gmm:64:8", "mixture:8gaussians", 64).Dim);
        Assert.Contains("2-dimensional, the model takes 3", Assert.Throws<ArgumentException>(() => Data.GaussianMixture.ForModel(null, "mixture:8gaussians", 3)).Message);
        Assert.Contains("pass --mixture", Assert.Throws<ArgumentException>(() => Data.GaussianMixture.ForModel(null, "digits", 2)).Message);
    }

    [Fact]
    public void ForwardThenBackwardReturnsTheStartOnAMixture()
    {
        var mixture = GaussianMixture.Named("8gaussians");
        var flow = new ProbabilityFlow(mixture);
        var (data, _) = mixture.Sample(20, seed: 5);
        var noise = flow.Jump(data, 0.002, 80.0);
        var back = flow.Jump(noise, 80.0, 0.002);
        for (int i = 0; i < data.Length; i++) Assert.True(Math.Abs(back[i] - data[i]) < 1e-6, $"entry {i}: {back[i]} vs {data[i]}");
        // and the inversion maps the data to something of the prior's scale (≈ N(0, 80² I)), not the identity
        double rms = Math.Sqrt(noise.Average(v => v * v));
        Assert.InRange(rms, 20, 200);
    }

    [Fact]
    public void HighDimensionalMixtureIsReversibleAndGeneratesInsideTheModes()
    {
        var mixture = GaussianMixture.Named("gmm:64:8");
        var flow = new ProbabilityFlow(mixture);
        var rng = new Random(2);
        var z = Enumerable.Range(0, 8 * 64).Select(_ => 80 * Randomness.Seeds.Normal(rng)).ToArray();
        var x = flow.Jump(z, 80, 0.002);
        var back = flow.Jump(x, 0.002, 80);
        for (int i = 0; i < z.Length; i++) Assert.True(Math.Abs(back[i] - z[i]) < 1e-6 * 80, $"entry {i}: {back[i]} vs {z[i]}");
        for (int i = 0; i < 8; i++)
        {
            var xi = x.AsSpan(i * 64, 64);
            int k = mixture.Classify(xi);
            // squared Mahalanobis distance of a Gaussian sample in 64-D: mean 64, sd ≈ 11
            Assert.InRange(mixture.Mahalanobis2(xi, k), 10, 130);
        }
    }

    [Fact]
    public void DenoiserIsThePosteriorMean()
    {
        // Two well separated 1-D modes: near one mode the denoiser shrinks towards it by v/(v + σ²).
        var mixture = new GaussianMixture("two", [1, 1], [[-2.0], [2.0]], [[0.01], [0.01]]);
        var d = new double[1];
        mixture.Denoise([2.1], 0.1, d);
        Assert.Equal(2 + 0.01 / 0.02 * 0.1, d[0], 6);
        mixture.Denoise([0.0], 0.5, d);
        Assert.Equal(0.0, d[0], 10); // symmetric point
        // Densities integrate to one (1-D trapezoid).
        double integral = 0;
        for (double x = -6; x < 6; x += 1e-3) integral += Math.Exp(mixture.LogDensity([x], 0.3)) * 1e-3;
        Assert.Equal(1.0, integral, 4);
    }

    [Fact]
    public void NamedMixturesAreFixedAndValidated()
    {
        var a = GaussianMixture.Named("gmm:16:4").Sample(10, 1).Values;
        var b = GaussianMixture.Named("gmm:16:4").Sample(10, 1).Values;
        Assert.Equal(a, b);
        Assert.Equal(48, GaussianMixture.Named("ring").Components);
        var e = Assert.Throws<ArgumentException>(() => GaussianMixture.Named("gmm:0:3"));
        Assert.Contains("mixture:8gaussians", e.Message);
        Assert.Throws<ArgumentException>(() => GaussianMixture.Named("spiral"));
    }
}
