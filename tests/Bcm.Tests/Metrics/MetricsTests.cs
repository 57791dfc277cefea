using Bcm.Model;
using Bcm.Schedules;
using Bcm.Data;
using Bcm.Metrics;
using Bcm.Oracle;
using Bcm.Plans;
using Xunit;
using static TorchSharp.torch;

namespace Bcm.Tests;

public sealed class MetricsTests
{
    private static double[] Gaussian(int n, int d, int seed, double shift = 0, double scale = 1)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n * d).Select(i => shift + scale * Randomness.Seeds.Normal(rng) * (1 + (i % d) * 0.1)).ToArray();
    }

    [Fact]
    public void FidOfASetWithItselfIsZeroAndGrowsWithPerturbation()
    {
        var x = Gaussian(600, 16, 1);
        Assert.True(FeatureMetrics.Fid(x, x, 16) < 1e-6, "FID(X, X) must vanish");
        double previous = 0;
        foreach (var shift in new[] { 0.1, 0.3, 1.0 })
        {
            var y = x.Select(v => v + shift).ToArray(); // shifted copy: FID = d·shift² exactly
            double fid = FeatureMetrics.Fid(x, y, 16);
            Assert.Equal(16 * shift * shift, fid, 6);
            Assert.True(fid > previous);
            previous = fid;
        }
        // Scaling changes only the covariance term: tr(Σ + a²Σ − 2aΣ) = (1 − a)² tr Σ.
        var (_, cov) = FeatureMetrics.Moments(x, 16);
        double trace = Enumerable.Range(0, 16).Sum(i => cov[i, i]);
        var mean = Enumerable.Range(0, 16).Select(j => Enumerable.Range(0, 600).Average(i => x[i * 16 + j])).ToArray();
        var scaled = x.Select((v, i) => mean[i % 16] + 2 * (v - mean[i % 16])).ToArray();
        Assert.Equal(trace, FeatureMetrics.Fid(x, scaled, 16), 6);
    }

    [Fact]
    public void KidIsUnbiasedOnEqualDistributionsAndPositiveOtherwise()
    {
        var a = Gaussian(800, 8, 2);
        var b = Gaussian(800, 8, 3);
        var same = FeatureMetrics.Kid(a, b, 8, subsets: 20, subsetSize: 400);
        Assert.True(Math.Abs(same.Mean) < 3 * same.Std / Math.Sqrt(20) + 1e-4, $"KID between samples of one distribution {same.Mean} ± {same.Std}");
        var shifted = FeatureMetrics.Kid(a, Gaussian(800, 8, 4, shift: 0.5), 8, subsets: 20, subsetSize: 400);
        Assert.True(shifted.Mean > 10 * Math.Abs(same.Mean) && shifted.Mean > 5 * shifted.Std / Math.Sqrt(20));
    }

    [Fact]
    public void PrecisionAndRecallSeparateMissingModesFromOffManifoldSamples()
    {
        var real = Gaussian(400, 4, 5);
        var (p, r) = FeatureMetrics.PrecisionRecall(real, Gaussian(400, 4, 6), 4);
        Assert.InRange(p, 0.8, 1.0);
        Assert.InRange(r, 0.8, 1.0);
        // Samples collapsed to a small region: precise but no recall.
        var (p2, r2) = FeatureMetrics.PrecisionRecall(real, Gaussian(400, 4, 7, scale: 0.1), 4);
        Assert.True(p2 > 0.9 && r2 < 0.3, $"collapsed: precision {p2}, recall {r2}");
        // Samples far away: neither.
        var (p3, _) = FeatureMetrics.PrecisionRecall(real, Gaussian(400, 4, 8, shift: 20), 4);
        Assert.Equal(0, p3);
    }

    [Fact]
    public void MmdAndSlicedWassersteinSeeDistributionShift()
    {
        var a = Gaussian(500, 2, 9);
        var b = Gaussian(500, 2, 10);
        var c = Gaussian(500, 2, 11, shift: 1);
        Assert.True(Math.Abs(SampleDistance.Mmd2(a, b, 2)) < 0.01);
        Assert.True(SampleDistance.Mmd2(a, c, 2) > 0.1);
        Assert.True(SampleDistance.SlicedWasserstein(a, c, 2) > 5 * SampleDistance.SlicedWasserstein(a, b, 2));
        Assert.Equal(0, SampleDistance.SlicedWasserstein(a, a, 2), 12);
    }

    [Fact]
    public void PsnrAndSsimTakeKnownValuesOnConstructedImages()
    {
        using var a = full(2, 1, 16, 16, 0.0f);           // 0.5 on [0, 1]
        using var b = full(2, 1, 16, 16, 0.2f);           // 0.6 on [0, 1]: MSE 0.01, PSNR 20 dB
        Assert.All(ImageQuality.Psnr(a, b), v => Assert.Equal(20.0, v, 4));
        Assert.All(ImageQuality.Ssim(a, a), v => Assert.Equal(1.0, v, 9));
        // Constant images: variances vanish, SSIM = (2ab + C1)/(a² + b² + C1).
        double c1 = 1e-4, expected = (2 * 0.5 * 0.6 + c1) / (0.25 + 0.36 + c1);
        Assert.All(ImageQuality.Ssim(a, b), v => Assert.Equal(expected, v, 6));
        // Structure matters: a checkerboard against its negative is strongly anti-correlated.
        using var board = (arange(16).unsqueeze(0) + arange(16).unsqueeze(1)).remainder(2).to(ScalarType.Float32).mul(2).sub(1).reshape(1, 1, 16, 16);
        Assert.True(ImageQuality.Ssim(board, -board)[0] < -0.9);
    }

    /// <summary>
    /// FID at the feature width of Inception (2048), against its closed form for covariances that share eigenvectors
    /// (a random rotation Q): Σᵢ = Q Dᵢ Qᵀ gives tr(Σ₁ + Σ₂ − 2(Σ₁^½ Σ₂ Σ₁^½)^½) = Σ (√d₁ − √d₂)².
    /// </summary>
    [Trait("Category", "Slow")]
    [Fact]
    public void FidMatchesItsClosedFormAt2048Dimensions()
    {
        const int d = 2048;
        using var g = TorchSharp.torch.manual_seed(9);
        var (q, _) = TorchSharp.torch.linalg.qr(TorchSharp.torch.randn([d, d], TorchSharp.torch.float64));
        var d1 = TorchSharp.torch.rand([d], TorchSharp.torch.float64) + 0.1;
        var d2 = TorchSharp.torch.rand([d], TorchSharp.torch.float64) * 3 + 0.01;
        var s1 = (q * d1.unsqueeze(0)).matmul(q.T);
        var s2 = (q * d2.unsqueeze(0)).matmul(q.T);
        var m1 = TorchSharp.torch.randn([d], TorchSharp.torch.float64);
        var m2 = TorchSharp.torch.randn([d], TorchSharp.torch.float64);
        double expected = (m1 - m2).square().sum().item<double>() + (d1.sqrt() - d2.sqrt()).square().sum().item<double>();
        Assert.Equal(expected, FeatureMetrics.Fid(m1, s1, m2, s2), expected * 1e-9);
    }

    [Fact]
    public void KidHasNoSpreadWithoutDistinctSubsets()
    {
        var a = Gaussian(300, 8, 1);
        var b = Gaussian(300, 8, 2);
        Assert.Null(FeatureMetrics.Kid(a, b, 8, subsets: 10, subsetSize: 500).Std);
        var withSubsets = FeatureMetrics.Kid(a, b, 8, subsets: 10, subsetSize: 100);
        Assert.NotNull(withSubsets.Std);
        Assert.True(withSubsets.Std > 0);
    }

    /// <summary>
    /// EDM's Algorithm 1 with the exact denoiser of N(0, s²) data: generation from T and inversion from ε converge at
    /// second order for Heun, first for Euler (errors relative to the exact end point, 20 against 80 steps, where the
    /// Karras grid is in its asymptotic regime).
    /// </summary>
    [Theory]
    [InlineData(0.5)]
    [InlineData(0.05)]
    public void OdeSolversConvergeAtTheirOrderInBothDirections(double s)
    {
        var model = AnalyticGaussianNetwork.Denoiser(3, s);
        using var x = tensor(new[] { 1.0f, -0.5f, 0.25f, 0.3f, 0.9f, -1.2f }, [2, 3]);
        double Error(int steps, OdeMethod method, bool invert)
        {
            // The exact flow scales x by sqrt((s² + to²)/(s² + from²)); errors relative to the exact end point.
            double from = invert ? 0.002 : 80, to = invert ? 80 : 0.002;
            using var start = x * from;
            using var result = PlanRunner.Run(model, start, PlanPresets.Ode(method, steps, invert).FromGiven(), PlanRunner.SeedRange(0, 2));
            using var expected = start * Math.Sqrt((s * s + to * to) / (s * s + from * from));
            return ((result - expected).abs().max() / expected.abs().max()).item<float>();
        }
        foreach (bool invert in new[] { false, true })
        {
            string what = $"{(invert ? "inversion" : "generation")}, s = {s}";
            double h20 = Error(20, OdeMethod.Heun, invert), h80 = Error(80, OdeMethod.Heun, invert);
            Assert.True(h80 < 6e-3, $"Heun 80 steps, {what}: relative error {h80}");
            Assert.True(h20 / h80 > 12, $"Heun should converge at second order (×16 for 4× the steps), {what}: {h20} at 20 steps, {h80} at 80");
            double e20 = Error(20, OdeMethod.Euler, invert), e80 = Error(80, OdeMethod.Euler, invert);
            Assert.InRange(e20 / e80, 2.5, 6); // first order: ×4 for 4× the steps
            Assert.True(e80 > 3 * h80, $"Euler is less accurate than Heun at equal steps, {what}");
        }
    }

    /// <summary>
    /// The step with an end at ε is EDM's plain Euler step: into ε with the slope at its start (Algorithm 1 takes no
    /// correction at the end of its grid; the slope at ε is not zero and is not taken as zero), and its mirror out of ε.
    /// </summary>
    [Fact]
    public void TheStepAtEpsilonIsAnEulerStep()
    {
        const double s = 0.05, sigma = 0.01, eps = 0.002;
        var model = AnalyticGaussianNetwork.Denoiser(3, s);
        using var x = tensor(new[] { 0.02, -0.01, 0.03 }, [1, 3]);
        double slope = sigma / (s * s + sigma * sigma); // (x − D(x, σ))/σ = x·σ/(s² + σ²) for D = s²/(s² + σ²)·x
        foreach (var method in new[] { "heun", "euler" })
        {
            using var down = PlanRunner.Run(model, x, Plan.Parse($"{method}:{sigma}>{eps}").FromGiven(), [0]);
            using var expectedDown = x * (1 + (eps - sigma) * slope);
            Assert.True(allclose(down, expectedDown, rtol: 1e-5, atol: 1e-9), $"{method} into ε");
            using var up = PlanRunner.Run(model, x, Plan.Parse($"{method}:{eps}>{sigma}").FromGiven(), [0]);
            using var expectedUp = x * (1 + (sigma - eps) * slope);
            Assert.True(allclose(up, expectedUp, rtol: 1e-5, atol: 1e-9), $"{method} out of ε");
            Assert.Equal(1, Plan.Parse($"{method}:{sigma}>{eps}").Nfe);
        }
    }

    [Fact]
    public void AnOdeSolveCostsTheNfeItReports()
    {
        var model = AnalyticGaussianNetwork.Denoiser(3, 0.5);
        using var x = tensor(new[] { 1.0f, -0.5f, 0.25f, 0.3f, 0.9f, -1.2f }, [2, 3]);
        foreach (var (method, invert, steps, nfe) in new[] { (OdeMethod.Heun, false, 40, 79), (OdeMethod.Heun, true, 40, 79), (OdeMethod.Euler, false, 40, 40),
                     (OdeMethod.Euler, true, 40, 40), (OdeMethod.Heun, false, 1, 1), (OdeMethod.Heun, false, 10, 19), (OdeMethod.Heun, true, 10, 19) })
        {
            var plan = PlanPresets.Ode(method, steps, invert);
            Assert.Equal(nfe, plan.Nfe);
            int evaluations = 0;
            using var start = x * (invert ? 0.002 : 80);
            using (PlanRunner.Run(new BcmModel(new CountingNetwork(model.Network, () => evaluations++)), start, plan.FromGiven(), PlanRunner.SeedRange(0, 2))) { }
            Assert.Equal(nfe, evaluations);
        }
        Assert.Equal(20, PlanPresets.HeunWithin(40).Steps.Count);
        Assert.Equal(39, PlanPresets.HeunWithin(40).Nfe);
    }

    [Fact]
    public void OdePlansHaveATextFormOnTheKarrasGrid()
    {
        // The text form names the method and round-trips.
        var text = PlanPresets.Resolve("heun:3").ToString();
        Assert.StartsWith("heun:80>", text);
        Assert.Equal(text, Plan.Parse(text).ToString());
        Assert.Equal(5, Plan.Parse(text).Nfe);
        Assert.All(Plan.Parse(text).Steps, step => Assert.Equal(OdeMethod.Heun, Assert.IsType<OdeStep>(step).Method));
        // The grid runs either way and hits both ends exactly.
        var up = KarrasGrid.Between(5, 0.002, 80);
        Assert.Equal(0.002, up[0]);
        Assert.Equal(80, up[^1]);
        Assert.True(up.Zip(up.Skip(1)).All(p => p.Second > p.First));
    }

    [Fact]
    public void AnExactModelScoresAtTheFloorOfTheOracleEvaluation()
    {
        const double s = 0.5;
        var mixture = new GaussianMixture("single", [1.0], [[0.0, 0.0]], [[s * s, s * s]]);
        var eval = new MixtureEvaluation(mixture);
        var model = AnalyticGaussianNetwork.Model(2, s);
        var (abs, rel) = eval.JumpErrors(model, [0.002, 0.5, 5, 80], 64, 0);
        for (int a = 0; a < 4; a++)
            for (int b = 0; b < 4; b++)
                if (a != b) Assert.True(rel[a, b] < 1e-4, $"jump {a}->{b}: normalised error {rel[a, b]} (abs {abs[a, b]})");
        using var zeros = TorchSharp.torch.zeros(1000, 2);
        using var x = PlanRunner.Run(model, zeros, PlanPresets.Resolve("onestep"), PlanRunner.SeedRange(0, 1000));
        var quality = eval.Quality("exact", 1, MixtureEvaluation.ToDoubles(x));
        var floor = eval.Floor(1000);
        Assert.True(Math.Abs(quality.LogLikelihood - floor.LogLikelihood) < 0.1, $"log-likelihood {quality.LogLikelihood} vs floor {floor.LogLikelihood}");
        Assert.True(quality.Mmd2 < 0.01);
        Assert.Equal(1.0, quality.ModeCoverage);
        // A model that collapses everything onto one point is caught by every metric.
        var collapsed = eval.Quality("collapsed", 1, new double[2000].Select((_, i) => 0.01 * (i % 3)).ToArray());
        Assert.True(collapsed.Mmd2 > 20 * Math.Max(quality.Mmd2, 1e-3) && collapsed.SlicedW2 > 5 * quality.SlicedW2);
    }
}
