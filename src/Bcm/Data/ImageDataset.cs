using static TorchSharp.torch;
using Bcm.Tensors;

namespace Bcm.Data;

/// <summary>
/// An in-memory image data set: pixels as bytes [N, C, H, W] (0..255, or 0..<see cref="MaxValue"/>) and optional labels.
/// <c>Batch</c> turns a selection into float32 in [−1, 1] at the model's size.
/// </summary>
public sealed class ImageDataset : ITrainingData
{
    /// <summary>
    /// Images as bytes [<paramref name="count"/>, <paramref name="channels"/>, <paramref name="height"/>, <paramref name="width"/>] with optional
    /// <paramref name="labels"/> of <paramref name="numClasses"/> classes; <paramref name="maxValue"/> is the byte value of white.
    /// </summary>
    /// <exception cref="ArgumentException">The sizes do not match.</exception>
    public ImageDataset(string name, byte[] pixels, int count, int channels, int height, int width, int[]? labels, int numClasses, int maxValue = 255)
    {
        if (pixels.Length != (long)count * channels * height * width)
            throw new ArgumentException($"{name}: {pixels.Length} pixel values do not make {count} images of {channels}x{height}x{width}");
        if (labels is not null && labels.Length != count)
            throw new ArgumentException($"{name}: {labels.Length} labels for {count} images");
        Name = name;
        Pixels = pixels;
        Count = count;
        Channels = channels;
        Height = height;
        Width = width;
        Labels = labels;
        NumClasses = numClasses;
        MaxValue = maxValue;
    }

    /// <inheritdoc/>
    public string Name { get; }
    /// <summary>The pixels, [N, C, H, W] row-major.</summary>
    public byte[] Pixels { get; }
    /// <inheritdoc/>
    public int Count { get; }
    /// <summary>Channels per image (1 grey, 3 RGB).</summary>
    public int Channels { get; }
    /// <summary>Image height in pixels.</summary>
    public int Height { get; }
    /// <summary>Image width in pixels.</summary>
    public int Width { get; }
    /// <inheritdoc/>
    public int[]? Labels { get; }
    /// <inheritdoc/>
    public int NumClasses { get; }

    /// <summary>The classes' names in label order (a labelled folder's class folders, sorted), or null where the source has none.</summary>
    public IReadOnlyList<string>? ClassNames { get; init; }
    /// <summary>The value that maps to +1 (255 for 8-bit images, 16 for the UCI digits).</summary>
    public int MaxValue { get; }

    /// <summary>The first <paramref name="count"/> images (a slice for tests and quick runs).</summary>
    public ImageDataset Take(int count)
    {
        count = Math.Min(count, Count);
        int per = Channels * Height * Width;
        return new ImageDataset(Name, Pixels.AsSpan(0, count * per).ToArray(), count, Channels, Height, Width, Labels?.Take(count).ToArray(), NumClasses, MaxValue) { ClassNames = ClassNames };
    }

    /// <summary>
    /// Images <paramref name="indices"/> as float32 [B, C, size, size] in [−1, 1]: images smaller than the model are
    /// centred and padded with the background (−1), larger ones are resized (bilinear, antialiased by area for downscaling).
    /// Optionally flipped horizontally where <paramref name="flip"/> is true.
    /// </summary>
    public Tensor Batch(IReadOnlyList<int> indices, int size, IReadOnlyList<bool>? flip = null, Device? device = null)
    {
        using var scope = NewDisposeScope();
        int per = Channels * Height * Width;
        var buffer = new byte[indices.Count * per];
        for (int i = 0; i < indices.Count; i++)
        {
            int idx = indices[i];
            if (idx < 0 || idx >= Count) throw new ArgumentOutOfRangeException(nameof(indices), idx, $"{Name} has {Count} images");
            Array.Copy(Pixels, (long)idx * per, buffer, (long)i * per, per);
        }
        var x = tensor(buffer, [indices.Count, Channels, Height, Width]).to(ScalarType.Float32).Times(2.0 / MaxValue).Minus(1.0);
        x = Fit(x, size);
        if (flip is not null)
        {
            var mask = tensor(flip.ToArray()).reshape(-1, 1, 1, 1);
            x = where(mask, x.flip(3), x);
        }
        if (device is not null) x = x.to(device);
        return x.MoveToOuterDisposeScope();
    }

    /// <summary>Labels of <paramref name="indices"/> as int64, or null for an unlabelled set.</summary>
    public Tensor? LabelBatch(IReadOnlyList<int> indices, Device? device = null) => ITrainingData.SelectLabels(Labels, indices, device);

    /// <inheritdoc/>
    public void CheckShape(long[] sampleShape)
    {
        if (sampleShape.Length != 3 || sampleShape[1] != sampleShape[2])
            throw new ArgumentException($"{Name} holds images, the network takes samples of shape [{string.Join(", ", sampleShape)}] (use a UNet)");
        if (sampleShape[0] != Channels)
            throw new ArgumentException($"{Name} has {Channels} channel(s), the network takes {sampleShape[0]}");
    }

    /// <inheritdoc/>
    public Tensor Batch(IReadOnlyList<int> indices, long[] sampleShape, IReadOnlyList<bool>? flip = null, Device? device = null)
    {
        CheckShape(sampleShape);
        return Batch(indices, (int)sampleShape[^1], flip, device);
    }

    private Tensor Fit(Tensor x, int size)
    {
        if (Height == size && Width == size) return x;
        if (Height <= size && Width <= size)
        {
            int top = (size - Height) / 2, left = (size - Width) / 2;
            return nn.functional.pad(x, [left, size - Width - left, top, size - Height - top], value: -1.0);
        }
        return nn.functional.interpolate(x, [size, size], mode: InterpolationMode.Bilinear, align_corners: false, antialias: true);
    }
}
