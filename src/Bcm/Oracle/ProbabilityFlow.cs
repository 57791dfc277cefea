using Bcm.Data;

namespace Bcm.Oracle;

/// <summary>
/// The exact probability-flow ODE of a Gaussian mixture (EDM form, σ(t) = t): dx/dσ = (x − D(x, σ))/σ with the analytic
/// denoiser of <see cref="GaussianMixture"/>. Integrated in s = ln σ (dx/ds = x − D(x, e^s), smooth at every scale) by
/// an adaptive Dormand-Prince 5(4) solver in float64. <c>Jump</c> is the ground-truth f*(x, t, u) a BCM learns,
/// in either direction.
/// </summary>
public sealed class ProbabilityFlow
{
    /// <summary>The exact ODE of <paramref name="mixture"/>, solved to the given tolerances.</summary>
    public ProbabilityFlow(GaussianMixture mixture, double relativeTolerance = 1e-10, double absoluteTolerance = 1e-10)
    {
        Mixture = mixture;
        RelativeTolerance = relativeTolerance;
        AbsoluteTolerance = absoluteTolerance;
    }

    /// <summary>The mixture whose ODE this is.</summary>
    public GaussianMixture Mixture { get; }
    /// <summary>Relative tolerance of the adaptive solver.</summary>
    public double RelativeTolerance { get; }
    /// <summary>Absolute tolerance of the adaptive solver.</summary>
    public double AbsoluteTolerance { get; }

    // Dormand-Prince 5(4) tableau.
    private static readonly double[] C = [0, 1.0 / 5, 3.0 / 10, 4.0 / 5, 8.0 / 9, 1, 1];
    private static readonly double[][] A =
    [
        [],
        [1.0 / 5],
        [3.0 / 40, 9.0 / 40],
        [44.0 / 45, -56.0 / 15, 32.0 / 9],
        [19372.0 / 6561, -25360.0 / 2187, 64448.0 / 6561, -212.0 / 729],
        [9017.0 / 3168, -355.0 / 33, 46732.0 / 5247, 49.0 / 176, -5103.0 / 18656],
        [35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84],
    ];
    private static readonly double[] B5 = [35.0 / 384, 0, 500.0 / 1113, 125.0 / 192, -2187.0 / 6784, 11.0 / 84, 0];
    private static readonly double[] B4 = [5179.0 / 57600, 0, 7571.0 / 16695, 393.0 / 640, -92097.0 / 339200, 187.0 / 2100, 1.0 / 40];

    /// <summary>dx/ds at s = ln σ.</summary>
    public void Derivative(ReadOnlySpan<double> x, double sigma, Span<double> result)
    {
        Mixture.Denoise(x, sigma, result);
        for (int j = 0; j < x.Length; j++) result[j] = x[j] - result[j];
    }

    /// <summary>
    /// The exact jump f*(x, t, u): the solution at σ = u of the ODE through x at σ = t (t &lt; u inverts, t &gt; u generates).
    /// Calls <paramref name="visit"/> (σ, x) at the start and after every accepted step, for trajectory pictures.
    /// Returns the number of derivative evaluations.
    /// </summary>
    public int Jump(ReadOnlySpan<double> x, double t, double u, Span<double> result, Action<double, double[]>? visit = null)
    {
        if (!(t > 0) || !(u > 0)) throw new ArgumentOutOfRangeException(nameof(t), "noise levels must be positive");
        int d = Mixture.Dim;
        if (x.Length != d || result.Length != d) throw new ArgumentException($"expected {d}-dimensional points");
        var y = x.ToArray();
        visit?.Invoke(t, (double[])y.Clone());
        double s = Math.Log(t), end = Math.Log(u);
        if (s == end) { y.CopyTo(result); return 0; }
        double dir = Math.Sign(end - s);
        var k = new double[7][];
        for (int i = 0; i < 7; i++) k[i] = new double[d];
        var stage = new double[d];
        var next = new double[d];
        Derivative(y, Math.Exp(s), k[0]);
        int evaluations = 1;
        double h = dir * Math.Min(0.05, Math.Abs(end - s));
        for (int iteration = 0; ; iteration++)
        {
            if (iteration > 1_000_000) throw new InvalidOperationException("the ODE solver did not converge (step size collapsed)");
            if (dir * (s + h - end) > 0) h = end - s;
            for (int i = 1; i < 7; i++)
            {
                for (int j = 0; j < d; j++)
                {
                    double acc = y[j];
                    for (int m = 0; m < i; m++) acc += h * A[i][m] * k[m][j];
                    stage[j] = acc;
                }
                Derivative(stage, Math.Exp(s + C[i] * h), k[i]);
                evaluations++;
            }
            // stage now holds the 5th-order solution (the last row of A equals B5).
            double err = 0;
            for (int j = 0; j < d; j++)
            {
                double e = 0;
                for (int m = 0; m < 7; m++) e += h * (B5[m] - B4[m]) * k[m][j];
                double scale = AbsoluteTolerance + RelativeTolerance * Math.Max(Math.Abs(y[j]), Math.Abs(stage[j]));
                err = Math.Max(err, Math.Abs(e) / scale);
            }
            if (err <= 1)
            {
                s += h;
                Array.Copy(stage, y, d);
                (k[0], k[6]) = (k[6], k[0]); // first same as last
                visit?.Invoke(Math.Exp(s), (double[])y.Clone());
                if (dir * (end - s) <= 0 || Math.Abs(end - s) < 1e-15) break;
            }
            h *= Math.Clamp(0.9 * Math.Pow(Math.Max(err, 1e-10), -0.2), 0.2, 5.0);
        }
        y.CopyTo(result);
        return evaluations;
    }

    /// <summary>The jump for a batch (row-major [n, d]), one sample per task in parallel.</summary>
    public double[] Jump(double[] batch, double t, double u)
    {
        int d = Mixture.Dim, n = batch.Length / d;
        var result = new double[batch.Length];
        Parallel.For(0, n, i => Jump(batch.AsSpan(i * d, d), t, u, result.AsSpan(i * d, d)));
        return result;
    }

    /// <summary>Per-sample jumps with per-sample levels (row-major [n, d]).</summary>
    public double[] Jump(double[] batch, double[] t, double[] u)
    {
        int d = Mixture.Dim, n = batch.Length / d;
        if (t.Length != n || u.Length != n) throw new ArgumentException("one t and one u per sample");
        var result = new double[batch.Length];
        Parallel.For(0, n, i => Jump(batch.AsSpan(i * d, d), t[i], u[i], result.AsSpan(i * d, d)));
        return result;
    }
}
