using Bcm.Model;
using Bcm.Plans;
using static TorchSharp.torch;

namespace Bcm.Metrics;

/// <summary>Inversion and regeneration of real images (the round trip of method §6), with the paper's reconstruction metric (per-pixel MSE on [0, 1]).</summary>
public static class RoundTrip
{
    /// <summary>What a round trip gives, per image.</summary>
    /// <param name="Latents">The inverted images at the inversion plan's end level.</param>
    /// <param name="Reconstructions">The latents regenerated.</param>
    /// <param name="Mse">Per-image MSE on [0, 1] against the originals.</param>
    /// <param name="Psnr">Per-image PSNR in dB.</param>
    public sealed record Result(Tensor Latents, Tensor Reconstructions, double[] Mse, double[] Psnr) : IDisposable
    {
        /// <summary>Mean MSE over the images.</summary>
        public double MeanMse => Mse.Average();
        /// <summary>Mean PSNR over the images.</summary>
        public double MeanPsnr => Psnr.Average();

        /// <summary>Frees the latent and reconstruction tensors.</summary>
        public void Dispose()
        {
            Latents.Dispose();
            Reconstructions.Dispose();
        }
    }

    /// <summary>Inverts <paramref name="images"/> (in [−1, 1]) with <paramref name="invert"/>, regenerates with <paramref name="generate"/>.</summary>
    public static Result Run(BcmModel model, Tensor images, Plan invert, Plan generate, long seed, Tensor? labels = null)
    {
        var (latents, recon) = PlanRunner.RoundTrip(model, images, invert, generate, PlanRunner.SeedRange(seed, (int)images.shape[0]), labels);
        var (mse, psnr) = Metrics(images, recon);
        return new Result(latents, recon, mse, psnr);
    }


    /// <summary>Per-image MSE and PSNR on [0, 1] (images clamped to [−1, 1] first, as when saved as pixels).</summary>
    public static (double[] Mse, double[] Psnr) Metrics(Tensor reference, Tensor images)
    {
        var mse = ImageQuality.Mse(reference, images);
        return (mse, ImageQuality.Psnr(mse));
    }
}
