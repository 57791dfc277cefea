using System.Runtime.InteropServices;
using SkiaSharp;

namespace Bcm.Inference;

/// <summary>
/// Images between PNG (or JPEG) files and samples in [−1, 1], as the library converts them: a pixel v of 0..255 is
/// v/127.5 − 1; a value x is round((clamp(x, −1, 1) + 1)·127.5); one channel is the luma of RGB (BT.601 weights).
/// </summary>
public static class Png
{
    /// <summary>The largest image file read (64 MiB).</summary>
    public const long MaxFileBytes = 64L << 20;

    /// <summary>The most pixels an image may declare (4096 × 4096): a cap against decompression bombs.</summary>
    public const long MaxPixels = 4096L * 4096;

    /// <summary>Reads an image file as one sample of <paramref name="sampleShape"/> ([C, H, W], C = 1 or 3); it must be H × W already.</summary>
    /// <exception cref="InferenceException">The file is missing, too large, not an image, truncated, or of another size.</exception>
    public static SampleBatch Read(string path, IReadOnlyList<int> sampleShape)
    {
        var info = new FileInfo(path);
        if (!info.Exists) throw new InferenceException($"{path}: no such image file");
        if (info.Length == 0) throw new InferenceException($"{path}: an empty file, not an image");
        if (info.Length > MaxFileBytes) throw new InferenceException($"{path}: {info.Length:N0} bytes, more than the {MaxFileBytes:N0} an image may have here");
        return Decode(File.ReadAllBytes(path), path, sampleShape);
    }

    /// <summary>Decodes encoded image bytes (PNG or JPEG) as one sample of <paramref name="sampleShape"/>; <paramref name="name"/> names it in messages.</summary>
    /// <exception cref="InferenceException">The bytes are not an image of the model's size.</exception>
    public static SampleBatch Decode(byte[] encoded, string name, IReadOnlyList<int> sampleShape)
    {
        if (sampleShape.Count != 3 || sampleShape[0] is not (1 or 3))
            throw new InferenceException($"the model's samples are [{string.Join(", ", sampleShape)}], not images [C, H, W] with 1 or 3 channels");
        int c = sampleShape[0], h = sampleShape[1], w = sampleShape[2];
        if (encoded.Length == 0) throw new InferenceException($"{name}: empty, not an image");
        using var data = SKData.CreateCopy(encoded);
        using var codec = SKCodec.Create(data) ?? throw new InferenceException($"{name}: not an image (PNG or JPEG expected)");
        var (width, height) = (codec.Info.Width, codec.Info.Height);
        if ((long)width * height > MaxPixels || width < 1 || height < 1)
            throw new InferenceException($"{name}: the image declares {width}×{height} pixels (at most {MaxPixels:N0} are decoded)");
        if (width != w || height != h)
            throw new InferenceException($"{name}: {width}×{height} pixels, but the model takes {w}×{h}; resize the image first");
        var rgba = new byte[(long)width * height * 4];
        var handle = GCHandle.Alloc(rgba, GCHandleType.Pinned);
        try
        {
            var result = codec.GetPixels(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul), handle.AddrOfPinnedObject());
            if (result != SKCodecResult.Success)
                throw new InferenceException($"{name}: the image data is {(result == SKCodecResult.IncompleteInput ? "truncated" : "corrupt")} ({result})");
        }
        finally
        {
            handle.Free();
        }
        var values = new float[c * h * w];
        for (int p = 0; p < h * w; p++)
        {
            byte r = rgba[4 * p], g = rgba[4 * p + 1], b = rgba[4 * p + 2];
            if (c == 1) values[p] = ToValue((byte)Math.Round(0.299 * r + 0.587 * g + 0.114 * b));
            else
            {
                values[p] = ToValue(r);
                values[h * w + p] = ToValue(g);
                values[2 * h * w + p] = ToValue(b);
            }
        }
        return new SampleBatch(values, 1, sampleShape.ToArray());
    }

    /// <summary>Sample <paramref name="index"/> of an image batch as PNG bytes.</summary>
    public static byte[] Encode(SampleBatch images, int index) => Grid(images.Slice(index, 1), columns: 1, gap: 0);

    /// <summary>Writes sample <paramref name="index"/> as a PNG file (through a temporary file, so a reader never sees half of it).</summary>
    public static void Write(SampleBatch images, int index, string path) => WriteAtomically(path, Encode(images, index));

    /// <summary>Writes the batch as one PNG grid of <paramref name="columns"/> columns (default about square) with a 1-pixel grey gap.</summary>
    public static void WriteGrid(SampleBatch images, string path, int columns = 0) => WriteAtomically(path, Grid(images, columns, gap: 1));

    /// <summary>The batch as PNG bytes of a grid.</summary>
    public static byte[] Grid(SampleBatch images, int columns = 0, int gap = 1)
    {
        var shape = images.SampleShape;
        if (shape.Count != 3 || shape[0] is not (1 or 3))
            throw new InferenceException($"samples of [{string.Join(", ", shape)}] are not images [C, H, W] with 1 or 3 channels");
        int c = shape[0], h = shape[1], w = shape[2], n = images.Count;
        if (columns <= 0) columns = (int)Math.Ceiling(Math.Sqrt(n));
        int rows = (n + columns - 1) / columns;
        int width = columns * w + (columns - 1) * gap, height = rows * h + (rows - 1) * gap;
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        var pixels = new byte[width * height * 4];
        for (int i = 0; i < pixels.Length; i += 4) { pixels[i] = pixels[i + 1] = pixels[i + 2] = 64; pixels[i + 3] = 255; }
        for (int s = 0; s < n; s++)
        {
            var sample = images[s];
            int x0 = s % columns * (w + gap), y0 = s / columns * (h + gap);
            for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int p = y * w + x, q = 4 * ((y0 + y) * width + x0 + x);
                pixels[q] = ToByte(sample[p]);
                pixels[q + 1] = ToByte(sample[c == 3 ? h * w + p : p]);
                pixels[q + 2] = ToByte(sample[c == 3 ? 2 * h * w + p : p]);
            }
        }
        Marshal.Copy(pixels, 0, bitmap.GetPixels(), pixels.Length);
        using var image = SKImage.FromBitmap(bitmap);
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        return png.ToArray();
    }

    /// <summary>A pixel value 0..255 as the model's value in [−1, 1].</summary>
    public static float ToValue(byte v) => v / 127.5f - 1f;

    /// <summary>A value as a pixel: round((clamp(x, −1, 1) + 1)·127.5), half to even as libtorch rounds.</summary>
    public static byte ToByte(float x) => (byte)MathF.Round((Math.Clamp(x, -1f, 1f) + 1f) * 127.5f, MidpointRounding.ToEven);

    internal static void WriteAtomically(string path, byte[] bytes)
    {
        string full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        string temp = full + $".{Environment.ProcessId}.tmp";
        File.WriteAllBytes(temp, bytes);
        File.Move(temp, full, overwrite: true);
    }
}
