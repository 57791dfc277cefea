namespace Bcm.Inference;

/// <summary>
/// A batch of samples in the model's data range ([−1, 1] for images) or latents, as float32 values in row-major order:
/// <see cref="Count"/> samples of <see cref="SampleShape"/> each ([C, H, W] for images, as PyTorch lays them out).
/// </summary>
public sealed class SampleBatch
{
    /// <summary>A batch over <paramref name="values"/> (not copied): <paramref name="count"/> samples of <paramref name="sampleShape"/>.</summary>
    /// <exception cref="ArgumentException">The values do not fill the shape.</exception>
    public SampleBatch(float[] values, int count, IReadOnlyList<int> sampleShape)
    {
        ArgumentNullException.ThrowIfNull(values);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        SampleSize = sampleShape.Aggregate(1, (a, b) => b > 0 ? checked(a * b) : throw new ArgumentException($"sample shape [{string.Join(", ", sampleShape)}] has a size below 1"));
        if ((long)count * SampleSize != values.Length)
            throw new ArgumentException($"{values.Length:N0} values do not make {count} samples of [{string.Join(", ", sampleShape)}] ({(long)count * SampleSize:N0} values)");
        Values = values;
        Count = count;
        SampleShape = sampleShape.ToArray();
    }

    /// <summary>All values, sample after sample.</summary>
    public float[] Values { get; }
    /// <summary>How many samples.</summary>
    public int Count { get; }
    /// <summary>One sample's shape.</summary>
    public IReadOnlyList<int> SampleShape { get; }
    /// <summary>Values in one sample.</summary>
    public int SampleSize { get; }

    /// <summary>Sample <paramref name="index"/>'s values.</summary>
    public ReadOnlySpan<float> this[int index] => Values.AsSpan(checked(index * SampleSize), SampleSize);

    /// <summary>Samples <paramref name="start"/>..start+count−1 as a new batch (copied).</summary>
    public SampleBatch Slice(int start, int count)
    {
        if (start < 0 || count < 0 || start + count > Count) throw new ArgumentOutOfRangeException(nameof(start), $"samples {start}..{start + count - 1} of a batch of {Count}");
        return new SampleBatch(Values.AsSpan(start * SampleSize, count * SampleSize).ToArray(), count, SampleShape.ToArray());
    }

    /// <summary>The batches one after the other, as one batch.</summary>
    public static SampleBatch Concat(IReadOnlyList<SampleBatch> parts)
    {
        if (parts.Count == 0) throw new ArgumentException("no batches to join");
        var shape = parts[0].SampleShape;
        if (parts.Any(p => !p.SampleShape.SequenceEqual(shape))) throw new ArgumentException("the batches' sample shapes differ");
        return new SampleBatch(parts.SelectMany(p => p.Values).ToArray(), parts.Sum(p => p.Count), shape.ToArray());
    }
}
