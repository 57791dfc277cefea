using Bcm.Data;
using Bcm.Metrics;
using Bcm.Model;
using static TorchSharp.torch;

namespace Bcm.Oracle;

/// <summary>Quality of a set of generated points against the exact mixture.</summary>
public sealed record GenerationQuality(string Method, int Nfe, double LogLikelihood, double Mmd2, double SlicedW2, double ModeCoverage,
    double InModeFraction, double ModeWeightTv, MethodFamily Family = MethodFamily.Reference);

/// <summary>Inversion error against the exact ODE: latent RMS error (per coordinate) and the round trip's reconstruction RMS error.</summary>
public sealed record InversionQuality(string Method, int Nfe, double LatentRmse, double LatentRelative, double ReconstructionRmse, MethodFamily Family);

/// <summary>
/// Measures a model on a Gaussian mixture against ground truth: generated points against the exact density and fresh
/// samples, jumps and inversions against the exact probability-flow ODE. All inputs and outputs are row-major [n, d].
/// </summary>
public sealed class MixtureEvaluation
{
    private readonly double inModeRadius2;
    private readonly Dictionary<int, double[]> references = [];

    /// <summary>Measurements against <paramref name="mixture"/>, with its exact ODE solved to tolerance 1e-8.</summary>
    public MixtureEvaluation(GaussianMixture mixture)
    {
        Mixture = mixture;
        Flow = new ProbabilityFlow(mixture, 1e-8, 1e-8);
        inModeRadius2 = ChiSquareQuantile(mixture.Dim, 3.090); // 99.9 % of a mode's mass
    }

    /// <summary>The mixture measured against.</summary>
    public GaussianMixture Mixture { get; }
    /// <summary>Its exact probability-flow ODE.</summary>
    public ProbabilityFlow Flow { get; }
    /// <summary>Dimension of the samples.</summary>
    public int Dim => Mixture.Dim;

    /// <summary>A fixed reference sample of size n (seed 424242) for MMD and sliced W2.</summary>
    public double[] Reference(int n)
    {
        if (!references.TryGetValue(n, out var r)) references[n] = r = Mixture.Sample(n, 424_242).Values;
        return r;
    }

    /// <summary>Log-likelihood under p₀, mode coverage, MMD² and sliced W2 of <paramref name="samples"/> (row-major [n, d]) of a method at <paramref name="nfe"/> network evaluations.</summary>
    public GenerationQuality Quality(string method, int nfe, double[] samples, MethodFamily family = MethodFamily.Reference)
    {
        int n = samples.Length / Dim;
        double ll = 0;
        var counts = new int[Mixture.Components];
        int inMode = 0;
        for (int i = 0; i < n; i++)
        {
            var x = samples.AsSpan(i * Dim, Dim);
            ll += Mixture.LogDensity(x);
            int k = Mixture.Classify(x);
            if (Mixture.Mahalanobis2(x, k) <= inModeRadius2)
            {
                inMode++;
                counts[k]++;
            }
        }
        // A mode is covered when it holds at least a tenth of the in-mode points its weight predicts.
        double covered = Enumerable.Range(0, Mixture.Components).Count(k => counts[k] >= Math.Max(1, 0.1 * Mixture.Weights[k] * inMode)) / (double)Mixture.Components;
        double tv = inMode == 0 ? 1 : 0.5 * Enumerable.Range(0, Mixture.Components).Sum(k => Math.Abs(counts[k] / (double)inMode - Mixture.Weights[k]));
        var reference = Reference(n);
        return new GenerationQuality(method, nfe, ll / n, SampleDistance.Mmd2(samples, reference, Dim), SampleDistance.SlicedWasserstein(samples, reference, Dim),
            covered, inMode / (double)n, tv, family);
    }

    /// <summary>The quality of an independent exact sample of the same size: the floor every number is read against.</summary>
    public GenerationQuality Floor(int n) => Quality("exact samples (floor)", 0, Mixture.Sample(n, 777).Values);

