using Bcm.Model;
using static TorchSharp.torch;
using Bcm.Tensors;

namespace Bcm.Training;

/// <summary>
/// The EDM denoising loss (Karras et al. 2022) for the diffusion baseline, on the same network and scalings:
/// the denoiser is D(x, σ) = f_θ(x, σ, ε), the BCM parameterisation with u = ε, which is EDM's preconditioning
/// (c_skip = (σε + σ_d²)/(σ² + σ_d²), c_out = σ_d(σ − ε)/sqrt(σ² + σ_d²)) up to ε = 0.002. Per sample:
/// λ(σ)·mean ‖D(x₀ + σz, σ) − x₀‖² with λ(σ) = (σ² + σ_d²)/(σσ_d)² and ln σ ~ N(P_mean, P_std²).
/// </summary>
internal static class EdmLoss
{
    /// <summary>EDM's defaults for ln σ.</summary>
    public const double PMean = -1.2, PStd = 1.2;

    /// <summary>Per-sample weighted loss for noise levels <paramref name="sigma"/> [B].</summary>
    public static Tensor Compute(BcmModel model, Tensor x0, Tensor noise, Tensor sigma, Tensor? labels)
    {
        using var scope = NewDisposeScope();
        var x = x0.Plus(PerSample.Broadcast(sigma, x0) * noise);
        var denoised = model.Jump(x, sigma, null, labels);
        double sd2 = model.SigmaData * model.SigmaData;
        var weight = sigma.Squared().Plus(sd2) / sigma.Squared().Times(sd2);
        var dims = Enumerable.Range(1, (int)x0.dim() - 1).Select(i => (long)i).ToArray();
        return (weight * (denoised - x0).Squared().mean(dims)).MoveToOuterDisposeScope();
    }

    /// <summary>Noise levels for one batch: ln σ ~ N(<paramref name="pMean"/>, <paramref name="pStd"/>²), clamped to [ε, T].</summary>
    public static double[] DrawSigmas(Random rng, int batch, double pMean, double pStd, double min, double max) =>
        Enumerable.Range(0, batch).Select(_ => Math.Clamp(Math.Exp(pMean + pStd * Randomness.Seeds.Normal(rng)), min, max)).ToArray();
}
