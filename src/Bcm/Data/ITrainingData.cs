using static TorchSharp.torch;

namespace Bcm.Data;

/// <summary>What training needs of a data set: a size, optional labels, and batches shaped as the network's samples.</summary>
public interface ITrainingData
{
    /// <summary>The data set's name, for messages and reports.</summary>
    string Name { get; }
    /// <summary>Number of samples.</summary>
    int Count { get; }
    /// <summary>Labels, or null for an unlabelled set.</summary>
    int[]? Labels { get; }
    /// <summary>Number of classes of the labels (0 for an unlabelled set).</summary>
    int NumClasses { get; }

    /// <summary>Throws <see cref="ArgumentException"/> when the samples cannot be given the shape <paramref name="sampleShape"/>.</summary>
    void CheckShape(long[] sampleShape);

    /// <summary>Samples <paramref name="indices"/> as float32 [B, ..sampleShape], optionally mirrored where <paramref name="flip"/> is true.</summary>
    Tensor Batch(IReadOnlyList<int> indices, long[] sampleShape, IReadOnlyList<bool>? flip = null, Device? device = null);

    /// <summary>Labels of <paramref name="indices"/> as int64, or null for an unlabelled set.</summary>
    Tensor? LabelBatch(IReadOnlyList<int> indices, Device? device = null);

    /// <summary>The labels at <paramref name="indices"/> as an int64 tensor (null for an unlabelled set).</summary>
    protected static Tensor? SelectLabels(int[]? labels, IReadOnlyList<int> indices, Device? device) =>
        labels is null ? null : tensor(indices.Select(i => (long)labels[i]).ToArray(), device: device);
}
