using Bcm.Metrics;
using Bcm.Plans;

namespace Bcm.Reports;

/// <summary>
/// An ODE solver the EDM baseline is measured with, on the Karras grid: Heun (EDM's Algorithm 1, 2K − 1 evaluations for K
/// steps), Euler and DPM-Solver++(2M) (one evaluation a step). Each has its own <see cref="MethodFamily"/>, so reports
/// plot and compare them apart.
/// </summary>
/// <param name="Key">Its name on the command line: heun, euler, dpmpp2m.</param>
/// <param name="Name">Its name in tables.</param>
/// <param name="Family">The family of its result rows.</param>
/// <param name="Method">The plan engine's solver.</param>
public sealed record BaselineSolver(string Key, string Name, MethodFamily Family, OdeMethod Method)
{
    /// <summary>Heun, Euler and DPM-Solver++(2M), by key.</summary>
    public static readonly IReadOnlyList<BaselineSolver> All =
    [
        new("heun", "Heun", MethodFamily.EdmBaseline, OdeMethod.Heun),
        new("euler", "Euler", MethodFamily.EdmEuler, OdeMethod.Euler),
        new("dpmpp2m", "DPM-Solver++(2M)", MethodFamily.EdmDpmSolver2M, OdeMethod.DpmSolver2M),
    ];

    /// <summary>The solver named <paramref name="key"/>; refused, naming the choices, when there is none.</summary>
    public static BaselineSolver Get(string key) => All.FirstOrDefault(s => s.Key == key)
        ?? throw new Errors.BadInputException($"baseline solver '{key}': choose from {string.Join(", ", All.Select(s => s.Key))}");

    /// <summary>The solver's plan with the most steps whose NFE is at most <paramref name="nfe"/> (at least one step), upward with <paramref name="invert"/>.</summary>
    public Plan Within(int nfe, bool invert = false) =>
        Method == OdeMethod.Heun ? PlanPresets.HeunWithin(nfe, invert) : PlanPresets.Ode(Method, Math.Max(1, nfe), invert);

    /// <summary>The budgets whose plans differ: Heun within 1 and within 2 NFE is the same one-step plan, measured once.</summary>
    public IEnumerable<int> Budgets(IEnumerable<int> nfe) => nfe.DistinctBy(n => Within(n).Nfe);

    /// <summary>The family's name in plots' legends.</summary>
    public static string Legend(MethodFamily family) =>
        All.FirstOrDefault(s => s.Family == family) is { } s ? $"EDM baseline, {s.Name}" : family == MethodFamily.Bcm ? "BCM plans" : family.ToString();
}
