namespace Bcm.Metrics;

/// <summary>KID estimate with its spread over subsets.</summary>
public sealed record KidEstimate(double Mean, double Std);

/// <summary>
/// Distribution metrics on feature vectors (row-major double arrays [n, d]): FID (Fréchet distance of Gaussian fits),
/// KID (unbiased MMD² with the cubic polynomial kernel, averaged over subsets) and k-NN precision/recall
/// (Kynkäänniemi et al. 2019). Always read them against the real-versus-real floor.
/// </summary>
public static class FeatureMetrics
{
    public static (double[] Mean, double[,] Covariance) Moments(double[] x, int dim)
    {
        int n = x.Length / dim;
        if (n < 2) throw new ArgumentException("need at least two feature vectors");
        var mean = new double[dim];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < dim; j++) mean[j] += x[i * dim + j] / n;
        var cov = new double[dim, dim];
        Parallel.For(0, dim, a =>
        {
            for (int b = a; b < dim; b++)
            {
                double s = 0;
                for (int i = 0; i < n; i++) s += (x[i * dim + a] - mean[a]) * (x[i * dim + b] - mean[b]);
                cov[a, b] = cov[b, a] = s / (n - 1);
            }
        });
        return (mean, cov);
    }

    /// <summary>FID = ‖μ₁ − μ₂‖² + tr(Σ₁ + Σ₂ − 2(Σ₁^½ Σ₂ Σ₁^½)^½).</summary>
    public static double Fid(double[] x, double[] y, int dim)
    {
        var (m1, s1) = Moments(x, dim);
        var (m2, s2) = Moments(y, dim);
        double meanTerm = 0;
        for (int j = 0; j < dim; j++) meanTerm += (m1[j] - m2[j]) * (m1[j] - m2[j]);
        var root1 = SymmetricFunction(s1, v => Math.Sqrt(Math.Max(v, 0)));
        var inner = Multiply(Multiply(root1, s2), root1);
        var (eig, _) = Eigen(inner);
        double traceRoot = eig.Sum(v => Math.Sqrt(Math.Max(v, 0)));
        double trace = 0;
        for (int j = 0; j < dim; j++) trace += s1[j, j] + s2[j, j];
        return Math.Max(0, meanTerm + trace - 2 * traceRoot);
    }

    /// <summary>KID: unbiased MMD² with k(a, b) = (a·b/d + 1)³, mean and standard deviation over subsets.</summary>
    public static KidEstimate Kid(double[] x, double[] y, int dim, int subsets = 20, int subsetSize = 1000, int seed = 0)
    {
        int n = x.Length / dim, m = y.Length / dim;
        int size = Math.Min(subsetSize, Math.Min(n, m));
        if (size < 2) throw new ArgumentException("KID needs at least two feature vectors in each set");
        var rng = new Random(seed);
        var values = new double[subsets];
        for (int s = 0; s < subsets; s++)
        {
            var ix = Sample(rng, n, size);
            var iy = Sample(rng, m, size);
            double kxx = 0, kyy = 0, kxy = 0;
            for (int a = 0; a < size; a++)
                for (int b = 0; b < size; b++)
                {
                    if (a != b)
                    {
                        kxx += Kernel(x, ix[a], x, ix[b], dim);
                        kyy += Kernel(y, iy[a], y, iy[b], dim);
                    }
                    kxy += Kernel(x, ix[a], y, iy[b], dim);
                }
            values[s] = (kxx + kyy) / (size * (size - 1.0)) - 2 * kxy / ((double)size * size);
        }
        double mean = values.Average();
        return new KidEstimate(mean, Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / Math.Max(1, subsets - 1)));
    }

    /// <summary>
    /// Precision: share of generated points inside the real manifold (union of balls to each real point's k-th neighbour);
    /// recall: share of real points inside the generated manifold.
    /// </summary>
    public static (double Precision, double Recall) PrecisionRecall(double[] real, double[] generated, int dim, int k = 3)
    {
        double Coverage(double[] manifold, double[] queries)
        {
            int n = manifold.Length / dim, q = queries.Length / dim;
            var radii = new double[n];
            Parallel.For(0, n, i =>
            {
                var d = new double[n];
                for (int j = 0; j < n; j++) d[j] = SampleDistance.Sq(manifold, i, manifold, j, dim);
                Array.Sort(d);
                radii[i] = d[Math.Min(k, n - 1)]; // d[0] is the point itself
            });
            int inside = 0;
            Parallel.For(0, q, () => 0, (i, _, count) =>
            {
                for (int j = 0; j < n; j++)
                    if (SampleDistance.Sq(queries, i, manifold, j, dim) <= radii[j]) return count + 1;
                return count;
            }, c => Interlocked.Add(ref inside, c));
            return inside / (double)q;
        }
        return (Coverage(real, generated), Coverage(generated, real));
    }

    private static int[] Sample(Random rng, int n, int size)
    {
        var idx = Enumerable.Range(0, n).ToArray();
        rng.Shuffle(idx);
        return idx[..size];
    }

    private static double Kernel(double[] a, int i, double[] b, int j, int dim)
    {
        double dot = 0;
        for (int c = 0; c < dim; c++) dot += a[i * dim + c] * b[j * dim + c];
        double v = dot / dim + 1;
        return v * v * v;
    }

    private static double[,] Multiply(double[,] a, double[,] b)
    {
        int n = a.GetLength(0);
        var r = new double[n, n];
        Parallel.For(0, n, i =>
        {
            for (int k = 0; k < n; k++)
            {
                double aik = a[i, k];
                if (aik == 0) continue;
                for (int j = 0; j < n; j++) r[i, j] += aik * b[k, j];
            }
        });
        return r;
    }

    /// <summary>f(S) = V f(Λ) Vᵀ for a symmetric S.</summary>
    private static double[,] SymmetricFunction(double[,] s, Func<double, double> f)
    {
        var (values, vectors) = Eigen(s);
        int n = values.Length;
        var r = new double[n, n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
            {
                double acc = 0;
                for (int k = 0; k < n; k++) acc += vectors[i, k] * f(values[k]) * vectors[j, k];
                r[i, j] = acc;
            }
        return r;
    }

    /// <summary>Eigenvalues and eigenvectors (columns) of a symmetric matrix by cyclic Jacobi rotations; symmetrises its input first.</summary>
    public static (double[] Values, double[,] Vectors) Eigen(double[,] input)
    {
        int n = input.GetLength(0);
        var a = new double[n, n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) a[i, j] = 0.5 * (input[i, j] + input[j, i]);
        var v = new double[n, n];
        for (int i = 0; i < n; i++) v[i, i] = 1;
        for (int sweep = 0; sweep < 100; sweep++)
        {
            double off = 0, diag = 0;
            for (int i = 0; i < n; i++)
            {
                diag += a[i, i] * a[i, i];
                for (int j = i + 1; j < n; j++) off += a[i, j] * a[i, j];
            }
            if (off <= 1e-30 * Math.Max(diag, 1e-300)) break;
            for (int p = 0; p < n - 1; p++)
                for (int q = p + 1; q < n; q++)
                {
                    if (Math.Abs(a[p, q]) < 1e-300) continue;
                    double theta = (a[q, q] - a[p, p]) / (2 * a[p, q]);
                    double t = Math.Sign(theta == 0 ? 1 : theta) / (Math.Abs(theta) + Math.Sqrt(theta * theta + 1));
                    double c = 1 / Math.Sqrt(t * t + 1), s = t * c;
                    for (int k = 0; k < n; k++)
                    {
                        double akp = a[k, p], akq = a[k, q];
                        a[k, p] = c * akp - s * akq;
                        a[k, q] = s * akp + c * akq;
                    }
                    for (int k = 0; k < n; k++)
                    {
                        double apk = a[p, k], aqk = a[q, k];
                        a[p, k] = c * apk - s * aqk;
                        a[q, k] = s * apk + c * aqk;
                    }
                    for (int k = 0; k < n; k++)
                    {
                        double vkp = v[k, p], vkq = v[k, q];
                        v[k, p] = c * vkp - s * vkq;
                        v[k, q] = s * vkp + c * vkq;
                    }
                }
        }
        var values = new double[n];
        for (int i = 0; i < n; i++) values[i] = a[i, i];
        return (values, v);
    }
}
