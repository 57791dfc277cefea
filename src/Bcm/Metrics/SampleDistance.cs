namespace Bcm.Metrics;

/// <summary>Distances between two samples of d-dimensional points (row-major double arrays [n, d]).</summary>
public static class SampleDistance
{
    /// <summary>
    /// Unbiased MMD² with a sum of Gaussian kernels exp(−‖a − b‖²/(2h²)), h = m/8, m/4, m/2, m for the median distance m
    /// within <paramref name="y"/> (one bandwidth when given): the small bandwidths see the shape of each mode, the large
    /// ones the balance between modes. 0 in expectation when both samples come from one distribution (and can then be
    /// slightly negative).
    /// </summary>
    public static double Mmd2(double[] x, double[] y, int dim, double? bandwidth = null)
    {
        int n = x.Length / dim, m = y.Length / dim;
        if (n < 2 || m < 2) throw new ArgumentException("MMD needs at least two points in each sample");
        double median = MedianDistance(y, dim);
        double[] hs = bandwidth is double h ? [h] : [median / 8, median / 4, median / 2, median];
        var gammas = hs.Select(b => 1 / (2 * b * b)).ToArray();
        double Kxx = Sum(x, x, dim, gammas, true), Kyy = Sum(y, y, dim, gammas, true), Kxy = Sum(x, y, dim, gammas, false);
        return Kxx / (n * (n - 1.0)) + Kyy / (m * (m - 1.0)) - 2 * Kxy / ((double)n * m);
    }

    /// <summary>Sliced Wasserstein-2 distance over <paramref name="projections"/> random directions (samples of equal size).</summary>
    public static double SlicedWasserstein(double[] x, double[] y, int dim, int projections = 128, int seed = 0)
    {
        int n = x.Length / dim;
        if (y.Length / dim != n) throw new ArgumentException("sliced Wasserstein here needs samples of equal size");
        var rng = new Random(seed);
        double total = 0;
        var px = new double[n];
        var py = new double[n];
        var dir = new double[dim];
        for (int p = 0; p < projections; p++)
        {
            double norm = 0;
            for (int j = 0; j < dim; j++)
            {
                dir[j] = Randomness.Seeds.Normal(rng);
                norm += dir[j] * dir[j];
            }
            norm = Math.Sqrt(norm);
            for (int i = 0; i < n; i++)
            {
                double a = 0, b = 0;
                for (int j = 0; j < dim; j++)
                {
                    a += x[i * dim + j] * dir[j];
                    b += y[i * dim + j] * dir[j];
                }
                px[i] = a / norm;
                py[i] = b / norm;
            }
            Array.Sort(px);
            Array.Sort(py);
            for (int i = 0; i < n; i++) total += (px[i] - py[i]) * (px[i] - py[i]);
        }
        return Math.Sqrt(total / (projections * (double)n));
    }

    /// <summary>Median pairwise Euclidean distance (on at most 1000 points).</summary>
    public static double MedianDistance(double[] x, int dim)
    {
        int n = Math.Min(1000, x.Length / dim);
        var d = new List<double>(n * (n - 1) / 2);
        for (int i = 0; i < n; i++)
            for (int k = i + 1; k < n; k++) d.Add(Math.Sqrt(Sq(x, i, x, k, dim)));
        d.Sort();
        return d.Count == 0 ? 1 : Math.Max(d[d.Count / 2], 1e-12);
    }

    /// <summary>‖a_i − b_k‖² for rows i of <paramref name="a"/> and k of <paramref name="b"/> (row-major [n, dim]).</summary>
    internal static double Sq(double[] a, int i, double[] b, int k, int dim)
    {
        double s = 0;
        for (int j = 0; j < dim; j++)
        {
            double diff = a[i * dim + j] - b[k * dim + j];
            s += diff * diff;
        }
        return s;
    }

    private static double Sum(double[] a, double[] b, int dim, double[] gammas, bool skipDiagonal)
    {
        int n = a.Length / dim, m = b.Length / dim;
        var partial = new double[n];
        Parallel.For(0, n, i =>
        {
            double s = 0;
            for (int k = 0; k < m; k++)
            {
                if (skipDiagonal && i == k) continue;
                double d2 = Sq(a, i, b, k, dim);
                foreach (var g in gammas) s += Math.Exp(-g * d2);
            }
            partial[i] = s;
        });
        return partial.Sum();
    }
}
