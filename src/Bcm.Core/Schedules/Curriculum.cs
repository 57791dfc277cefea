namespace Bcm.Schedules;

/// <summary>The doubling curriculum of iCT and BCM training: the number of grid points N(k) at optimiser step k.</summary>
public static class Curriculum
{
    /// <summary>
    /// iCT/BCM curriculum: K' = floor(K / (log2(s1/s0) + 1)), N(k) = min(s0·2^floor(k/K'), s1) + 1.
    /// </summary>
    public static int Scales(long step, long totalSteps, int s0 = 10, int s1 = 1280)
    {
        long kPrime = (long)Math.Floor(totalSteps / (Math.Log2((double)s1 / s0) + 1));
        if (kPrime < 1) kPrime = 1;
        double n = s0 * Math.Pow(2, Math.Floor((double)step / kPrime));
        return (int)Math.Min(n, s1) + 1;
    }
}
