using Bcm.Imaging;
using Bcm.Model;
using Bcm.Schedules;
using static TorchSharp.torch;

namespace Bcm.Training;

/// <summary>
/// The task-specific baseline of blind JPEG restoration, Palette-style (Saharia et al. 2022): a conditional diffusion
/// model, here the EDM denoiser (<see cref="EdmLoss"/>) on the same UNet with the JPEG-compressed image concatenated to
/// its input (<see cref="Networks.UNetConfig.ConditionChannels"/>), trained on pairs of a training image and its JPEG
/// version at a quality drawn per sample from <see cref="TrainOptions.JpegQualities"/>. It restores by solving its
/// probability-flow ODE from noise with the degraded image as the condition. (Palette itself trains a DDPM with an
/// L1/L2 noise loss and samples ancestrally in hundreds of steps; the EDM loss and ODE solvers are its few-step form,
/// on the same footing as the unconditional baseline.)
/// </summary>
public sealed class JpegRestorerObjective(bool randomFlip, int[] qualities) : ITrainingObjective
{
    /// <summary>The objective's name: <c>palette</c>.</summary>
    public const string ObjectiveName = "palette";

    /// <summary>The JPEG qualities it trains on unless told otherwise: those of the restoration table.</summary>
    public static readonly int[] DefaultQualities = [10, 20];

    /// <inheritdoc/>
    public string Name => ObjectiveName;
    /// <inheritdoc/>
    public ModelKind Kind => ModelKind.Denoiser;
    /// <inheritdoc/>
    public int PassesPerStep => 3;
    /// <inheritdoc/>
    public int Scales(long step) => 0;

    /// <summary>The noise levels and JPEG qualities of one step.</summary>
    public sealed record Draws(double[] Sigmas, int[] Qualities, bool[] Flips) : StepDraw(Flips)
    {
        /// <inheritdoc/>
        public override StepDraw Slice(int start, int count) =>
            new Draws(Sigmas[start..(start + count)], Qualities[start..(start + count)], Flips[start..(start + count)]);
    }

    /// <inheritdoc/>
    public StepDraw Draw(Random rng, int batch, long step)
    {
        var sigmas = EdmLoss.DrawSigmas(rng, batch, EdmLoss.PMean, EdmLoss.PStd, Sigmas.Min, Sigmas.Max);
        var flips = Enumerable.Range(0, batch).Select(_ => randomFlip && rng.NextDouble() < 0.5).ToArray();
        var drawn = Enumerable.Range(0, batch).Select(_ => qualities[rng.Next(qualities.Length)]).ToArray();
        return new Draws(sigmas, drawn, flips);
    }

    /// <inheritdoc/>
    public StepLoss Loss(BcmModel online, BcmModel target, StepDraw draw, Tensor x0, Tensor noise, Tensor? labels, long dropoutSeed)
    {
        var d = (Draws)draw;
        manual_seed(dropoutSeed);
        var sigma = tensor(d.Sigmas.Select(v => (float)v).ToArray(), device: x0.device);
        using var degraded = Degrade(x0, d.Qualities);
        return new StepLoss(EdmLoss.Compute(online, x0, noise, sigma, degraded).mean(), 0, 0);
    }

    /// <summary>Each image of <paramref name="images"/> ([B, C, H, W] on [−1, 1]) JPEG-compressed at its own quality.</summary>
    public static Tensor Degrade(Tensor images, IReadOnlyList<int> quality)
    {
        using var scope = NewDisposeScope();
        var result = empty_like(images);
        foreach (var q in quality.Distinct())
        {
            var index = tensor(Enumerable.Range(0, quality.Count).Where(i => quality[i] == q).Select(i => (long)i).ToArray(), device: images.device);
            result.index_copy_(0, index, ImageIO.JpegDegrade(images.index_select(0, index), q));
        }
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// <paramref name="options"/> made ready for this objective: the UNet takes the degraded image as a condition of its
    /// own channels, and the JPEG qualities default to <see cref="DefaultQualities"/>. Other objectives are returned unchanged.
    /// </summary>
    /// <exception cref="ArgumentException">The network is not an image UNet.</exception>
    public static TrainOptions Prepare(TrainOptions options)
    {
        if (options.Objective != ObjectiveName) return options;
        if (options.Network is not Networks.UNetConfig unet)
            throw new ArgumentException("the palette objective restores images: it needs an image UNet (e.g. --preset mnist), not a network of vectors");
        return options with { Network = unet with { ConditionChannels = unet.InChannels }, JpegQualities = options.JpegQualities ?? DefaultQualities };
    }
}
