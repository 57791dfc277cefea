using Bcm.Model;
using static TorchSharp.torch;

namespace Bcm.Plans;

/// <summary>Inversion and regeneration of real images, with the paper's reconstruction metric (per-pixel MSE on [0, 1]).</summary>
public static class RoundTrip
{
    public sealed record Result(Tensor Latents, Tensor Reconstructions, double[] Mse, double[] Psnr) : IDisposable
    {
        public double MeanMse => Mse.Average();
        public double MeanPsnr => Psnr.Average();

        public void Dispose()
        {
            Latents.Dispose();
            Reconstructions.Dispose();
        }
    }

    /// <summary>Inverts <paramref name="images"/> (in [−1, 1]) with <paramref name="invert"/>, regenerates with <paramref name="generate"/>.</summary>
    public static Result Run(BcmModel model, Tensor images, Plan invert, Plan generate, long seed, Tensor? labels = null)
    {
        int n = (int)images.shape[0];
        CheckPlans(invert, generate);
        var seeds = PlanRunner.SeedRange(seed, n);
        var latents = PlanRunner.Run(model, images, invert, seeds, labels);
        // Regeneration starts exactly from the latents (no fresh start noise).
        var recon = PlanRunner.Run(model, latents, generate, seeds, labels, addStartNoise: false);
        var (mse, psnr) = Metrics(images, recon);
        return new Result(latents, recon, mse, psnr);
    }

    /// <summary>
    /// Checks that <paramref name="invert"/> goes up in noise level, <paramref name="generate"/> comes down, and the
    /// second starts where the first ends (regeneration starts from the latents, without fresh noise).
    /// </summary>
    public static void CheckPlans(Plan invert, Plan generate)
    {
        if (!invert.IsInversion) throw new PlanException($"inversion plan '{invert}' does not go up in noise level (e.g. 0.07>80)");
        if (generate.IsInversion) throw new PlanException($"generation plan '{generate}' goes up in noise level (e.g. 80>0.002)");
        if (Math.Abs(generate.Start - invert.End) > 1e-9 * invert.End)
            throw new PlanException($"the generation plan '{generate}' starts at {generate.Start}, but the inversion '{invert}' ends at {invert.End}");
    }

    /// <summary>Per-image MSE and PSNR on [0, 1] (images clamped to [−1, 1] first, as when saved as pixels).</summary>
    public static (double[] Mse, double[] Psnr) Metrics(Tensor reference, Tensor images)
    {
        var mse = Bcm.Metrics.ImageQuality.Mse(reference, images);
        return (mse, Bcm.Metrics.ImageQuality.Psnr(mse));
    }
}
