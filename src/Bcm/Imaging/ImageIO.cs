using SkiaSharp;
using static TorchSharp.torch;
using Bcm.Tensors;

namespace Bcm.Imaging;

/// <summary>Images between files and tensors: PNG/JPEG decoding, [−1, 1] tensors to 8-bit pixels, grids and strips.</summary>
public static class ImageIO
{
    /// <summary>Decodes an image to RGBA bytes (unpremultiplied).</summary>
    public static byte[] ReadRgba(string path, out int width, out int height) => Decode(path, null, out width, out height);

    /// <summary>The most pixels an image may have (4096 × 4096): the models take at most a few hundred pixels a side, and a small file can declare billions.</summary>
    public const long MaxPixels = 4096L * 4096;

    // Opens the file once: the header's size goes to checkSize (which may refuse it) and through the pixel cap before a
    // byte of pixels is allocated. The file is mapped natively (SKData), not read through a managed stream, so the codec
    // never calls back into .NET; the codec is disposed before the bytes it reads.
    private static byte[] Decode(string path, Action<int, int>? checkSize, out int width, out int height)
    {
        IO.InputFile.RequireRegular(path, "image file");
        if (new FileInfo(path).Length == 0) throw new InvalidDataException($"{path}: an empty file, not an image");
        using var data = SKData.Create(path) ?? throw new InvalidDataException($"{path}: cannot be read");
        return Decode(data, path, checkSize, out width, out height);
    }

    // The same for encoded bytes in memory (an upload), named by <paramref name="path"/> in messages.
    private static byte[] Decode(SKData data, string path, Action<int, int>? checkSize, out int width, out int height)
    {
        using var codec = SKCodec.Create(data) ?? throw new InvalidDataException($"{path}: not an image SkiaSharp can decode (PNG or JPEG expected)");
        (width, height) = (codec.Info.Width, codec.Info.Height);
        if (width < 1 || height < 1) throw new InvalidDataException($"{path}: the image declares {width}x{height} pixels");
        checkSize?.Invoke(width, height);
        if ((long)width * height > MaxPixels)
            throw new InvalidDataException($"{path}: {width}x{height} pixels is more than the {MaxPixels:N0} this tool decodes (a cap against decompression bombs)");
        // Unpremultiplied: a pixel with alpha 0 keeps its colour instead of turning black.
        var target = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var pixels = new byte[(long)width * height * 4];
        var handle = System.Runtime.InteropServices.GCHandle.Alloc(pixels, System.Runtime.InteropServices.GCHandleType.Pinned);
        try
        {
            var result = codec.GetPixels(target, handle.AddrOfPinnedObject());
            if (result != SKCodecResult.Success)
                throw new InvalidDataException($"{path}: the image data is {(result == SKCodecResult.IncompleteInput ? "truncated" : "corrupt")} ({result}); " +
                                               "refusing to use a partly decoded image");
        }
        finally
        {
            handle.Free();
        }
        return pixels;
    }

    /// <summary>
    /// Reads an image as C, H, W bytes with 1 (luma) or 3 channels. With <paramref name="resize"/> the image is
    /// resampled to size x size; otherwise its size must already be size x size.
    /// </summary>
    public static byte[] ReadPixels(string path, int channels, int size, bool resize) =>
        ToModelPixels(Decode(path, SizeCheck(path, size, resize), out int w, out int h), w, h, channels, size);

    /// <summary>
    /// <see cref="ReadPixels(string, int, int, bool)"/> for an encoded PNG or JPEG in memory (an upload), at most
    /// <paramref name="maxPixels"/> pixels; <paramref name="name"/> names it in error messages.
    /// </summary>
    public static byte[] DecodePixels(byte[] encoded, string name, int channels, int size, bool resize, long maxPixels = MaxPixels)
    {
        if (encoded.Length == 0) throw new InvalidDataException($"{name}: empty, not an image");
        using var data = SKData.CreateCopy(encoded);
        var check = SizeCheck(name, size, resize);
        var rgba = Decode(data, name, (w, h) =>
        {
            if ((long)w * h > maxPixels) throw new InvalidDataException($"{name}: {w}x{h} pixels is more than the {maxPixels:N0} accepted here");
            check?.Invoke(w, h);
        }, out int width, out int height);
        return ToModelPixels(rgba, width, height, channels, size);
    }

    // Without resizing, refuse a wrong size before decoding anything.
    private static Action<int, int>? SizeCheck(string path, int size, bool resize) => resize ? null : (width, height) =>
    {
        if (width != size || height != size) throw new InvalidDataException($"{path}: the image is {width}x{height}, the model takes {size}x{size}");
    };

    private static byte[] ToModelPixels(byte[] rgba, int w, int h, int channels, int size)
    {
        if (w != size || h != size)
        {
            rgba = Resize(rgba, w, h, size, size);
            w = h = size;
        }
        return FromRgba(rgba, w, h, channels);
    }

