using Bcm.Imaging;
using static TorchSharp.torch;

namespace Bcm.Data;

/// <summary>
/// Images a command works on, from files or from a data set, with a name for each (for output files) and class labels
/// where known. <see cref="FromDataSet"/> is true when the images came from a data set (they are then also worth saving
/// as the model saw them).
/// </summary>
public sealed record ImageInputs(Tensor Images, Tensor? Labels, string[] Names, bool FromDataSet) : IDisposable
{
    /// <summary>Number of images.</summary>
    public int Count => (int)Images.shape[0];

    /// <summary>PNG/JPEG files of exactly the model's size and channels, named by file name.</summary>
    public static ImageInputs FromFiles(IReadOnlyList<string> paths, int channels, int size)
    {
        if (paths.Count == 0) throw new ArgumentException("no images given");
        var names = paths.Select(p => Path.GetFileNameWithoutExtension(p)).ToArray();
        if (names.GroupBy(n => n).FirstOrDefault(g => g.Count() > 1) is { } twice)
            throw new ArgumentException($"two inputs are named {twice.Key} (outputs are named after the input): rename one");
        var x = ImageIO.ReadBatch(paths, channels, size);
        return new ImageInputs(x, null, names, false);
    }

    /// <summary>The first <paramref name="count"/> images of a data set (<see cref="DataSources.Help"/>), with their labels when <paramref name="withLabels"/>.</summary>
    public static ImageInputs FromData(string spec, int channels, int size, int count, bool withLabels, IProgress<string>? log = null)
    {
        if (count < 1) throw new ArgumentException($"the number of images must be ≥ 1, got {count}");
        var set = DataSources.Load(spec, channels, size, log);
        if (set.Channels != channels) throw new ArgumentException($"{set.Name} has {set.Channels} channel(s), the model takes {channels}");
        if (withLabels && set.Labels is null) throw new ArgumentException($"{set.Name} has no labels, and the model is class-conditional");
        var idx = Enumerable.Range(0, Math.Min(count, set.Count)).ToArray();
        return new ImageInputs(set.Batch(idx, size), withLabels ? set.LabelBatch(idx) : null, idx.Select(i => $"image-{i:D5}").ToArray(), true);
    }

    /// <summary>
    /// These inputs with the labels a class-conditional model needs: those of the data set, else <paramref name="given"/>
    /// (one label for all, or one per image, each in 0..classes−1). An unconditional model (<paramref name="classes"/> = 0) gets none.
    /// </summary>
    public ImageInputs WithLabels(IReadOnlyList<int>? given, int classes)
    {
        if (classes == 0)
        {
            if (given is { Count: > 0 }) throw new ArgumentException("class labels given, but the model is unconditional");
            return this with { Labels = null };
        }
        if (Labels is not null) return this;
        if (given is null || given.Count == 0) throw new ArgumentException("the model is class-conditional: give a class label (one, or one per image)");
        if (given.Count != 1 && given.Count != Count) throw new ArgumentException($"{given.Count} class labels for {Count} images: give one, or one per image");
        foreach (int c in given)
            if (c < 0 || c >= classes) throw new ArgumentException($"class label {c} is outside 0..{classes - 1}");
        return this with { Labels = tensor(Enumerable.Range(0, Count).Select(i => (long)given[given.Count == 1 ? 0 : i]).ToArray()) };
    }

    /// <summary>Images and labels moved to <paramref name="device"/>.</summary>
    public ImageInputs To(Device device) => this with { Images = Images.to(device), Labels = Labels?.to(device) };

    /// <summary>Frees the image and label tensors.</summary>
    public void Dispose()
    {
        Images.Dispose();
        Labels?.Dispose();
    }
}
