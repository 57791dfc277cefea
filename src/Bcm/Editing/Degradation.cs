using Bcm.Imaging;

namespace Bcm.Editing;

/// <summary>Test inputs for the restoration commands made from image files: JPEG-compressed copies (for restore) and block-averaged ones (for superres).</summary>
public static class Degradation
{
    /// <summary>Compresses the image at <paramref name="path"/> as JPEG at <paramref name="quality"/> and writes it decoded as NAME.jpegQ.png; returns that path.</summary>
    public static string JpegFile(string path, int quality, string outDir)
    {
        if (quality is < 1 or > 100) throw new ArgumentException($"JPEG quality must be in 1..100, got {quality}");
        var rgba = ImageIO.ReadRgba(path, out int w, out int h);
        var jpeg = ImageIO.JpegRoundTrip(rgba, w, h, quality);
        string target = Path.Combine(outDir, Path.GetFileNameWithoutExtension(path) + $".jpeg{quality}.png");
        ImageIO.SaveRgbaPng(jpeg, w, h, target);
        return target;
    }

    /// <summary>Averages <paramref name="factor"/>×<paramref name="factor"/> pixel blocks of a square image and writes NAME.downF.png; returns that path.</summary>
    public static string DownsampleFile(string path, int factor, string outDir)
    {
        if (factor < 2) throw new ArgumentException($"the downsampling factor must be ≥ 2, got {factor}");
        var rgba = ImageIO.ReadRgba(path, out int w, out int h);
        if (w % factor != 0 || h % factor != 0) throw new ArgumentException($"{path}: {w}x{h} is not divisible by {factor}");
        if (w != h) throw new ArgumentException($"{path}: square images only");
        int c = ImageIO.IsGrey(rgba) ? 1 : 3;
        using var x = ImageIO.ToTensor(ImageIO.FromRgba(rgba, w, h, c), [1, c, h, w]);
        using var small = SuperResolution.Downsample(x, factor);
        string target = Path.Combine(outDir, Path.GetFileNameWithoutExtension(path) + $".down{factor}.png");
        using (var s0 = small[0]) ImageIO.SavePng(s0, target);
        return target;
    }
}