    /// <summary>True when every pixel of RGBA bytes has equal red, green and blue.</summary>
    public static bool IsGrey(byte[] rgba)
    {
        for (int p = 0; p < rgba.Length; p += 4)
            if (rgba[p] != rgba[p + 1] || rgba[p] != rgba[p + 2]) return false;
        return true;
    }

    /// <summary>RGBA bytes to C, H, W bytes with 1 (luma, BT.601 weights) or 3 channels.</summary>
    public static byte[] FromRgba(byte[] rgba, int w, int h, int channels)
    {
        var result = new byte[channels * w * h];
        for (int p = 0; p < w * h; p++)
        {
            byte r = rgba[4 * p], g = rgba[4 * p + 1], b = rgba[4 * p + 2];
            if (channels == 1) result[p] = (byte)Math.Round(0.299 * r + 0.587 * g + 0.114 * b);
            else if (channels == 3)
            {
                result[p] = r;
                result[w * h + p] = g;
                result[2 * w * h + p] = b;
            }
            else throw new ArgumentException($"images with {channels} channels are not supported (1 or 3)");
        }
        return result;
    }

    /// <summary>
    /// JPEG-compresses every image of a batch [B, C, H, W] in [−1, 1] at <paramref name="quality"/> and decodes it again:
    /// the same bytes as <c>bcm degrade</c> writes for the image saved as PNG.
    /// </summary>
    public static Tensor JpegDegrade(Tensor images, int quality)
    {
        long b = images.shape[0], c = images.shape[1], h = images.shape[2], w = images.shape[3];
        var all = new byte[b * c * h * w];
        for (long i = 0; i < b; i++)
        {
            using var image = images[i];
            var jpeg = JpegRoundTrip(ToRgba(image), (int)w, (int)h, quality);
            FromRgba(jpeg, (int)w, (int)h, (int)c).CopyTo(all, i * c * h * w);
        }
        using var x = ToTensor(all, [b, c, h, w]);
        return x.to(images.device);
    }

    /// <summary>Pixel bytes (0..255) of the given shape as float32 in [−1, 1].</summary>
    public static Tensor ToTensor(byte[] pixels, long[] shape)
    {
        using var bytes = tensor(pixels, shape);
        return bytes.to(ScalarType.Float32).Over(127.5).Minus(1.0);
    }

    /// <summary>Reads images as a [B, C, size, size] tensor in [−1, 1]; each must be size x size already.</summary>
    public static Tensor ReadBatch(IReadOnlyList<string> paths, int channels, int size)
    {
        var all = new byte[paths.Count * channels * size * size];
        for (int i = 0; i < paths.Count; i++)
            ReadPixels(paths[i], channels, size, resize: false).CopyTo(all, (long)i * channels * size * size);
        return ToTensor(all, [paths.Count, channels, size, size]);
    }

    /// <summary>Converts [C, H, W] in [−1, 1] (clamped) to RGBA bytes.</summary>
    public static byte[] ToRgba(Tensor image)
    {
        using var scope = NewDisposeScope();
        var x = image.detach().cpu().to(ScalarType.Float32).Clamped(-1, 1).Plus(1).Times(127.5).round().to(ScalarType.Byte);
        long c = x.shape[0], h = x.shape[1], w = x.shape[2];
        var data = x.data<byte>().ToArray();
        var rgba = new byte[h * w * 4];
        for (long p = 0; p < h * w; p++)
        {
            rgba[4 * p] = data[p];
            rgba[4 * p + 1] = c == 3 ? data[h * w + p] : data[p];
            rgba[4 * p + 2] = c == 3 ? data[2 * h * w + p] : data[p];
            rgba[4 * p + 3] = 255;
        }
        return rgba;
    }

    /// <summary>Writes one image [C, H, W] in [−1, 1] as a PNG (atomically).</summary>
    public static void SavePng(Tensor image, string path) =>
        SavePng(ToRgba(image), (int)image.shape[2], (int)image.shape[1], path, 1);

    /// <summary>
    /// Writes a batch [B, C, H, W] in [−1, 1] as a grid PNG with <paramref name="columns"/> columns and a 1-pixel gap,
    /// scaled up by an integer factor (nearest) so that small images stay visible.
    /// </summary>
    public static void SaveGrid(Tensor images, string path, int columns = 0, int scale = 0) =>
        IO.AtomicFile.WriteAllBytes(path, EncodeGrid(images, columns, scale));

    /// <summary>One image [C, H, W] in [−1, 1] as PNG bytes, scaled up by an integer factor (nearest).</summary>
    public static byte[] EncodePng(Tensor image, int scale = 1) =>
        EncodePng(ToRgba(image), (int)image.shape[2], (int)image.shape[1], scale);

    /// <summary>The grid of <see cref="SaveGrid"/> as PNG bytes.</summary>
    public static byte[] EncodeGrid(Tensor images, int columns = 0, int scale = 0)
    {
        var (grid, gw, gh) = GridRgba(images, ref columns);
        if (scale <= 0) scale = Math.Max(1, 512 / Math.Max(gw, gh));
        return EncodePng(grid, gw, gh, scale);
    }