    /// <summary>
    /// Jump error ‖f_θ(x, t, u) − f*(x, t, u)‖ (RMS per coordinate) for x ~ p_t (data plus t·z) over every pair of
    /// <paramref name="levels"/> (rows t, columns u; NaN on the diagonal), normalised by the spread sqrt(s² + u²) of x_u
    /// where s is the data's per-coordinate standard deviation. Both directions: u &lt; t generates, u &gt; t inverts.
    /// </summary>
    public (double[,] Absolute, double[,] Normalised) JumpErrors(BcmModel model, double[] levels, int n, long seed)
    {
        int L = levels.Length;
        var abs = new double[L, L];
        var rel = new double[L, L];
        double s2 = DataVariance();
        var device = model.Device;
        for (int a = 0; a < L; a++)
        {
            var (x0, _) = Mixture.Sample(n, seed + a);
            var rng = new Random((int)(seed + 1000 + a));
            var xt = x0.Select(v => v + levels[a] * Randomness.Seeds.Normal(rng)).ToArray();
            for (int b = 0; b < L; b++)
            {
                if (a == b) { abs[a, b] = rel[a, b] = double.NaN; continue; }
                var exact = Flow.Jump(xt, levels[a], levels[b]);
                using var scope = NewDisposeScope();
                using var noGrad = no_grad();
                var learnt = ToDoubles(model.Jump(ToTensor(xt, Dim, device), levels[a], levels[b]));
                abs[a, b] = Rms(learnt, exact);
                rel[a, b] = abs[a, b] / Math.Sqrt(s2 + levels[b] * levels[b]);
            }
        }
        return (abs, rel);
    }

    /// <summary>
    /// Compares latents of an inversion with the exact ones (the ODE from <paramref name="startSigma"/> to T of the same
    /// start points) and a reconstruction with the clean data.
    /// </summary>
    public InversionQuality Inversion(string method, MethodFamily family, int nfe, double[] clean, double[] start, double startSigma, double[] latents, double[] reconstructions, double sigmaMax)
    {
        var exact = Flow.Jump(start, startSigma, sigmaMax);
        double latentRmse = Rms(latents, exact);
        return new InversionQuality(method, nfe, latentRmse, latentRmse / Math.Sqrt(DataVariance() + sigmaMax * sigmaMax), Rms(reconstructions, clean), family);
    }

    /// <summary>Mean per-coordinate variance of the data (exact, from the mixture's moments).</summary>
    public double DataVariance()
    {
        double total = 0;
        for (int j = 0; j < Dim; j++)
        {
            double mean = 0, second = 0;
            for (int k = 0; k < Mixture.Components; k++)
            {
                mean += Mixture.Weights[k] * Mixture.Means[k][j];
                second += Mixture.Weights[k] * (Mixture.Variances[k][j] + Mixture.Means[k][j] * Mixture.Means[k][j]);
            }
            total += second - mean * mean;
        }
        return total / Dim;
    }

    /// <summary>Root mean square of a − b over all entries.</summary>
    public static double Rms(double[] a, double[] b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += (a[i] - b[i]) * (a[i] - b[i]);
        return Math.Sqrt(s / a.Length);
    }

    /// <summary>Row-major doubles as a float32 tensor [n, <paramref name="dim"/>].</summary>
    public static Tensor ToTensor(double[] values, int dim, Device? device = null) =>
        tensor(values.Select(v => (float)v).ToArray(), [values.Length / dim, dim], device: device);

    /// <summary>A tensor's values as doubles, row-major.</summary>
    public static double[] ToDoubles(Tensor t)
    {
        using var cpu = t.detach().to(ScalarType.Float64).cpu().contiguous();
        return cpu.data<double>().ToArray();
    }

    // Wilson-Hilferty approximation of the χ²_d quantile at standard-normal quantile z.
    private static double ChiSquareQuantile(int d, double z)
    {
        double a = 2.0 / (9 * d);
        return d * Math.Pow(1 - a + z * Math.Sqrt(a), 3);
    }
}
