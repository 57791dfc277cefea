using Bcm.Model;
using Bcm.Schedules;
using static TorchSharp.torch;

namespace Bcm.Baselines;

/// <summary>
/// The diffusion baseline's samplers: the probability-flow ODE dx/dσ = (x − D(x, σ))/σ solved with a denoiser
/// D(x, σ) = f(x, σ, ε) (an EDM baseline run, or any BCM used as a denoiser), Heun's 2nd-order method (EDM Algorithm 1)
/// or Euler's (DDIM), on a Karras σ grid. The same solver run upwards (ε → T) is ODE inversion (DDIM inversion for Euler).
/// </summary>
public static class OdeSolver
{
    public enum Method { Heun, Euler }

    /// <summary>
    /// A Karras grid of <paramref name="steps"/> + 1 noise levels from <paramref name="from"/> to <paramref name="to"/>
    /// (either direction), ρ = 7: dense near the small end, as EDM's sampler.
    /// </summary>
    public static double[] Grid(int steps, double from, double to, double rho = 7)
    {
        if (steps < 1) throw new ArgumentOutOfRangeException(nameof(steps), "at least one step");
        double lo = Math.Min(from, to), hi = Math.Max(from, to);
        var down = Enumerable.Range(0, steps + 1)
            .Select(i => Math.Pow(Math.Pow(hi, 1 / rho) + i / (double)steps * (Math.Pow(lo, 1 / rho) - Math.Pow(hi, 1 / rho)), rho)).ToArray();
        down[0] = hi;
        down[^1] = lo;
        return from > to ? down : down.Reverse().ToArray();
    }

    /// <summary>
    /// Network evaluations of a solve between ε and T: Heun uses two per step except at σ = ε, where the boundary
    /// condition gives D = x without the network (EDM likewise takes an Euler last step): 2N − 1; Euler uses N.
    /// </summary>
    public static int Nfe(Method method, int steps) => method == Method.Heun ? 2 * steps - 1 : steps;

    /// <summary>The number of steps whose NFE is at most <paramref name="nfe"/> and closest to it (at least one).</summary>
    public static int StepsFor(Method method, int nfe) => Math.Max(1, method == Method.Heun ? (nfe + 1) / 2 : nfe);

    /// <summary>Integrates the ODE from sigmas[0] to sigmas[^1] starting at <paramref name="x"/> (x at noise level sigmas[0]).</summary>
    public static Tensor Solve(BcmModel denoiser, Tensor x, IReadOnlyList<double> sigmas, Method method = Method.Heun, Tensor? labels = null,
        Action<int, double, Tensor>? callback = null)
    {
        if (sigmas.Count < 2) throw new ArgumentException("give at least two noise levels");
        if (sigmas.Any(s => !(s > 0))) throw new ArgumentException("noise levels must be positive (the denoiser is f(x, σ, ε) with σ ≥ ε)");
        using var _ = no_grad();
        using var outer = NewDisposeScope();
        var current = x.clone();
        for (int i = 0; i + 1 < sigmas.Count; i++)
        {
            double s = sigmas[i], next = sigmas[i + 1];
            Tensor updated;
            using (NewDisposeScope())
            {
                var d = Slope(denoiser, current, s, labels);
                var euler = current + (next - s) * d;
                updated = method == Method.Euler ? euler : current + (next - s) * 0.5 * (d + Slope(denoiser, euler, next, labels));
                updated = updated.MoveToOuterDisposeScope();
            }
            current.Dispose();
            current = updated;
            callback?.Invoke(i, next, current);
        }
        return current.MoveToOuterDisposeScope();
    }

    /// <summary>Generation: x_T = T·z for the given noise z, solved down to ε in <paramref name="steps"/> steps.</summary>
    public static Tensor Generate(BcmModel denoiser, Tensor noise, int steps, Method method = Method.Heun, Tensor? labels = null)
    {
        using var scope = NewDisposeScope();
        return Solve(denoiser, noise * denoiser.SigmaMax, Grid(steps, denoiser.SigmaMax, denoiser.SigmaMin), method, labels).MoveToOuterDisposeScope();
    }

    /// <summary>Inversion: clean data (taken as x at σ = ε) solved up to T in <paramref name="steps"/> steps.</summary>
    public static Tensor Invert(BcmModel denoiser, Tensor data, int steps, Method method = Method.Heun, Tensor? labels = null) =>
        Solve(denoiser, data, Grid(steps, denoiser.SigmaMin, denoiser.SigmaMax), method, labels);

    // dx/dσ = (x − D(x, σ))/σ with D(x, σ) = f(x, σ, ε). At σ = ε the boundary condition f(x, ε, ε) = x gives slope 0
    // without evaluating the network (the true slope is O(1) but multiplies a step of about ε: a negligible error).
    private static Tensor Slope(BcmModel denoiser, Tensor x, double sigma, Tensor? labels) =>
        sigma <= denoiser.SigmaMin * (1 + 1e-9) ? zeros_like(x) : (x - denoiser.Jump(x, sigma, denoiser.SigmaMin, labels)) / sigma;
}
