namespace Bcm.Schedules;

/// <summary>Constants of the EDM/BCM noise process (method §1).</summary>
public static class Sigmas
{
    /// <summary>ε = σ_min.</summary>
    public const double Min = 0.002;
    /// <summary>T = σ_max.</summary>
    public const double Max = 80.0;
    /// <summary>ρ of the Karras grid.</summary>
    public const double Rho = 7.0;
    /// <summary>σ_d, the data standard deviation assumed by the scalings.</summary>
    public const double Data = 0.5;
}
