using Bcm.Model;
using Bcm.Plans;
using static TorchSharp.torch;

namespace Bcm.Editing;

/// <summary>
/// Blind restoration (method §6): zigzag rounds on the degraded image without using the degradation: add small noise,
/// jump up to t_r, jump back to ε, with decreasing t_r. The default levels are a starting point, not tuned.
/// </summary>
public static class Restoration
{
    /// <summary>The default levels (0.3 then 0.15): the best of a small sweep on MNIST JPEG-15 images (docs/mnist).</summary>
    public static readonly double[] DefaultLevels = [0.3, 0.15]; // best of a small sweep on MNIST JPEG-15 (docs/mnist)

    /// <summary>Restores <paramref name="degraded"/> (in [−1, 1]) by one round per level, highest first; returns the restored images. <paramref name="afterRound"/> sees each round's result (do not keep it).</summary>
    public static Tensor Run(BcmModel model, Tensor degraded, IReadOnlyList<double>? levels = null, long seed = 0, Tensor? labels = null,
        Action<int, Tensor>? afterRound = null) =>
        Rounds.Run(model, degraded, levels ?? DefaultLevels, seed, labels: labels, afterRound: afterRound);

    /// <summary>
    /// Restores <paramref name="degraded"/> with a task-specific restorer (a denoiser conditioned on the degraded image,
    /// <c>bcm train --objective palette</c>): <paramref name="plan"/> (an ODE solver's generation plan) from noise, with
    /// the degraded image as the condition; image i draws its noise from seed <paramref name="seed"/> + i.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="restorer"/> is not conditioned on images of this shape.</exception>
    public static Tensor WithRestorer(BcmModel restorer, Tensor degraded, Plan plan, long seed = 0)
    {
        if (restorer.Network.Config.ConditionChannelCount != degraded.shape[1])
            throw new ArgumentException($"the restorer must be conditioned on {degraded.shape[1]}-channel images (a bcm train --objective palette run), " +
                                        $"but it takes {restorer.Network.Config.ConditionChannelCount} condition channels");
        using var zeros = TorchSharp.torch.zeros_like(degraded);
        return PlanRunner.Run(restorer, zeros, plan, PlanRunner.SeedRange(seed, (int)degraded.shape[0]), labels: degraded);
    }
}
