using Bcm.Model;
using static TorchSharp.torch;

namespace Bcm.Editing;

/// <summary>
/// Blind restoration (method §6): zigzag rounds on the degraded image without using the degradation: add small noise,
/// jump up to t_r, jump back to ε, with decreasing t_r. The default levels are a starting point, not tuned.
/// </summary>
public static class Restoration
{
    public static readonly double[] DefaultLevels = [0.3, 0.15]; // best of a small sweep on MNIST JPEG-15 (docs/mnist)

    public static Tensor Run(BcmModel model, Tensor degraded, IReadOnlyList<double>? levels = null, long seed = 0, Tensor? labels = null) =>
        Rounds.Run(model, degraded, levels ?? DefaultLevels, seed, labels: labels);

    /// <summary>PSNR of each image before and after restoration (dB on [0, 1]), with the degraded and restored batches.</summary>
    public sealed record Measurement(double[] PsnrBefore, double[] PsnrAfter, Tensor Degraded, Tensor Restored) : IDisposable
    {
        /// <summary>PSNR after minus before, per image (dB).</summary>
        public double[] Gains => PsnrAfter.Zip(PsnrBefore, (after, before) => after - before).ToArray();
        public double MeanGain => Gains.Average();
        /// <summary>Standard error of the mean gain.</summary>
        public double GainStandardError
        {
            get
            {
                var gains = Gains;
                double mean = gains.Average();
                return gains.Length < 2 ? 0 : Math.Sqrt(gains.Sum(g => (g - mean) * (g - mean)) / (gains.Length - 1) / gains.Length);
            }
        }
        /// <summary>Share of images whose PSNR went up.</summary>
        public double ImprovedFraction => Gains.Count(g => g > 0) / (double)PsnrAfter.Length;

        public void Dispose()
        {
            Degraded.Dispose();
            Restored.Dispose();
        }
    }

    /// <summary>
    /// The trivial baseline a restoration must beat: a Gaussian blur of <paramref name="sigmaPixels"/> (5×5 kernel,
    /// replicate padding), which removes blocking and ringing and blurs edges alike.
    /// </summary>
    public static Tensor Smooth(Tensor images, double sigmaPixels)
    {
        using var scope = NewDisposeScope();
        long c = images.shape[1];
        var kernel = Metrics.ImageQuality.GaussianWindow(5, sigmaPixels, c, ScalarType.Float32).to(images.device);
        var padded = nn.functional.pad(images, [2, 2, 2, 2], TorchSharp.PaddingModes.Replicate);
        return nn.functional.conv2d(padded, kernel, groups: c).MoveToOuterDisposeScope();
    }

    /// <summary>JPEG-degrades clean images at <paramref name="quality"/>, restores them blindly and measures PSNR before and after.</summary>
    public static Measurement Measure(BcmModel model, Tensor clean, int quality, IReadOnlyList<double>? levels = null, long seed = 0, Tensor? labels = null)
    {
        var degraded = Imaging.ImageIO.JpegDegrade(clean, quality);
        var restored = Run(model, degraded, levels, seed, labels);
        return new Measurement(Metrics.ImageQuality.Psnr(clean, degraded), Metrics.ImageQuality.Psnr(clean, restored), degraded, restored);
    }
}
