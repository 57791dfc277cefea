using System.Globalization;
using System.Text.Json.Serialization;

namespace Bcm.Plans;

/// <summary>One step of a sampling or inversion plan.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "op")]
[JsonDerivedType(typeof(Jump), "jump")]
[JsonDerivedType(typeof(Noise), "noise")]
public abstract record PlanStep
{
    /// <summary>Network evaluations this step costs.</summary>
    [JsonIgnore] public abstract int Nfe { get; }
}

/// <summary>One network evaluation: x ← f_θ(x, From, To), a jump along the PF-ODE (To &lt; From generates, To &gt; From inverts).</summary>
public sealed record Jump(double From, double To) : PlanStep
{
    public override int Nfe => 1;
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
    public override int Nfe => 0;
    public override string ToString() => (ReachSigma ? "~" : "+") + Jump.Fmt(Sigma);
}
