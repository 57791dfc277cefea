using System.Globalization;
using Bcm.Schedules;

namespace Bcm.Plans;

/// <summary>Named plans (method §5) and parametrised families; <see cref="Resolve"/> also accepts the text form.</summary>
public static class PlanPresets
{
    /// <summary>The named plans and their text: the paper's few-step samplers at its ImageNet-64 levels, and two inversions.</summary>
    public static readonly IReadOnlyDictionary<string, string> Named = new Dictionary<string, string>
    {
        ["onestep"] = "80>0.002",
        ["ancestral2"] = "80>2.4>0.002",
        ["zigzag3"] = "80>0.002 +0.1 0.1>1.2>0.002",
        ["mixed4"] = "80>3>0.002 +0.12 0.12>0.4>0.002",
        ["cm-multistep"] = "80>0.002 ~2.4 2.4>0.002",
        ["invert1"] = "0.07>80",
        ["invert2"] = "0.07>15>80",
        ["invert4"] = "0.07>0.5>2>10>80",
    };

    /// <summary>What <see cref="Resolve"/> accepts, as the CLI's help lists it.</summary>
    public const string Help = "a name (onestep, ancestral2, zigzag3, mixed4, cm-multistep, invert1, invert2, invert4), a family " +
                               "(ancestral:K for K jumps on a Karras schedule, zigzag:R for R rounds, cm:K; heun:K / euler:K / dpmpp2m:K for the diffusion " +
                               "baseline's ODE solvers in K steps, heun-invert:K / euler-invert:K / dpmpp2m-invert:K for ODE inversion), or the text form such as '80>2.4>0.002'";

    /// <summary>A name, a family <c>ancestral:K</c> / <c>zigzag:R</c> / <c>cm:K</c>, or the text form.</summary>
    public static Plan Resolve(string nameOrText)
    {
        string s = nameOrText.Trim();
        if (Named.TryGetValue(s, out var text)) return Plan.Parse(text);
        int colon = s.IndexOf(':');
        if (colon > 0 && int.TryParse(s[(colon + 1)..], NumberStyles.Integer, CultureInfo.InvariantCulture, out int k))
        {
            return s[..colon] switch
            {
                "ancestral" => Ancestral(k),
                "zigzag" => Zigzag(k),
                "cm" => ConsistencyMultistep(k),
                "heun" => Ode(OdeMethod.Heun, k),
                "euler" => Ode(OdeMethod.Euler, k),
                "heun-invert" => Ode(OdeMethod.Heun, k, invert: true),
                "euler-invert" => Ode(OdeMethod.Euler, k, invert: true),
                "dpmpp2m" => Ode(OdeMethod.DpmSolver2M, k),
                "dpmpp2m-invert" => Ode(OdeMethod.DpmSolver2M, k, invert: true),
                _ => throw new PlanException($"unknown plan family '{s[..colon]}': {Help}"),
            };
        }
        if (s.Contains('>')) return Plan.Parse(s);
        throw new PlanException($"unknown plan '{s}': {Help}");
    }

    /// <summary>The most steps a plan family may have (far beyond any useful plan; a bound on what a plan may allocate).</summary>
    public const int MaxSteps = 10_000;

    private static void CheckSteps(string family, int k)
    {
        if (k < 1) throw new PlanException($"{family} needs at least 1 step");
        if (k > MaxSteps) throw new PlanException($"{family}:{k}: at most {MaxSteps} steps");
    }

    /// <summary>A deterministic chain of k jumps on a Karras schedule from T to ε.</summary>
    public static Plan Ancestral(int k)
    {
        CheckSteps("ancestral", k);
        var sigmas = KarrasGrid.Descending(k + 1);
        return new Plan(sigmas[0], Enumerable.Range(0, k).Select(i => (PlanStep)new Jump(sigmas[i], sigmas[i + 1])).ToList());
    }

    /// <summary>One-step generation, then r rounds of (add σ_r·z, jump σ_r → τ_r, jump τ_r → ε) with decreasing σ_r.</summary>
    public static Plan Zigzag(int rounds, double sigma = 0.1, double tau = 1.2)
    {
        if (rounds < 0) throw new PlanException("zigzag needs ≥ 0 rounds");
        if (rounds > MaxSteps) throw new PlanException($"zigzag:{rounds}: at most {MaxSteps} rounds");
        var steps = new List<PlanStep> { new Jump(Sigmas.Max, Sigmas.Min) };
        for (int r = 0; r < rounds; r++)
        {
            double f = Math.Pow(0.5, r);
            steps.Add(new Noise(sigma * f));
            steps.Add(new Jump(sigma * f, tau * f));
            steps.Add(new Jump(tau * f, Sigmas.Min));
        }
        return new Plan(Sigmas.Max, steps);
    }

    /// <summary>Consistency-model multistep sampling with k evaluations on a Karras schedule.</summary>
    public static Plan ConsistencyMultistep(int k)
    {
        CheckSteps("cm", k);
        var taus = KarrasGrid.Descending(k + 1);
        var steps = new List<PlanStep> { new Jump(Sigmas.Max, Sigmas.Min) };
        for (int i = 1; i < k; i++)
        {
            steps.Add(new Noise(taus[i], ReachSigma: true));
            steps.Add(new Jump(taus[i], Sigmas.Min));
        }
        return new Plan(Sigmas.Max, steps);
    }

    /// <summary>
    /// The diffusion baseline's solver as a plan: <paramref name="steps"/> ODE steps on a Karras grid (ρ = 7) from T
    /// down to ε, or with <paramref name="invert"/> from ε up to T (ODE inversion: run it without start noise).
    /// A Heun solve costs 2·steps − 1 NFE (the step at ε is an Euler step, as in EDM's Algorithm 1), an Euler solve steps NFE.
    /// </summary>
    public static Plan Ode(OdeMethod method, int steps, bool invert = false)
    {
        CheckSteps(method.ToString().ToLowerInvariant(), steps);
        var sigmas = invert ? KarrasGrid.Between(steps, Sigmas.Min, Sigmas.Max) : KarrasGrid.Between(steps, Sigmas.Max, Sigmas.Min);
        return new Plan(sigmas[0], Enumerable.Range(0, steps).Select(i => (PlanStep)new OdeStep(sigmas[i], sigmas[i + 1], method)).ToList());
    }

    /// <summary>The Heun solve with the most steps whose NFE (2·steps − 1) is at most <paramref name="nfe"/> (at least one step).</summary>
    public static Plan HeunWithin(int nfe, bool invert = false) => Ode(OdeMethod.Heun, Math.Max(1, (nfe + 1) / 2), invert);
}
