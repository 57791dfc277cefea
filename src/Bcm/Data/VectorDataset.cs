using static TorchSharp.torch;

namespace Bcm.Data;

/// <summary>An in-memory set of d-dimensional vectors (float32, row-major [N, d]) with optional labels.</summary>
public sealed class VectorDataset : ITrainingData
{
    /// <summary>
    /// <paramref name="count"/> vectors of dimension <paramref name="dim"/>, row-major in <paramref name="values"/>, with optional labels.
    /// </summary>
    /// <exception cref="ArgumentException">The sizes do not match.</exception>
    public VectorDataset(string name, float[] values, int count, int dim, int[]? labels = null, int numClasses = 0)
    {
        if (values.Length != (long)count * dim) throw new ArgumentException($"{name}: {values.Length} values do not make {count} vectors of dimension {dim}");
        if (labels is not null && labels.Length != count) throw new ArgumentException($"{name}: {labels.Length} labels for {count} vectors");
        Name = name;
        Values = values;
        Count = count;
        Dim = dim;
        Labels = labels;
        NumClasses = numClasses;
    }

    /// <inheritdoc/>
    public string Name { get; }
    /// <summary>The vectors, [N, d] row-major.</summary>
    public float[] Values { get; }
    /// <inheritdoc/>
    public int Count { get; }
    /// <summary>Dimension d of the vectors.</summary>
    public int Dim { get; }
    /// <inheritdoc/>
    public int[]? Labels { get; }
    /// <inheritdoc/>
    public int NumClasses { get; }

    /// <inheritdoc/>
    public void CheckShape(long[] sampleShape)
    {
        if (sampleShape.Length != 1 || sampleShape[0] != Dim)
            throw new ArgumentException($"{Name} holds {Dim}-dimensional vectors, the network takes samples of shape [{string.Join(", ", sampleShape)}] (use an mlp network with dim {Dim})");
    }

    /// <inheritdoc/>
    public Tensor? LabelBatch(IReadOnlyList<int> indices, Device? device = null) => ITrainingData.SelectLabels(Labels, indices, device);

    /// <summary>All vectors as a float32 tensor [N, d].</summary>
    public Tensor All(Device? device = null) => tensor(Values, [Count, Dim], device: device);

    /// <inheritdoc/>
    public Tensor Batch(IReadOnlyList<int> indices, long[] sampleShape, IReadOnlyList<bool>? flip = null, Device? device = null)
    {
        CheckShape(sampleShape);
        var buffer = new float[indices.Count * Dim];
        for (int i = 0; i < indices.Count; i++)
        {
            int idx = indices[i];
            if (idx < 0 || idx >= Count) throw new ArgumentOutOfRangeException(nameof(indices), idx, $"{Name} has {Count} vectors");
            Array.Copy(Values, (long)idx * Dim, buffer, (long)i * Dim, Dim);
        }
        return tensor(buffer, [indices.Count, Dim], device: device);
    }
}
