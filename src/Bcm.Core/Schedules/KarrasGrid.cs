namespace Bcm.Schedules;

/// <summary>The Karras noise-level grid (EDM eq. 5; iCT/BCM's discretisation of [ε, T]): dense near ε, ρ = 7.</summary>
public static class KarrasGrid
{
    /// <summary>Karras grid ts[i] = (ε^(1/ρ) + i/(N−1)·(T^(1/ρ) − ε^(1/ρ)))^ρ, i = 0..N−1, increasing from ε to T.</summary>
    public static double[] Ascending(int n, double sigmaMin = Sigmas.Min, double sigmaMax = Sigmas.Max, double rho = Sigmas.Rho)
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
        var g = Ascending(k, sigmaMin, sigmaMax, rho);
        Array.Reverse(g);
        return g;
    }

    /// <summary>
    /// <paramref name="steps"/> + 1 Karras levels from <paramref name="from"/> to <paramref name="to"/>, in either
    /// direction (the grid of an ODE solve: down to generate, up to invert).
    /// </summary>
    public static double[] Between(int steps, double from, double to, double rho = Sigmas.Rho)
    {
        if (steps < 1) throw new ArgumentOutOfRangeException(nameof(steps), steps, "at least one step");
        var up = Ascending(steps + 1, Math.Min(from, to), Math.Max(from, to), rho);
        if (from > to) Array.Reverse(up);
        return up;
    }
}
