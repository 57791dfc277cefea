using Bcm.Model;
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
}
