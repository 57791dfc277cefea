namespace Bcm.Schedules;

/// <summary>Noise-level grids and distributions of EDM/iCT/BCM training (method §4): pure functions.</summary>
public static class Karras
{
    /// <summary>Karras grid ts[i] = (ε^(1/ρ) + i/(N−1)·(T^(1/ρ) − ε^(1/ρ)))^ρ, i = 0..N−1, increasing from ε to T.</summary>
    public static double[] Grid(int n, double sigmaMin = Sigmas.Min, double sigmaMax = Sigmas.Max, double rho = Sigmas.Rho)
    {
        if (n < 2) throw new ArgumentOutOfRangeException(nameof(n), n, "a Karras grid needs at least 2 points");
        double lo = Math.Pow(sigmaMin, 1 / rho), hi = Math.Pow(sigmaMax, 1 / rho);
        var ts = new double[n];
        for (int i = 0; i < n; i++) ts[i] = Math.Pow(lo + i / (double)(n - 1) * (hi - lo), rho);
        ts[0] = sigmaMin;
        ts[n - 1] = sigmaMax;
        return ts;
    }

    /// <summary>Karras sampling schedule from T down to ε with k points (k ≥ 2), as used by k-step ancestral chains.</summary>
    public static double[] Descending(int k, double sigmaMin = Sigmas.Min, double sigmaMax = Sigmas.Max, double rho = Sigmas.Rho)
    {
        var g = Grid(k, sigmaMin, sigmaMax, rho);
        Array.Reverse(g);
        return g;
    }

    /// <summary>
    /// iCT's discretised log-normal over the N−1 intervals of a grid, in float64:
    /// P[i] ∝ erf((ln ts[i+1] − P_mean)/(√2·P_std)) − erf((ln ts[i] − P_mean)/(√2·P_std)), normalised.
    /// </summary>
    public static double[] IntervalProbabilities(IReadOnlyList<double> ts, double pMean = -1.1, double pStd = 2.0)
    {
        var p = new double[ts.Count - 1];
        for (int i = 0; i < p.Length; i++)
            p[i] = Erf((Math.Log(ts[i + 1]) - pMean) / (Math.Sqrt(2) * pStd)) - Erf((Math.Log(ts[i]) - pMean) / (Math.Sqrt(2) * pStd));
        return Normalise(p);
    }

    /// <summary>Divides by the sum; throws when nothing is left to draw.</summary>
    public static double[] Normalise(double[] p)
    {
        double sum = p.Sum();
        if (!(sum > 0)) throw new InvalidOperationException("probabilities sum to zero");
        return p.Select(v => v / sum).ToArray();
    }

    /// <summary>Draws an index from a discrete distribution given a uniform number in [0, 1).</summary>
    public static int Draw(IReadOnlyList<double> p, double uniform)
    {
        double acc = 0;
        int last = -1;
        for (int i = 0; i < p.Count; i++)
        {
            if (p[i] <= 0) continue;
            last = i;
            acc += p[i];
            if (uniform < acc) return i;
        }
        return last;
    }

    /// <summary>
    /// iCT/BCM curriculum: K' = floor(K / (log2(s1/s0) + 1)), N(k) = min(s0·2^floor(k/K'), s1) + 1.
    /// </summary>
    public static int Curriculum(long step, long totalSteps, int s0 = 10, int s1 = 1280)
    {
        long kPrime = (long)Math.Floor(totalSteps / (Math.Log2((double)s1 / s0) + 1));
        if (kPrime < 1) kPrime = 1;
        double n = s0 * Math.Pow(2, Math.Floor((double)step / kPrime));
        return (int)Math.Min(n, s1) + 1;
    }

    /// <summary>Error function, |error| &lt; 1.2e-16 relative (W. J. Cody's rational approximations via erfc).</summary>
    public static double Erf(double x) => x < 0 ? -Erf(-x) : 1 - Erfc(x);

    // erfc by the continued fraction / series split of Numerical Recipes (erfccheb is too coarse for float64).
    private static double Erfc(double x)
    {
        if (x < 2.5)
        {
            // Taylor series of erf, converges fast for small x.
            double sum = x, term = x, x2 = x * x;
            for (int n = 1; n < 200; n++)
            {
                term *= -x2 / n;
                double add = term / (2 * n + 1);
                sum += add;
                if (Math.Abs(add) < 1e-17 * Math.Abs(sum)) break;
            }
            return 1 - 2 / Math.Sqrt(Math.PI) * sum;
        }
        // Continued fraction (Lentz) for large x.
        double tiny = 1e-300, b = x * x + 0.5, c = 1 / tiny, d = 1 / b, h = d;
        for (int i = 1; i < 300; i++)
        {
            double an = -i * (i - 0.5);
            b += 2;
            d = an * d + b; if (Math.Abs(d) < tiny) d = tiny;
            c = b + an / c; if (Math.Abs(c) < tiny) c = tiny;
            d = 1 / d;
            double del = d * c;
            h *= del;
            if (Math.Abs(del - 1) < 1e-16) break;
        }
        return x * Math.Exp(-x * x) / Math.Sqrt(Math.PI) * h;
    }
}
