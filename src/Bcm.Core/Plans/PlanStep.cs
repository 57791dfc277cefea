using System.Globalization;
using System.Text.Json.Serialization;

namespace Bcm.Plans;

/// <summary>One step of a sampling or inversion plan.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "op")]
[JsonDerivedType(typeof(Jump), "jump")]
[JsonDerivedType(typeof(Noise), "noise")]
[JsonDerivedType(typeof(OdeStep), "ode")]
public abstract record PlanStep
{
    /// <summary>Network evaluations this step costs.</summary>
    [JsonIgnore] public abstract int Nfe { get; }

    /// <summary>The noise level the sample is at after this step.</summary>
    [JsonIgnore] public abstract double Reached { get; }
}

/// <summary>One network evaluation: x ← f_θ(x, From, To), a jump along the PF-ODE (To &lt; From generates, To &gt; From inverts).</summary>
public sealed record Jump(double From, double To) : PlanStep
{
    /// <inheritdoc/>
    public override int Nfe => 1;
    /// <inheritdoc/>
    public override double Reached => To;
    /// <summary>The text form, e.g. <c>80>0.002</c>.</summary>
    public override string ToString() => $"{Fmt(From)}>{Fmt(To)}";
    internal static string Fmt(double v) => v.ToString("0.######", CultureInfo.InvariantCulture);
}

/// <summary>
/// Fresh Gaussian noise: x ← x + Sigma·z (<see cref="ReachSigma"/> false), or the consistency-multistep form
/// x ← x + sqrt(Sigma² − ε²)·z that takes a sample at ε to noise level Sigma (<see cref="ReachSigma"/> true).
/// Afterwards the sample is taken to be at level Sigma.
/// </summary>
public sealed record Noise(double Sigma, bool ReachSigma = false) : PlanStep
{
    /// <inheritdoc/>
    public override int Nfe => 0;
    /// <inheritdoc/>
    public override double Reached => Sigma;
    /// <summary>The text form: <c>+s</c> or <c>~s</c>.</summary>
    public override string ToString() => (ReachSigma ? "~" : "+") + Jump.Fmt(Sigma);
}

/// <summary>How an <see cref="OdeStep"/> integrates the probability-flow ODE.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<OdeMethod>))]
public enum OdeMethod
{
    /// <summary>Heun's second-order method (EDM Algorithm 1).</summary>
    Heun,
    /// <summary>Euler's method (DDIM for this parameterisation).</summary>
    Euler,
    /// <summary>
    /// DPM-Solver++(2M) (Lu et al. 2022; k-diffusion's <c>sample_dpmpp_2m</c>): a multistep solver in log σ on the
    /// denoiser's data prediction, second order from its second step on, one evaluation a step.
    /// </summary>
    DpmSolver2M,
}

/// <summary>
/// One step of the diffusion baseline's solver: the probability-flow ODE dx/dσ = (x − D(x, σ))/σ from
/// <see cref="From"/> to <see cref="To"/> with the denoiser D(x, σ) = f(x, σ, ε) (an EDM baseline run, or any BCM used
/// as a denoiser), by Euler's method or Heun's, as EDM's Algorithm 1 takes them. Upward (To &gt; From) it is ODE
/// inversion. The slope cannot be evaluated at σ = ε (there D(x, ε) = x by the boundary condition, though the true
/// slope is not zero), so a step with one end at ε is an Euler step with the slope at its other end: EDM's plain Euler
/// step into the end of its grid, and its mirror when inverting.
/// </summary>
public sealed record OdeStep(double From, double To, OdeMethod Method) : PlanStep
{
    /// <summary>Heun evaluates the slope at both ends (2 NFE), Euler at one (1 NFE); a step with an end at ε is Euler (1 NFE).</summary>
    public override int Nfe => Method == OdeMethod.Heun && !AtBoundary(From) && !AtBoundary(To) ? 2 : 1;
    /// <inheritdoc/>
    public override double Reached => To;

    /// <summary>True at σ = ε, where the slope cannot be evaluated.</summary>
    public static bool AtBoundary(double sigma, double sigmaMin = Schedules.Sigmas.Min) => sigma <= sigmaMin * (1 + 1e-9);

    /// <summary>The token prefix of the method in the text form (<c>heun:</c>, <c>euler:</c>).</summary>
    public string Prefix => Method switch { OdeMethod.Heun => "heun:", OdeMethod.Euler => "euler:", _ => "dpmpp2m:" };

    /// <summary>The text form, e.g. <c>heun:80>40</c>.</summary>
    public override string ToString() => $"{Prefix}{Jump.Fmt(From)}>{Jump.Fmt(To)}";
}
