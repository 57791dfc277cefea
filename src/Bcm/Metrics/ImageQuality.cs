using static TorchSharp.torch;
using Bcm.Tensors;

namespace Bcm.Metrics;

/// <summary>Per-image reconstruction quality on images in [−1, 1] (mapped to [0, 1]): MSE, PSNR and SSIM.</summary>
public static class ImageQuality
{
    /// <summary>Mean squared error per image on [0, 1], both clamped to [−1, 1] first (as when saved as pixels).</summary>
    public static double[] Mse(Tensor reference, Tensor images)
    {
        using var scope = NewDisposeScope();
        var diff = (images.Clamped(-1, 1) - reference.Clamped(-1, 1)).Over(2).to(ScalarType.Float64);
        return diff.Squared().flatten(1).mean([1]).cpu().data<double>().ToArray();
    }

    /// <summary>PSNR per image in dB on [0, 1] (peak 1; 120 dB for identical images).</summary>
    public static double[] Psnr(Tensor reference, Tensor images) => Psnr(Mse(reference, images));

    /// <summary>PSNR in dB on [0, 1] of each MSE (120 dB for an MSE of 0).</summary>
    public static double[] Psnr(double[] mse) => mse.Select(m => 10 * Math.Log10(1 / Math.Max(m, 1e-12))).ToArray();

    /// <summary>
    /// SSIM per image (Wang et al. 2004) on [0, 1]: Gaussian window σ = 1.5 of size 11 (smaller for smaller images),
    /// K1 = 0.01, K2 = 0.03, valid positions only, averaged over channels.
    /// </summary>
    public static double[] Ssim(Tensor reference, Tensor images)
    {
        using var scope = NewDisposeScope();
        var x = reference.Plus(1).Over(2).to(ScalarType.Float64);
        var y = images.Plus(1).Over(2).to(ScalarType.Float64);
        long channels = x.shape[1];
        int size = (int)Math.Min(11, Math.Min(x.shape[2], x.shape[3]));
        if (size % 2 == 0) size--;
        var window = Imaging.Filters.GaussianWindow(size, 1.5, channels, ScalarType.Float64).to(x.device);
        Tensor Filter(Tensor t) => nn.functional.conv2d(t, window, groups: channels);
        const double c1 = 0.01 * 0.01, c2 = 0.03 * 0.03;
        var mx = Filter(x);
        var my = Filter(y);
        var sxx = Filter(x * x) - mx * mx;
        var syy = Filter(y * y) - my * my;
        var sxy = Filter(x * y) - mx * my;
        var map = (mx.Times(2) * my).Plus(c1) * sxy.Times(2).Plus(c2) / ((mx * mx).Plus(my * my).Plus(c1) * sxx.Plus(syy).Plus(c2));
        return map.flatten(1).mean([1]).cpu().data<double>().ToArray();
    }
}
