using static TorchSharp.torch;

namespace Bcm.Data;

/// <summary>An in-memory set of d-dimensional vectors (float32, row-major [N, d]) with optional labels.</summary>
public sealed class VectorDataset : ITrainingData
{
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

    public string Name { get; }
    public float[] Values { get; }
    public int Count { get; }
    public int Dim { get; }
    public int[]? Labels { get; }
    public int NumClasses { get; }

    public void CheckShape(long[] sampleShape)
    {
        if (sampleShape.Length != 1 || sampleShape[0] != Dim)
            throw new ArgumentException($"{Name} holds {Dim}-dimensional vectors, the network takes samples of shape [{string.Join(", ", sampleShape)}] (use an mlp network with dim {Dim})");
    }

    public Tensor? LabelBatch(IReadOnlyList<int> indices, Device? device = null) => ITrainingData.SelectLabels(Labels, indices, device);

    /// <summary>All vectors as a float32 tensor [N, d].</summary>
    public Tensor All(Device? device = null) => tensor(Values, [Count, Dim], device: device);

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
