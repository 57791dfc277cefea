using Bcm.Model;
using Bcm.Plans;
using static TorchSharp.torch;
using Bcm.Tensors;
using static Bcm.Tensors.ScalarMath;

namespace Bcm.Editing;

/// <summary>
/// Interpolation between two real images (method §6): invert both to noise, mix the two latents (slerp by default,
/// lerp as an option), and regenerate every mix with a generation plan.
/// </summary>
public static class Interpolation
{
    /// <summary>Spherical interpolation per sample (flattened), the natural path between two Gaussian latents.</summary>
    public static Tensor Slerp(Tensor a, Tensor b, double alpha)
    {
        if (alpha == 0) return a.clone();
        if (alpha == 1) return b.clone();
        using var scope = NewDisposeScope();
        var fa = a.flatten(1);
        var fb = b.flatten(1);
        var cos = ((fa * fb).sum(1) / (fa.norm(1) * fb.norm(1))).Clamped(-1, 1);
        var theta = cos.acos().unsqueeze(1);
        var sin = theta.sin();
        // Nearly parallel latents: fall back to the straight line.
        var parallel = sin.abs().Below(1e-6);
        var wa = where(parallel, FullLike(sin, 1 - alpha), theta.Times(1 - alpha).sin() / sin);
        var wb = where(parallel, FullLike(sin, alpha), theta.Times(alpha).sin() / sin);
        return (wa * fa).Plus(wb * fb).reshape(a.shape).MoveToOuterDisposeScope();
    }

    /// <summary>Linear interpolation (1 − α)·a + α·b (slerp keeps the norm of Gaussian latents; this does not).</summary>
    public static Tensor Lerp(Tensor a, Tensor b, double alpha) => a.Times(1 - alpha).Plus(b.Times(alpha));

    /// <summary>Mixes of two latents at the given α values, regenerated with <paramref name="generate"/> ([count, …]).</summary>
    public static Tensor Regenerate(BcmModel model, Tensor latentA, Tensor latentB, IReadOnlyList<double> alphas, Plan generate,
        long seed, bool slerp = true, Tensor? labels = null)
    {
        using var scope = NewDisposeScope();
        var mixes = alphas.Select(alpha => slerp ? Slerp(latentA, latentB, alpha) : Lerp(latentA, latentB, alpha)).ToArray();
        var batch = cat(mixes, 0);
        // Every mix uses the same seed, so any fresh noise a plan injects is shared and the path stays smooth.
        var seeds = Enumerable.Repeat(seed, mixes.Length).ToArray();
        var y = labels is null ? null : labels.expand(mixes.Length);
        return PlanRunner.Run(model, batch, generate.FromGiven(), seeds, y).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Inverts the two images ([1, …] each) with <paramref name="invert"/> and regenerates <paramref name="count"/> mixes
    /// from α = 0 to 1. Returns the latents of both images and the regenerated path. With <paramref name="sameNoise"/>
    /// (the default) both inversions draw the same initial noise, as the paper does (images inverted with the same
    /// noise cluster together); otherwise image B draws its own (seed + 1).
    /// </summary>
    public static (Tensor LatentA, Tensor LatentB, Tensor Path) BetweenImages(BcmModel model, Tensor imageA, Tensor imageB, int count,
        Plan invert, Plan generate, long seed, bool slerp = true, Tensor? labels = null, bool sameNoise = true)
    {
        if (count < 2) throw new ArgumentException("an interpolation needs at least 2 images (α = 0 and 1)");
        Plan.CheckRoundTrip(invert, generate);
        var za = PlanRunner.Run(model, imageA, invert, [seed], labels);
        var zb = PlanRunner.Run(model, imageB, invert, [sameNoise ? seed : seed + 1], labels);
        var path = Regenerate(model, za, zb, Alphas(count), generate, seed, slerp, labels);
        return (za, zb, path);
    }

    /// <summary>
    /// The path between the samples of two seeds: the starting noises the generation plan would draw for
    /// <paramref name="seedA"/> and <paramref name="seedB"/> (so the ends are exactly those samples, as <c>bcm sample</c>
    /// makes them) mixed at <paramref name="count"/> α values and regenerated ([count, …]).
    /// </summary>
    public static Tensor BetweenSeeds(BcmModel model, long seedA, long seedB, int count, Plan generate, long seed, bool slerp = true, Tensor? labels = null)
    {
        if (count < 2) throw new ArgumentException("an interpolation needs at least 2 images (α = 0 and 1)");
        generate.CheckGenerates();
        using var scope = NewDisposeScope();
        var one = zeros([1, .. model.Network.SampleShape], device: model.Device);
        var za = PlanRunner.Noise([seedA], one, 0).Times(generate.Start);
        var zb = PlanRunner.Noise([seedB], one, 0).Times(generate.Start);
        return Regenerate(model, za, zb, Alphas(count), generate, seed, slerp, labels).MoveToOuterDisposeScope();
    }

    /// <summary><paramref name="count"/> evenly spaced mixing weights from 0 to 1, both included.</summary>
    public static double[] Alphas(int count) => Enumerable.Range(0, count).Select(i => i / (double)(count - 1)).ToArray();
}
