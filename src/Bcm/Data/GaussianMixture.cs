using System.Globalization;

namespace Bcm.Data;

/// <summary>
/// A Gaussian mixture p₀ = Σ πₖ N(μₖ, diag(vₖ)) in float64. Its noisy marginal at level σ is Σ πₖ N(μₖ, diag(vₖ + σ²)),
/// so the density, the score and the denoiser D(x, σ) = E[x₀ | x] are exact: the ground truth of the probability-flow
/// ODE (see <see cref="Oracle.ProbabilityFlow"/>). Named mixtures: <c>8gaussians</c>, <c>ring</c>, <c>gmm:D:K</c>.
/// </summary>
public sealed class GaussianMixture
{
    /// <summary>A mixture of <paramref name="weights"/> (normalised to sum to 1), <paramref name="means"/> and diagonal <paramref name="variances"/>, one entry per component.</summary>
    public GaussianMixture(string name, double[] weights, double[][] means, double[][] variances)
    {
        if (weights.Length == 0 || means.Length != weights.Length || variances.Length != weights.Length)
            throw new ArgumentException($"{name}: weights, means and variances must have one entry per component");
        Dim = means[0].Length;
        if (means.Any(m => m.Length != Dim) || variances.Any(v => v.Length != Dim))
            throw new ArgumentException($"{name}: every mean and variance must have dimension {Dim}");
        if (weights.Any(w => !(w > 0)) || variances.Any(v => v.Any(e => !(e > 0))))
            throw new ArgumentException($"{name}: weights and variances must be positive");
        double total = weights.Sum();
        Name = name;
        Weights = weights.Select(w => w / total).ToArray();
        Means = means;
        Variances = variances;
    }

    /// <summary>The mixture's name, as in its data spec.</summary>
    public string Name { get; }
    /// <summary>Dimension d of the samples.</summary>
    public int Dim { get; }
    /// <summary>Number of components K.</summary>
    public int Components => Weights.Length;
    /// <summary>Component weights πₖ, summing to 1.</summary>
    public double[] Weights { get; }
    /// <summary>Component means μₖ [K][d].</summary>
    public double[][] Means { get; }
    /// <summary>Component variances vₖ [K][d] (diagonal covariances).</summary>
    public double[][] Variances { get; }

    /// <summary>The mixture specifications, as the CLI's help lists them.</summary>
    public const string Help = "mixture:8gaussians (2-D, 8 modes on a circle), mixture:ring (2-D, a thin ring), mixture:gmm:D:K (D dimensions, K random modes)";

    /// <summary>The prefix of a mixture in a data spec: <c>mixture:NAME</c>.</summary>
    public const string SpecPrefix = "mixture:";

    /// <summary>True when a data spec names a mixture (<c>mixture:NAME</c>).</summary>
    public static bool IsSpec(string? spec) => spec is not null && spec.StartsWith(SpecPrefix, StringComparison.Ordinal);

    /// <summary>The mixture of a data spec <c>mixture:NAME</c>, or of a bare <c>NAME</c>.</summary>
    public static GaussianMixture FromSpec(string spec) => Named(IsSpec(spec) ? spec[SpecPrefix.Length..] : spec);

    /// <summary>
    /// The mixture a model of <paramref name="dim"/>-dimensional vectors is measured against: <paramref name="given"/>
    /// (a name or spec), else the one it was trained on (<paramref name="trainedOn"/>, its data spec); refused when
    /// neither names one or the dimensions differ.
    /// </summary>
    public static GaussianMixture ForModel(string? given, string? trainedOn, long dim)
    {
        var mixture = FromSpec(given ?? (IsSpec(trainedOn) ? trainedOn! : throw new ArgumentException("this vector model does not say which mixture it learnt: pass --mixture NAME")));
        return mixture.Dim == dim ? mixture : throw new ArgumentException($"mixture {mixture.Name} is {mixture.Dim}-dimensional, the model takes {dim}");
    }

