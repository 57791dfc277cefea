using static TorchSharp.torch;
using Bcm.Tensors;

namespace Bcm.Metrics;

/// <summary>KID estimate, with its standard deviation over subsets when there were enough samples for distinct subsets (else null).</summary>
public sealed record KidEstimate(double Mean, double? Std);

/// <summary>
/// Distribution metrics on feature vectors (row-major double arrays [n, d]): FID (Fréchet distance of Gaussian fits),
/// KID (unbiased MMD² with the cubic polynomial kernel, averaged over subsets) and k-NN precision/recall
/// (Kynkäänniemi et al. 2019), computed by libtorch in float64 (symmetric eigendecompositions, batched kernels), so
/// that 2048-dimensional features take seconds. Always read them against the real-versus-real floor.
/// </summary>
public static class FeatureMetrics
{
    /// <summary>Mean and unbiased covariance of the rows of <paramref name="x"/> ([n, dim]).</summary>
    public static (double[] Mean, double[,] Covariance) Moments(double[] x, int dim)
    {
        using var scope = NewDisposeScope();
        var (mean, cov) = Moments(Rows(x, dim));
        var c = cov.data<double>().ToArray();
        var result = new double[dim, dim];
        Buffer.BlockCopy(c, 0, result, 0, c.Length * sizeof(double));
        return (mean.data<double>().ToArray(), result);
    }

    /// <summary>FID = ‖μ₁ − μ₂‖² + tr(Σ₁ + Σ₂ − 2(Σ₁^½ Σ₂ Σ₁^½)^½).</summary>
    public static double Fid(double[] x, double[] y, int dim)
    {
        using var scope = NewDisposeScope();
        var (m1, s1) = Moments(Rows(x, dim));
        var (m2, s2) = Moments(Rows(y, dim));
        return Fid(m1, s1, m2, s2);
    }

    /// <summary>FID between two Gaussians given by their means [d] and covariances [d, d] (float64 tensors).</summary>
    public static double Fid(Tensor mean1, Tensor cov1, Tensor mean2, Tensor cov2)
    {
        using var scope = NewDisposeScope();
        var root1 = SymmetricRoot(cov1);
        var inner = root1.matmul(cov2).matmul(root1);
        inner = inner.Plus(inner.T).Over(2); // symmetric up to rounding
        double traceRoot = linalg.eigvalsh(inner).AtLeast(0).sqrt().sum().item<double>();
        double meanTerm = (mean1 - mean2).Squared().sum().item<double>();
        double trace = cov1.trace().Plus(cov2.trace()).item<double>();
        return Math.Max(0, meanTerm + trace - 2 * traceRoot);
    }

    /// <summary>
    /// KID: unbiased MMD² with k(a, b) = (a·b/d + 1)³. With more samples than <paramref name="subsetSize"/> in both sets,
    /// the mean and standard deviation over <paramref name="subsets"/> random subsets; with fewer, one estimate on all
    /// samples and no spread (subsets would all be the same samples, and their spread would say nothing).
    /// </summary>
    public static KidEstimate Kid(double[] x, double[] y, int dim, int subsets = 20, int subsetSize = 1000, int seed = 0)
    {
        int n = x.Length / dim, m = y.Length / dim;
        if (Math.Min(n, m) < 2) throw new ArgumentException("KID needs at least two feature vectors in each set");
        using var scope = NewDisposeScope();
        var fx = Rows(x, dim);
        var fy = Rows(y, dim);
        if (Math.Min(n, m) <= subsetSize) return new KidEstimate(Mmd2(fx, fy, dim), null);
        var rng = new Random(seed);
        var values = new double[subsets];
        for (int s = 0; s < subsets; s++)
        {
            using var ix = tensor(Sample(rng, n, subsetSize).Select(i => (long)i).ToArray());
            using var iy = tensor(Sample(rng, m, subsetSize).Select(i => (long)i).ToArray());
            values[s] = Mmd2(fx.index_select(0, ix), fy.index_select(0, iy), dim);
        }
        double mean = values.Average();
        return new KidEstimate(mean, subsets > 1 ? Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (subsets - 1)) : null);
    }

    /// <summary>
    /// Precision: share of generated points inside the real manifold (union of balls to each real point's k-th neighbour);
    /// recall: share of real points inside the generated manifold.
    /// </summary>
    public static (double Precision, double Recall) PrecisionRecall(double[] real, double[] generated, int dim, int k = 3)
    {
        using var scope = NewDisposeScope();
        var r = Rows(real, dim);
        var g = Rows(generated, dim);
        return (Coverage(r, g, k), Coverage(g, r, k));
    }

    // The share of query rows within the k-th-neighbour radius of some manifold row (squared distances, the point itself excluded).
    private static double Coverage(Tensor manifold, Tensor queries, int k)
    {
        var within = SquaredDistances(manifold, manifold);
        int kth = Math.Min(k, (int)manifold.shape[0] - 1);
        var radii = within.sort(1).Values[.., kth]; // column 0 is the point itself
        var toQueries = SquaredDistances(queries, manifold);
        return (toQueries <= radii.unsqueeze(0)).any(1).to(ScalarType.Float64).mean().item<double>();
    }

    private static Tensor SquaredDistances(Tensor a, Tensor b) =>
        (a.Squared().sum(1, keepdim: true) - a.matmul(b.T).Times(2)).Plus(b.Squared().sum(1).unsqueeze(0)).AtLeast(0);

    // Unbiased MMD² with the cubic kernel: off-diagonal means within each set, the full mean across.
    private static double Mmd2(Tensor x, Tensor y, int dim)
    {
        using var scope = NewDisposeScope();
        long n = x.shape[0], m = y.shape[0];
        Tensor K(Tensor a, Tensor b) => a.matmul(b.T).Over(dim).Plus(1).Power(3);
        var kxx = K(x, x);
        var kyy = K(y, y);
        double xx = (kxx.sum() - kxx.trace()).item<double>() / (n * (n - 1.0));
        double yy = (kyy.sum() - kyy.trace()).item<double>() / (m * (m - 1.0));
        double xy = K(x, y).mean().item<double>();
        return xx + yy - 2 * xy;
    }

    private static Tensor Rows(double[] values, int dim)
    {
        if (dim < 1 || values.Length % dim != 0) throw new ArgumentException($"{values.Length} numbers are not rows of {dim}");
        return tensor(values, [values.Length / dim, dim], ScalarType.Float64);
    }

    private static (Tensor Mean, Tensor Covariance) Moments(Tensor x)
    {
        if (x.shape[0] < 2) throw new ArgumentException("need at least two feature vectors");
        var mean = x.mean([0]);
        var centred = x - mean;
        return (mean, centred.T.matmul(centred).Over(x.shape[0] - 1));
    }

    // S^½ = V √Λ Vᵀ of a symmetric positive semi-definite S (negative rounding noise in Λ clamped to zero).
    private static Tensor SymmetricRoot(Tensor s)
    {
        var (values, vectors) = linalg.eigh(s.Plus(s.T).Over(2));
        return (vectors * values.AtLeast(0).sqrt().unsqueeze(0)).matmul(vectors.T);
    }

    private static int[] Sample(Random rng, int n, int size)
    {
        var idx = Enumerable.Range(0, n).ToArray();
        rng.Shuffle(idx);
        return idx[..size];
    }
}
