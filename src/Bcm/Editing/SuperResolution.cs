using Bcm.Model;
using static TorchSharp.torch;
using Bcm.Tensors;

namespace Bcm.Editing;

/// <summary>
/// Super-resolution by iterative replacement (the consistency-model editor of Song et al. 2023, on BCM rounds):
/// start from the low-resolution image upsampled and noised, then rounds of jump up to t_r → jump down to ε, each
/// followed by replacing the result's low frequencies with the given image: x ← x − up(down(x)) + up(y), where down
/// averages factor×factor blocks and up repeats pixels. The output's block averages equal the input exactly (up to
/// float rounding): the model only adds detail.
/// </summary>
public static class SuperResolution
{
    /// <summary>Levels chosen on 8 MNIST test images (docs/mnist): the low-resolution image fixes the coarse content, so
    /// the rounds start at a middle level rather than at T.</summary>
    public static readonly double[] DefaultLevels = [5, 2.5, 1.2, 0.6];

    /// <summary>Averages factor×factor blocks (the degradation super-resolution inverts).</summary>
    public static Tensor Downsample(Tensor x, int factor) => nn.functional.avg_pool2d(x, factor);

    /// <summary>Repeats each pixel factor×factor times.</summary>
    public static Tensor Upsample(Tensor x, int factor) => x.repeat_interleave(factor, 2).repeat_interleave(factor, 3);

    /// <summary>Upsamples <paramref name="lowRes"/> [B, C, h, w] by <paramref name="factor"/> to [B, C, h·f, w·f].</summary>
    public static Tensor Run(BcmModel model, Tensor lowRes, int factor, IReadOnlyList<double>? levels = null, long seed = 0, Tensor? labels = null,
        Action<int, Tensor>? afterRound = null)
    {
        if (factor < 2) throw new ArgumentException($"the factor must be ≥ 2, got {factor}");
        var shape = model.Network.SampleShape;
        if (lowRes.shape[1] != shape[0] || lowRes.shape[2] * factor != shape[1] || lowRes.shape[3] * factor != shape[2])
            throw new ArgumentException($"a {lowRes.shape[2]}x{lowRes.shape[3]} image upsampled {factor}x is not the model's {shape[1]}x{shape[2]}: " +
                                        $"give a {shape[1] / factor}x{shape[2] / factor} image");
        using var scope = NewDisposeScope();
        var low = Upsample(lowRes, factor);
        Tensor Project(Tensor x) => (x - Upsample(Downsample(x, factor), factor)).Plus(low);
        // Start from the blocky upsampled image itself: each round's jump up to t_r supplies the randomness.
        return Rounds.Run(model, low, levels ?? DefaultLevels, seed, Project, labels, afterRound).MoveToOuterDisposeScope();
    }
}
