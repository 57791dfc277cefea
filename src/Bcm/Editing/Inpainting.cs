using Bcm.Model;
using static TorchSharp.torch;
using Bcm.Tensors;

namespace Bcm.Editing;

/// <summary>
/// BCM inpainting (method §6): unknown pixels start as Gaussian noise, then rounds of invert-to-t_r → generate → paste
/// the known pixels back, with decreasing t_r. The paper's figure uses 7 rounds (14 NFE).
/// </summary>
public static class Inpainting
{
    /// <summary>The levels of the paper's 7 rounds (14 NFE).</summary>
    public static readonly double[] DefaultLevels = [80, 40, 20, 10, 5, 2.5, 1.2];

    /// <summary>Fills the pixels where <paramref name="known"/> is false ([B,1,H,W] or the image's shape, broadcast).</summary>
    public static Tensor Run(BcmModel model, Tensor image, Tensor known, IReadOnlyList<double>? levels = null, long seed = 0, Tensor? labels = null,
        Action<int, Tensor>? afterRound = null)
    {
        using var scope = NewDisposeScope();
        var mask = known.to(ScalarType.Bool).expand_as(image);
        using var g = Randomness.Seeds.Generator(seed, Randomness.Seeds.Sample, -1);
        var noise = randn(image.shape, generator: g).to(image.device).Clamped(-1, 1);
        var start = where(mask, image, noise);
        return Rounds.Run(model, start, levels ?? DefaultLevels, seed, mask, image, labels, afterRound).MoveToOuterDisposeScope();
    }

    /// <summary>A mask [1,1,H,W] that is false (unknown) inside the box and true elsewhere.</summary>
    public static Tensor BoxMask(int height, int width, int x, int y, int w, int h)
    {
        if (w < 1 || h < 1 || x < 0 || y < 0 || (long)x + w > width || (long)y + h > height) // long: x + w must not overflow
            throw new ArgumentException($"box {x},{y},{w},{h} does not fit in a {width}x{height} image");
        var m = ones(1, 1, height, width, dtype: ScalarType.Bool);
        m[.., .., y..(y + h), x..(x + w)] = tensor(false);
        return m;
    }
}
