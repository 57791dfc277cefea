using Bcm.Model;
using Bcm.Plans;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Bcm.Tests;

/// <summary>
/// The diffusion solvers of the plan engine on Gaussian data with its exact denoiser, where the probability-flow ODE is
/// solved in closed form (x_b = x_a·sqrt((s² + σ_b²)/(s² + σ_a²))): the observed order of convergence on the Karras grid
/// is that of each method (Euler 1, Heun 2, DPM-Solver++(2M) 2), in both directions, and the NFE a plan reports is the
/// NFE it spends.
/// </summary>
public sealed class SolverOrderTests(ITestOutputHelper output)
{
    private const double S = 0.5, Eps = 0.002, T = 80;

    // Relative error of the K-step solve against the exact solution, for one direction.
    private static double Error(BcmModel model, string family, int k, bool invert)
    {
        var plan = PlanPresets.Resolve($"{family}{(invert ? "-invert" : "")}:{k}");
        double from = invert ? Eps : T, to = invert ? T : Eps;
        using var start = tensor(new[] { 0.3, -1.1, 0.7, 2.0 }, [4, 1]).mul(Math.Sqrt(S * S + from * from));
        using var solved = PlanRunner.Run(model, start, plan.FromGiven(), PlanRunner.SeedRange(0, 4));
        using var exact = start.mul(Math.Sqrt((S * S + to * to) / (S * S + from * from)));
        return (solved - exact).abs().max().item<double>() / exact.abs().max().item<double>();
    }

    [Theory]
    [InlineData("euler", 1.0, false)]
    [InlineData("heun", 2.0, false)]
    [InlineData("dpmpp2m", 2.0, false)]
    [InlineData("euler", 1.0, true)]
    [InlineData("heun", 2.0, true)]
    [InlineData("dpmpp2m", 2.0, true)]
    public void EachSolverConvergesAtItsOrder(string family, double order, bool invert)
    {
        using var model = AnalyticGaussianNetwork.Denoiser(1, S);
        var errors = new[] { 16, 32, 64, 128 }.Select(k => Error(model, family, k, invert)).ToArray();
        var orders = errors.Zip(errors.Skip(1), (a, b) => Math.Log2(a / b)).ToArray();
        output.WriteLine($"{family}{(invert ? "-invert" : "")}: errors {string.Join(", ", errors.Select(e => e.ToString("E2")))}; observed orders {string.Join(", ", orders.Select(o => o.ToString("F2")))}");
        Assert.InRange(orders[^1], order - 0.25, order + 0.35);
    }

    [Fact]
    public void DpmSolver2MIsBetterThanEulerAtEqualNfeAndCostsOneEvaluationAStep()
    {
        using var model = AnalyticGaussianNetwork.Denoiser(1, S);
        foreach (int k in new[] { 4, 8, 10 })
            Assert.True(Error(model, "dpmpp2m", k, false) < Error(model, "euler", k, false), $"{k} steps");
        // Upward at few steps (the first step leaves ε, where D cannot be evaluated): as accurate as Euler's inversion or
        // better, never the blow-up of the exponential form with D taken at the step's end (σ₁/ε ≈ 1,260 on two steps).
        foreach (int k in new[] { 1, 2, 3, 4, 6, 10 })
        {
            double dpm = Error(model, "dpmpp2m", k, true), euler = Error(model, "euler", k, true);
            output.WriteLine($"{k} steps up: DPM-Solver++(2M) {dpm:E2}, Euler {euler:E2}");
            Assert.True(dpm <= euler * 1.0001, $"{k} steps up: DPM-Solver++(2M) {dpm:E2} against Euler {euler:E2}");
        }
        foreach (var (text, nfe) in new[] { ("dpmpp2m:10", 10), ("dpmpp2m-invert:6", 6), ("dpmpp2m:1", 1) })
        {
            var plan = PlanPresets.Resolve(text);
            Assert.Equal(nfe, plan.Nfe);
            int evaluations = 0;
            using var start = ones(2, 1).mul(text.Contains("invert") ? Eps : T);
            using (PlanRunner.Run(new BcmModel(new CountingNetwork(model.Network, () => evaluations++)), start, plan.FromGiven(), PlanRunner.SeedRange(0, 2))) { }
            Assert.Equal(nfe, evaluations);
        }
        // The text form names the method and round-trips.
        string form = PlanPresets.Resolve("dpmpp2m:3").ToString();
        Assert.StartsWith("dpmpp2m:80>", form);
        Assert.Equal(form, Plan.Parse(form).ToString());
    }
}
