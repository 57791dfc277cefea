using System.Text.Json.Serialization;

namespace Bcm.Metrics;

/// <summary>Which family a measured method belongs to: what reports group, plot and compare by (never by parsing display names).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<MethodFamily>))]
public enum MethodFamily
{
    /// <summary>A reference, not a method: the real-versus-real or exact-sample floor, the exact ODE.</summary>
    Reference,
    /// <summary>A plan of the BCM (one network, jumps in both directions).</summary>
    Bcm,
    /// <summary>The EDM diffusion baseline: its denoiser run by Heun's second-order method (EDM's Algorithm 1).</summary>
    EdmBaseline,
    /// <summary>The EDM baseline run by Euler's method (first order, one evaluation a step).</summary>
    EdmEuler,
    /// <summary>The EDM baseline run by DPM-Solver++(2M) (Lu et al. 2022: second-order multistep, one evaluation a step).</summary>
    EdmDpmSolver2M,
}