    // The grid at one pixel per image pixel, with a one-pixel border: RGBA bytes and their size.
    private static (byte[] Rgba, int Width, int Height) GridRgba(Tensor images, ref int columns)
    {
        int b = (int)images.shape[0], h = (int)images.shape[2], w = (int)images.shape[3];
        if (columns <= 0) columns = (int)Math.Ceiling(Math.Sqrt(b));
        int rows = (b + columns - 1) / columns;
        int gw = columns * (w + 1) + 1, gh = rows * (h + 1) + 1;
        var grid = new byte[gw * gh * 4];
        for (int i = 0; i < grid.Length; i += 4) { grid[i] = grid[i + 1] = grid[i + 2] = 64; grid[i + 3] = 255; }
        for (int i = 0; i < b; i++)
        {
            using var img = images[i];
            var rgba = ToRgba(img);
            int ox = 1 + (i % columns) * (w + 1), oy = 1 + (i / columns) * (h + 1);
            for (int y = 0; y < h; y++)
                Array.Copy(rgba, y * w * 4, grid, ((oy + y) * gw + ox) * 4, w * 4);
        }
        return (grid, gw, gh);
    }

    /// <summary>The labels of the rows of <see cref="SavePairs"/>, in turn.</summary>
    public static readonly string[] PairLabels = ["original", "round trip"];

    /// <summary>
    /// Writes originals and their reconstructions as a grid: each row of up to <paramref name="perRow"/> originals above
    /// its reconstructions, the rows labelled "original" and "round trip" on the left.
    /// </summary>
    public static void SavePairs(Tensor originals, Tensor reconstructions, string path, int perRow = 8)
    {
        using var scope = NewDisposeScope();
        int n = (int)originals.shape[0], h = (int)originals.shape[2], columns = Math.Min(perRow, n);
        var rows = new List<Tensor>();
        for (int i = 0; i < n; i += perRow)
        {
            int k = Math.Min(perRow, n - i);
            // A short last row is filled with cells of the border's grey, so that its originals and its reconstructions
            // each keep a row of their own (they used to share one).
            Tensor Row(Tensor images) => k == columns ? images[i..(i + k)].cpu()
                : cat([images[i..(i + k)].cpu(), ScalarMath.Full([columns - k, .. images.shape[1..]], 64 / 127.5 - 1, images.dtype)], 0);
            rows.Add(Row(originals));
            rows.Add(Row(reconstructions));
        }
        var (grid, gw, gh) = GridRgba(cat(rows.ToArray(), 0), ref columns);
        var tops = Enumerable.Range(0, rows.Count).Select(r => 1 + r * (h + 1)).ToArray();
        var labelled = RowLabels.Add(grid, gw, gh, tops, h, PairLabels, out int width);
        IO.AtomicFile.WriteAllBytes(path, EncodePng(labelled, width, gh, Math.Max(1, 512 / Math.Max(width, gh))));
    }

    /// <summary>Encodes RGBA bytes as JPEG at the given quality and decodes them again (the degradation of blind restoration).</summary>
    public static byte[] JpegRoundTrip(byte[] rgba, int width, int height, int quality)
    {
        using var bitmap = FromRgba(rgba, width, height);
        using var image = SKImage.FromBitmap(bitmap);
        using var jpeg = image.Encode(SKEncodedImageFormat.Jpeg, quality);
        using var decoded = SKBitmap.Decode(jpeg);
        using var back = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        decoded.CopyTo(back, SKColorType.Rgba8888);
        return back.GetPixelSpan().ToArray();
    }

    /// <summary>Writes RGBA bytes as a PNG (atomically).</summary>
    public static void SaveRgbaPng(byte[] rgba, int width, int height, string path) => SavePng(rgba, width, height, path, 1);

    private static void SavePng(byte[] rgba, int width, int height, string path, int scale) =>
        IO.AtomicFile.WriteAllBytes(path, EncodePng(rgba, width, height, scale));

    private static byte[] EncodePng(byte[] rgba, int width, int height, int scale)
    {
        using var bitmap = FromRgba(rgba, width, height);
        using var scaled = scale == 1 ? null : bitmap.Resize(new SKImageInfo(width * scale, height * scale, SKColorType.Rgba8888, SKAlphaType.Unpremul), new SKSamplingOptions(SKFilterMode.Nearest));
        using var image = SKImage.FromBitmap(scaled ?? bitmap);
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        return png.ToArray();
    }

    private static SKBitmap FromRgba(byte[] rgba, int width, int height)
    {
        var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        System.Runtime.InteropServices.Marshal.Copy(rgba, 0, bitmap.GetPixels(), rgba.Length);
        return bitmap;
    }

    private static byte[] Resize(byte[] rgba, int w, int h, int nw, int nh)
    {
        using var bitmap = FromRgba(rgba, w, h);
        using var resized = bitmap.Resize(new SKImageInfo(nw, nh, SKColorType.Rgba8888, SKAlphaType.Unpremul), new SKSamplingOptions(SKCubicResampler.Mitchell));
        return resized.GetPixelSpan().ToArray();
    }
}
