using Bcm.Model;
using Bcm.Schedules;
using static TorchSharp.torch;

namespace Bcm.Training;

/// <summary>
/// The EDM diffusion baseline on the same network (<see cref="EdmLoss"/>): the denoiser f(x, σ, ε) trained at
/// log-normal σ; u is not used, so the u parameters stay frozen at align = [I | 0] and a BCM can start from it.
/// </summary>
public sealed class EdmDenoiserObjective(bool randomFlip) : ITrainingObjective
{
    /// <inheritdoc/>
    public string Name => "edm";
    /// <inheritdoc/>
    public ModelKind Kind => ModelKind.Denoiser;
    /// <inheritdoc/>
    public int PassesPerStep => 3;
    /// <inheritdoc/>
    public int Scales(long step) => 0;

    /// <summary>The noise levels of one step.</summary>
    public sealed record Levels(double[] Sigmas, bool[] Flips) : StepDraw(Flips)
    {
        /// <inheritdoc/>
        public override StepDraw Slice(int start, int count) => new Levels(Sigmas[start..(start + count)], Flips[start..(start + count)]);
    }

    /// <inheritdoc/>
    public StepDraw Draw(Random rng, int batch, long step)
    {
        var sigmas = EdmLoss.DrawSigmas(rng, batch, EdmLoss.PMean, EdmLoss.PStd, Sigmas.Min, Sigmas.Max);
        var flips = Enumerable.Range(0, batch).Select(_ => randomFlip && rng.NextDouble() < 0.5).ToArray();
        return new Levels(sigmas, flips);
    }

    /// <inheritdoc/>
    public StepLoss Loss(BcmModel online, BcmModel target, StepDraw draw, Tensor x0, Tensor noise, Tensor? labels, long dropoutSeed)
    {
        manual_seed(dropoutSeed);
        var sigma = tensor(((Levels)draw).Sigmas.Select(v => (float)v).ToArray(), device: x0.device);
        return new StepLoss(EdmLoss.Compute(online, x0, noise, sigma, labels).mean(), 0, 0);
    }
}
