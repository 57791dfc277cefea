namespace Bcm.Schedules;

/// <summary>
/// iCT's noise-level distribution over the intervals of a Karras grid (method §4): ln σ ~ N(P_mean, P_std²), each
/// interval weighted by its probability mass; and the small helpers that draw from a discrete distribution.
/// </summary>
public static class DiscretisedLogNormal
{
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

    /// <summary>Error function in float64: the Taylor series of erf below 2.5, a continued fraction for erfc above (both to about 1e-16).</summary>
    public static double Erf(double x) => x < 0 ? -Erf(-x) : 1 - Erfc(x);

    // erfc: 1 − erf by its Taylor series for small x; above 2.5 the continued fraction of erfc, evaluated by Lentz's method.
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