    /// <summary>
    /// A named mixture: <c>8gaussians</c>, <c>ring</c> or <c>gmm:D:K</c>. All have a per-coordinate standard deviation
    /// near 0.5–0.7 (σ_data = 0.5).
    /// </summary>
    /// <exception cref="ArgumentException">The name is not one of these.</exception>
    public static GaussianMixture Named(string name)
    {
        var parts = name.Split(':');
        switch (parts[0])
        {
            case "8gaussians":
                return OnCircle(name, 8, radius: 1.0, std: 0.08);
            case "ring":
                return OnCircle(name, 48, radius: 1.0, std: 0.05);
            case "gmm" when parts.Length == 3
                            && int.TryParse(parts[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out int d) && d >= 1 && d <= 4096
                            && int.TryParse(parts[2], NumberStyles.Integer, CultureInfo.InvariantCulture, out int k) && k >= 1 && k <= 1000:
            {
                // Means with independent N(0, 0.5²) coordinates, per-mode standard deviations between 0.1 and 0.2,
                // unequal weights: all fixed by the name.
                var rng = new Random(1000 * d + k);
                var means = Enumerable.Range(0, k).Select(_ => Enumerable.Range(0, d).Select(_ => 0.5 * Randomness.Seeds.Normal(rng)).ToArray()).ToArray();
                var vars = Enumerable.Range(0, k).Select(_ => { double s = 0.1 + 0.1 * rng.NextDouble(); return Enumerable.Repeat(s * s, d).ToArray(); }).ToArray();
                var weights = Enumerable.Range(0, k).Select(_ => 0.5 + rng.NextDouble()).ToArray();
                return new GaussianMixture(name, weights, means, vars);
            }
            default:
                throw new ArgumentException($"unknown mixture '{name}': use {Help}");
        }
    }

    private static GaussianMixture OnCircle(string name, int k, double radius, double std)
    {
        var means = Enumerable.Range(0, k).Select(i => new[] { radius * Math.Cos(2 * Math.PI * i / k), radius * Math.Sin(2 * Math.PI * i / k) }).ToArray();
        var vars = Enumerable.Range(0, k).Select(_ => new[] { std * std, std * std }).ToArray();
        return new GaussianMixture(name, Enumerable.Repeat(1.0, k).ToArray(), means, vars);
    }

    /// <summary><paramref name="n"/> samples (row-major [n, d]) and the component each came from.</summary>
    public (double[] Values, int[] Components) Sample(int n, long seed)
    {
        var rng = new Random(unchecked((int)(seed ^ (seed >> 32))));
        var values = new double[(long)n * Dim];
        var comps = new int[n];
        for (int i = 0; i < n; i++)
        {
            double r = rng.NextDouble(), acc = 0;
            int c = Components - 1;
            for (int j = 0; j < Components; j++)
                if (r < (acc += Weights[j])) { c = j; break; }
            comps[i] = c;
            for (int j = 0; j < Dim; j++) values[(long)i * Dim + j] = Means[c][j] + Math.Sqrt(Variances[c][j]) * Randomness.Seeds.Normal(rng);
        }
        return (values, comps);
    }

    /// <summary>A training set of <paramref name="n"/> samples (labels are the components, for mode coverage).</summary>
    public VectorDataset ToDataset(int n, long seed = 0)
    {
        var (values, comps) = Sample(n, seed);
        return new VectorDataset("mixture:" + Name, values.Select(v => (float)v).ToArray(), n, Dim, comps, Components);
    }

    /// <summary>log of the noisy marginal density p_σ(x) = Σ πₖ N(x; μₖ, vₖ + σ²) (σ = 0: the data density).</summary>
    public double LogDensity(ReadOnlySpan<double> x, double sigma = 0)
    {
        Span<double> logs = Components <= 256 ? stackalloc double[Components] : new double[Components];
        ComponentLogs(x, sigma, logs);
        return LogSumExp(logs);
    }

    /// <summary>Posterior probabilities of the components given a noisy x at level σ.</summary>
    public void Responsibilities(ReadOnlySpan<double> x, double sigma, Span<double> result)
    {
        ComponentLogs(x, sigma, result);
        double lse = LogSumExp(result);
        for (int k = 0; k < Components; k++) result[k] = Math.Exp(result[k] - lse);
    }

    /// <summary>The exact denoiser D(x, σ) = E[x₀ | x_σ = x] = Σ rₖ(x) (μₖ + vₖ/(vₖ + σ²)·(x − μₖ)).</summary>
    public void Denoise(ReadOnlySpan<double> x, double sigma, Span<double> result)
    {
        Span<double> r = Components <= 256 ? stackalloc double[Components] : new double[Components];
        Responsibilities(x, sigma, r);
        result.Clear();
        double s2 = sigma * sigma;
        for (int k = 0; k < Components; k++)
        {
            if (r[k] < 1e-300) continue;
            var mu = Means[k];
            var v = Variances[k];
            for (int j = 0; j < Dim; j++) result[j] += r[k] * (mu[j] + v[j] / (v[j] + s2) * (x[j] - mu[j]));
        }
    }

    /// <summary>Index of the most probable component for a clean sample (the mode it belongs to).</summary>
    public int Classify(ReadOnlySpan<double> x)
    {
        Span<double> logs = Components <= 256 ? stackalloc double[Components] : new double[Components];
        ComponentLogs(x, 0, logs);
        int best = 0;
        for (int k = 1; k < Components; k++) if (logs[k] > logs[best]) best = k;
        return best;
    }

    /// <summary>Squared Mahalanobis distance of x to component k (for "within 3 standard deviations" tests).</summary>
    public double Mahalanobis2(ReadOnlySpan<double> x, int k)
    {
        double m = 0;
        for (int j = 0; j < Dim; j++) m += (x[j] - Means[k][j]) * (x[j] - Means[k][j]) / Variances[k][j];
        return m;
    }

    private void ComponentLogs(ReadOnlySpan<double> x, double sigma, Span<double> logs)
    {
        if (x.Length != Dim) throw new ArgumentException($"{Name}: expected a {Dim}-dimensional point, got {x.Length}");
        double s2 = sigma * sigma;
        for (int k = 0; k < Components; k++)
        {
            double acc = Math.Log(Weights[k]) - 0.5 * Dim * Math.Log(2 * Math.PI);
            var mu = Means[k];
            var v = Variances[k];
            for (int j = 0; j < Dim; j++)
            {
                double var = v[j] + s2, diff = x[j] - mu[j];
                acc -= 0.5 * (Math.Log(var) + diff * diff / var);
            }
            logs[k] = acc;
        }
    }

    private static double LogSumExp(ReadOnlySpan<double> values)
    {
        double max = double.NegativeInfinity;
        foreach (var v in values) max = Math.Max(max, v);
        if (double.IsNegativeInfinity(max)) return max;
        double sum = 0;
        foreach (var v in values) sum += Math.Exp(v - max);
        return max + Math.Log(sum);
    }
}
