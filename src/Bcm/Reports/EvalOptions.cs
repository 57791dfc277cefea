using Bcm.Errors;
using Bcm.Plans;

namespace Bcm.Reports;

/// <summary>The checks the two evaluation reports' options share (<see cref="ImageReport.Options"/>, <see cref="MixtureReport.Options"/>).</summary>
internal static class EvalOptions
{
    /// <summary>The most NFE a baseline budget may ask for.</summary>
    public const int MaxNfe = 1000;

    public static void Validate(int samples, string[] plans, int[] baselineNfe, int[] inversionNfe, string[] solvers, string[] inversions)
    {
        if (samples < 1) throw new BadInputException($"--count {samples}: give at least 1 sample");
        if (plans.Length == 0) throw new BadInputException("--plans: give at least one plan name");
        foreach (var p in plans)
            if (PlanPresets.Resolve(p).IsInversion) throw new BadInputException($"--plans: '{p}' is an inversion plan; give generation plans (e.g. onestep)");
        foreach (var p in inversions)
            if (!PlanPresets.Resolve(p).IsInversion) throw new BadInputException($"--inversion-plans: '{p}' does not go up in noise level; give inversion plans (e.g. invert2)");
        Budgets(baselineNfe, "--baseline-nfe");
        Budgets(inversionNfe, "--inversion-nfe");
        if (solvers.Length == 0) throw new BadInputException("--baseline-solvers: give at least one of heun, euler, dpmpp2m");
        foreach (var s in solvers) BaselineSolver.Get(s);
    }

    private static void Budgets(int[] nfe, string option)
    {
        foreach (int n in nfe)
            if (n is < 1 or > MaxNfe) throw new BadInputException($"{option} {n}: budgets must be in 1..{MaxNfe}");
    }
}
