using static TorchSharp.torch;
using Bcm.Tensors;
using static Bcm.Tensors.ScalarMath;

namespace Bcm.Imaging;

/// <summary>Linear filters on image batches [B, C, H, W].</summary>
public static class Filters
{
    /// <summary>A normalised size×size Gaussian window of width <paramref name="sigma"/>, one per channel: [channels, 1, size, size] for grouped convolution.</summary>
    public static Tensor GaussianWindow(int size, double sigma, long channels, ScalarType dtype)
    {
        using var scope = NewDisposeScope();
        var g = exp((-Range(size, dtype: dtype).Minus((size - 1) / 2.0).Squared()).Over(2 * sigma * sigma));
        g = g / g.sum();
        return outer(g, g).expand(channels, 1, size, size).contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// A Gaussian blur of <paramref name="sigmaPixels"/> (5×5 kernel, replicate padding): the trivial restoration
    /// baseline, which removes blocking and ringing and blurs edges alike.
    /// </summary>
    public static Tensor GaussianBlur(Tensor images, double sigmaPixels)
    {
        using var scope = NewDisposeScope();
        long c = images.shape[1];
        var kernel = GaussianWindow(5, sigmaPixels, c, ScalarType.Float32).to(images.device);
        var padded = nn.functional.pad(images, [2, 2, 2, 2], TorchSharp.PaddingModes.Replicate);
        return nn.functional.conv2d(padded, kernel, groups: c).MoveToOuterDisposeScope();
    }
}
