using System.Globalization;
using Bcm.Imaging;
using Bcm.Model;
using Bcm.Plans;
using static TorchSharp.torch;
using Bcm.Tensors;

namespace Bcm.Editing;

/// <summary>
/// Adversarial purification (the paper's second arXiv version: "defending black-box adversarial attacks"): take a
/// possibly attacked image to a middle noise level σ* and bring it back to data, so that a perturbation too small to
/// survive the trip is washed out before a classifier sees the image. Three purifiers, each a plan (or no network):
/// <list type="bullet">
/// <item><b>BCM, 2 NFE</b>: invert with the BCM (ε → σ*, one jump up) and regenerate (σ* → ε): <c>ε&gt;σ*&gt;ε</c>.</item>
/// <item><b>BCM, 1 NFE</b>: add Gaussian noise of σ* and jump to ε (the consistency-model way, no inversion): <c>σ*&gt;ε</c>.</item>
/// <item><b>ODE</b> (the diffusion baseline at equal NFE): one Euler step of the probability-flow ODE up to σ* and one
/// down, with the model as denoiser: <c>euler:ε&gt;σ*&gt;ε</c> (2 NFE).</item>
/// </list>
/// and <see cref="NoiseAndBlur"/>, Gaussian noise of σ* then a Gaussian blur, as the network-free baseline.
/// Images are in [−1, 1]; σ* is on that scale (twice the [0, 1] scale).
/// </summary>
public static class Purification
{
    /// <summary>The purifiers by name, as the CLI and the report call them.</summary>
    public static readonly string[] Methods = ["bcm2", "bcm1", "ode2", "noise-blur"];

    /// <summary>
    /// The DiffPure-style purifiers (Nie et al. 2022, with the probability-flow ODE in place of the reverse SDE): noise to
    /// σ*, then the model's ODE down from σ* with DPM-Solver++(2M) on the Karras grid, in 1 step (<c>diffpure1</c>, a
    /// single Euler step) or 2 (<c>diffpure2</c>): for the EDM baseline, at the NFE of <c>bcm1</c> and <c>bcm2</c>.
    /// </summary>
    public static readonly string[] DiffusionMethods = ["diffpure1", "diffpure2"];

    /// <summary>Every purifier name <see cref="PlanFor"/> knows.</summary>
    public static IEnumerable<string> AllMethods => Methods.Concat(DiffusionMethods);

    /// <summary>The plan of purifier <paramref name="method"/> at level <paramref name="sigma"/> (null for the network-free <c>noise-blur</c>).</summary>
    /// <exception cref="ArgumentException">An unknown method, or σ* outside (ε, T].</exception>
    public static Plan? PlanFor(string method, double sigma, double sigmaMin = Schedules.Sigmas.Min, double sigmaMax = Schedules.Sigmas.Max)
    {
        if (!(sigma > sigmaMin && sigma <= sigmaMax))
            throw new ArgumentException($"the purification level σ* must lie in ({sigmaMin}, {sigmaMax}], got {sigma}");
        string s = sigma.ToString("R", CultureInfo.InvariantCulture), e = sigmaMin.ToString("R", CultureInfo.InvariantCulture);
        return method switch
        {
            "bcm2" => Plan.Parse($"{e}>{s}>{e}", sigmaMin, sigmaMax),
            "bcm1" => Plan.Parse($"{s}>{e}", sigmaMin, sigmaMax),
            "ode2" => Plan.Parse($"euler:{e}>{s}>{e}", sigmaMin, sigmaMax),
            "noise-blur" => null,
            "diffpure1" => Plan.Parse($"dpmpp2m:{s}>{e}", sigmaMin, sigmaMax),
            "diffpure2" => Plan.Parse($"dpmpp2m:{string.Join(">", Schedules.KarrasGrid.Between(2, sigma, sigmaMin).Select(v => v.ToString("R", CultureInfo.InvariantCulture)))}", sigmaMin, sigmaMax),
            _ => throw new ArgumentException($"unknown purifier '{method}': one of {string.Join(", ", AllMethods)}"),
        };
    }

    /// <summary>
    /// Purifies <paramref name="images"/> with <paramref name="method"/> at σ*; image i draws its noise from
    /// <paramref name="seeds"/>[i]. A plan that starts at ε adds no noise of its own beyond ε·z.
    /// </summary>
    public static Tensor Run(BcmModel? model, Tensor images, string method, double sigma, IReadOnlyList<long> seeds, Tensor? labels = null)
    {
        var plan = PlanFor(method, sigma);
        if (plan is null) return NoiseAndBlur(images, sigma, seeds);
        if (model is null) throw new ArgumentException($"purifier {method} needs a model");
        return PlanRunner.Run(model, images, plan, seeds, labels);
    }

    /// <summary>
    /// The network-free baseline: Gaussian noise of σ* then a Gaussian blur of σ* pixels (at least half a pixel),
    /// clamped to [−1, 1]: it washes out small perturbations as the purifiers do, with no model of the data.
    /// </summary>
    public static Tensor NoiseAndBlur(Tensor images, double sigma, IReadOnlyList<long> seeds)
    {
        using var scope = NewDisposeScope();
        var noisy = images.Plus(PlanRunner.Noise(seeds, images, 0).Times(sigma));
        return Filters.GaussianBlur(noisy, Math.Max(0.5, sigma)).Clamped(-1, 1).MoveToOuterDisposeScope();
    }
}
