using Bcm.Data;
using Bcm.Distributed;
using Bcm.Errors;
using Bcm.Metrics;
using static TorchSharp.torch;

namespace Bcm.Evaluation;

/// <summary>Whether a measurement needs the classifier whose features score it.</summary>
public enum ClassifierNeed
{
    /// <summary>No classifier.</summary>
    None,
    /// <summary>The given one, else the default one where it exists (scores that need it are left out otherwise).</summary>
    IfPresent,
    /// <summary>The given one, else the default one; refused when absent.</summary>
    Required,
}

/// <summary>
/// Which real images a measurement runs on, and the classifier that scores it: a data specification, the images
/// <see cref="Offset"/>..<see cref="Offset"/> + <see cref="Count"/> − 1 (the reported ones), the
/// <see cref="ChooseCount"/> after them (held out from the report: levels are chosen on them), the classifier. Validates
/// itself before anything loads.
/// </summary>
public sealed record EvaluationSetOptions
{
    /// <summary>The data (<see cref="DataSources.Help"/>), e.g. <c>mnist:DIR@test</c>.</summary>
    public required string Data { get; init; }
    /// <summary>Images measured (at least 1, unless <see cref="WholeSet"/>).</summary>
    public int Count { get; init; }
    /// <summary>The whole set is used (<c>bcm eval</c>'s reference statistics, content pairs from <see cref="Offset"/> on): nothing is sliced.</summary>
    public bool WholeSet { get; init; }
    /// <summary>Index of the first image measured.</summary>
    public int Offset { get; init; }
    /// <summary>Images after the measured ones on which a measurement chooses its levels (never reported on).</summary>
    public int ChooseCount { get; init; }
    /// <summary>The classifier's file; null for the default one (<see cref="Metrics.Classifier.DefaultPath"/>).</summary>
    public string? Classifier { get; init; }
    /// <summary>Whether the measurement needs the classifier.</summary>
    public ClassifierNeed ClassifierNeed { get; init; } = ClassifierNeed.Required;
    /// <summary>Whether the measurement needs the images' true classes (an attack does).</summary>
    public bool NeedsLabels { get; init; }
    /// <summary>Also load the held-out split of the data where it has one (<see cref="EvaluationSet.Test"/>).</summary>
    public bool WithTestSplit { get; init; }

    /// <summary>Refuses counts and offsets out of range, naming the option and its value.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Data)) throw new BadInputException("--data: give the real images (e.g. mnist, or mnist:DIR@test for the test split)");
        if (!WholeSet && Count < 1) throw new BadInputException($"--count {Count}: give at least 1 image");
        if (Offset < 0) throw new BadInputException($"--offset {Offset}: must be ≥ 0");
        if (ChooseCount < 0) throw new BadInputException($"--choose-count {ChooseCount}: must be ≥ 0");
    }
}

/// <summary>
/// The real images of a measurement, loaded and sliced once, with the classifier that scores them, checked against the
/// model's image shape before any work; under MPI the data set is read by rank 0 first (a download happens once).
/// Every image measurement takes one: <c>eval</c>, restoration, inpainting, purification, content.
/// </summary>
public sealed class EvaluationSet : IDisposable
{
    private EvaluationSet(EvaluationSetOptions options, ImageDataset data, ImageDataset? test, Classifier? classifier, string classifierPath, Tensor? images,
        Tensor? labels, Tensor? choose)
    {
        Options = options;
        Data = data;
        Test = test;
        Classifier = classifier;
        ClassifierPath = classifierPath;
        Images = images;
        Labels = labels;
        ChooseImages = choose;
    }

    /// <summary>What was asked for.</summary>
    public EvaluationSetOptions Options { get; }
    /// <summary>The whole data set.</summary>
    public ImageDataset Data { get; }
    /// <summary>Its held-out split, or the set itself where it has none (with <see cref="EvaluationSetOptions.WithTestSplit"/>; else null).</summary>
    public ImageDataset? Test { get; }
    /// <summary>The classifier (null where it is not needed, or optional and absent).</summary>
    public Classifier? Classifier { get; }
    /// <summary>Where the classifier is, or would be.</summary>
    public string ClassifierPath { get; }
    /// <summary>The measured images, [Count, C, H, W] on [−1, 1] (null for <see cref="EvaluationSetOptions.WholeSet"/>).</summary>
    public Tensor? Images { get; }
    /// <summary>Their classes (with <see cref="EvaluationSetOptions.NeedsLabels"/>).</summary>
    public Tensor? Labels { get; }
    /// <summary>The images on which levels are chosen (with <see cref="EvaluationSetOptions.ChooseCount"/>).</summary>
    public Tensor? ChooseImages { get; }
    /// <summary>Index of the first measured image.</summary>
    public int First => Options.Offset;
    /// <summary>Images measured.</summary>
    public int Count => Options.Count;
    /// <summary>"NAME images A..B", for progress lines.</summary>
    public string Description => $"{Data.Name} images {First}..{First + Count - 1}";

    /// <summary>
    /// Validates <paramref name="options"/>, loads the classifier (checked to take <paramref name="sampleShape"/> images)
    /// and the data, and slices the measured and choice images onto <paramref name="device"/>.
    /// </summary>
    public static EvaluationSet Open(EvaluationSetOptions options, long[] sampleShape, Device device, ICommunicator? job = null, IProgress<string>? log = null)
    {
        options.Validate();
        if (sampleShape.Length != 3) throw new BadInputException($"the model makes {sampleShape[0]}-dimensional vectors; this measurement works on image models");
        int channels = (int)sampleShape[0], size = (int)sampleShape[^1];
        string path = options.Classifier ?? Classifier.DefaultPath(options.Data, size);
        var classifier = LoadClassifier(options, path, channels, size, device);
        try
        {
            var (data, test) = RankZeroFirst(job, () =>
            {
                var set = DataSources.Load(options.Data, channels, size, log);
                return (set, options.WithTestSplit ? DataSources.LoadTest(options.Data, channels, size, log) ?? set : null);
            });
            if (options.NeedsLabels && data.Labels is null) throw new BadInputException($"{data.Name} has no labels: an attack needs the true classes");
            if (options.WholeSet) return new EvaluationSet(options, data, test, classifier, path, null, null, null);
            int need = options.Offset + options.Count + options.ChooseCount;
            if (need > data.Count)
                throw new BadInputException(options.ChooseCount > 0
                    ? $"{data.Name} has {data.Count} images: --offset {options.Offset}, --count {options.Count} and --choose-count {options.ChooseCount} need {need}"
                    : $"{data.Name} has {data.Count} images: --offset {options.Offset} -n {options.Count} goes past the end");
            var idx = Enumerable.Range(options.Offset, options.Count).ToArray();
            var images = data.Batch(idx, size, device: device);
            var labels = options.NeedsLabels ? data.LabelBatch(idx, device) : null;
            var choose = options.ChooseCount > 0 ? data.Batch(Enumerable.Range(options.Offset + options.Count, options.ChooseCount).ToArray(), size, device: device) : null;
            return new EvaluationSet(options, data, test, classifier, path, images, labels, choose);
        }
        catch
        {
            classifier?.Dispose();
            throw;
        }
    }

    // The one place the classifier is found: the given file, else the default one; refused when it takes other images.
    private static Classifier? LoadClassifier(EvaluationSetOptions options, string path, int channels, int size, Device device)
    {
        if (options.ClassifierNeed == ClassifierNeed.None || (options.ClassifierNeed == ClassifierNeed.IfPresent && options.Classifier is null && !File.Exists(path)))
            return null;
        if (!File.Exists(path))
            throw new BadInputException($"no classifier at {path}: train one with: bcm classifier --data {options.Data.Replace("@test", "", StringComparison.Ordinal)} --size {size} -o {path}");
        var net = Classifier.Load(path, device);
        if (net.Size == size && net.Channels == channels) return net;
        net.Dispose();
        throw new BadInputException($"{path} classifies {net.Channels}x{net.Size}² images; the model makes {channels}x{size}²");
    }

    /// <summary>
    /// Runs <paramref name="action"/> on rank 0 first and on the other ranks after it (a barrier between), so that a data
    /// set is downloaded once, not by N processes into the same folder.
    /// </summary>
    public static T RankZeroFirst<T>(ICommunicator? job, Func<T> action)
    {
        if (job is null || job.Size == 1) return action();
        T result = default!;
        if (job.Rank == 0) result = action();
        job.Barrier();
        if (job.Rank != 0) result = action();
        return result;
    }

    /// <summary>Refuses a class-conditional model for a measurement of unconditional models (<paramref name="what"/> names it, <paramref name="why"/> says why).</summary>
    public static void RequireUnconditional(int numClasses, string what, string? why = null)
    {
        if (numClasses > 0) throw new BadInputException($"{what} measures unconditional models{(why is null ? "" : ": " + why)}");
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        Classifier?.Dispose();
        Images?.Dispose();
        Labels?.Dispose();
        ChooseImages?.Dispose();
    }
}
