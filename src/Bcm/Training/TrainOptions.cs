using System.Text.Json;
using System.Text.Json.Serialization;
using Bcm.Networks;

namespace Bcm.Training;

/// <summary>Everything that defines a training run; saved as options.json in the run folder and inside every checkpoint.</summary>
public sealed record TrainOptions
{
    /// <summary>Preset the run started from (informational).</summary>
    public string Preset { get; init; } = "custom";
    /// <summary>Data specification (see <see cref="Data.DataSources"/>).</summary>
    public string Data { get; init; } = "digits";
    /// <summary>Use only the first N images of the data set (0 = all).</summary>
    public int DataLimit { get; init; }
    /// <summary>The network F_θ (a UNet for images, an MLP for vectors).</summary>
    public required NetworkConfig Network { get; init; }

    /// <summary>The names of a class-conditional run's classes in label order (a labelled folder's class folders), or null.</summary>
    public IReadOnlyList<string>? ClassNames { get; init; }

    /// <summary>
    /// These options made class-conditional on <paramref name="data"/>'s labels: the network takes one class per label
    /// (<c>num_classes</c>), and the classes' names, where the data has them, are kept with the run.
    /// </summary>
    /// <exception cref="ArgumentException">The data has no labels, or the network cannot take class labels.</exception>
    public TrainOptions ConditionedOn(Data.ITrainingData data)
    {
        if (data.Labels is null || data.NumClasses < 1)
            throw new ArgumentException($"--class-conditional needs labelled data, and {data.Name} has no labels (a folder is labelled when its images sit in one subfolder per class)");
        if (Network.ConditionChannelCount > 0) throw new ArgumentException("--class-conditional does not apply to a restorer's network");
        return this with { Network = Network with { NumClasses = data.NumClasses }, ClassNames = (data as Data.ImageDataset)?.ClassNames };
    }

    /// <summary>
    /// The class label that <paramref name="text"/> names: a class name of <paramref name="names"/>, or an index in
    /// 0..<paramref name="classes"/> − 1.
    /// </summary>
    /// <exception cref="Errors.BadInputException">The model is unconditional, or the text names no class.</exception>
    public static int ClassLabel(string text, IReadOnlyList<string>? names, int classes)
    {
        if (classes == 0) throw new Errors.BadInputException("--class given, but the model is unconditional");
        if (names is not null && names.ToList().IndexOf(text) is int named and >= 0) return named;
        if (int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int index) && index < classes) return index;
        throw new Errors.BadInputException($"--class '{text}' is not a class of the model: " +
            (names is null ? $"give an index in 0..{classes - 1}" : $"give one of {string.Join(", ", names.Take(20))}{(names.Count > 20 ? ", …" : "")} or an index in 0..{classes - 1}"));
    }
    /// <summary>
    /// <c>bct</c>: bidirectional consistency training (method §4); <c>edm</c>: the EDM denoiser baseline on the same
    /// network, trained with u unused (align frozen at [I | 0], u embedding frozen) so that a BCM can start from it;
    /// <c>palette</c>: the task-specific JPEG restorer, an EDM denoiser conditioned on the JPEG image (<see cref="JpegRestorerObjective"/>).
    /// </summary>
    public string Objective { get; init; } = "bct";
    /// <summary>The JPEG qualities a <c>palette</c> run trains on (one drawn per sample); null for the other objectives.</summary>
    public int[]? JpegQualities { get; init; }
    /// <summary>Images per optimiser step (the global batch, split over the ranks of a data-parallel run).</summary>
    public int BatchSize { get; init; } = 64;
    /// <summary>Total optimiser steps K; also sets the curriculum's doubling period.</summary>
    public long Steps { get; init; } = 10_000;
    /// <summary>RAdam learning rate.</summary>
    public double LearningRate { get; init; } = 1e-4;
    /// <summary>RAdam β₁.</summary>
    public double Beta1 { get; init; } = 0.9;
    /// <summary>RAdam β₂.</summary>
    public double Beta2 { get; init; } = 0.999;
    /// <summary>Clip the gradient norm at this value (0 = off).</summary>
    public double GradClip { get; init; } = 1.0;
    /// <summary>EMA half-life in images (EDM convention); the rate per step is 0.5^(batch / half-life).</summary>
    public double EmaHalfLifeImages { get; init; } = 50_000;
    /// <summary>During the first images the half-life is at most this fraction of the images seen (0 = no ramp-up).</summary>
    public double EmaRampUp { get; init; } = 0.05;
    /// <summary>Seed of every random stream (data order, noise, pairs, dropout): a run is a function of it.</summary>
    public long Seed { get; init; } = 1;
    /// <summary>Curriculum start s0 and end s1 (N(k) = min(s0·2^floor(k/K'), s1) + 1).</summary>
    public int ScalesStart { get; init; } = 10;
    /// <summary>Curriculum end s1 (see <see cref="ScalesStart"/>).</summary>
    public int ScalesEnd { get; init; } = 1280;
    /// <summary>Hold N fixed at this value (fine-tuning uses 321); 0 = use the curriculum.</summary>
    public int FixedScales { get; init; }
    /// <summary>Train the consistency term alone (iCT with the BCM parameterisation, the ablation baseline).</summary>
    public bool CtOnly { get; init; }
    /// <summary>Pseudo-Huber c; 0 = iCT's rule 0.00054·sqrt(D).</summary>
    public double HuberC { get; init; }
    /// <summary>Mean of the log-normal over noise levels that the pairs are drawn from (iCT: −1.1).</summary>
    public double PMean { get; init; } = -1.1;
    /// <summary>Standard deviation of that log-normal (iCT: 2.0).</summary>
    public double PStd { get; init; } = 2.0;
    /// <summary>Random horizontal flips of training images.</summary>
    public bool RandomFlip { get; init; }
    /// <summary>Device to train on: <c>cpu</c>, <c>cuda</c> or <c>cuda:N</c>.</summary>
    public string Device { get; init; } = "cpu";
    /// <summary>Steps between checkpoints.</summary>
    public int CheckpointEvery { get; init; } = 500;
    /// <summary>Checkpoints kept (the newest).</summary>
    public int KeepCheckpoints { get; init; } = 3;
    /// <summary>Write a one-step sample grid every this many steps (0 = only at the end).</summary>
    public int SampleEvery { get; init; } = 500;
    /// <summary>
    /// Initialise from a consistency model or denoiser with the [I | 0] alignment: an official-layout checkpoint (.pt or
    /// .safetensors), or a bcm checkpoint or run folder (its EMA weights, e.g. an <c>edm</c> baseline run).
    /// </summary>
    public string? InitFrom { get; init; }
    /// <summary>
    /// The run's identity, set when the run starts (a new GUID unless given) and kept for its life: written into
    /// options.json and, with the options, into every checkpoint, so that a checkpoint of another run dropped into the
    /// folder is recognised and refused (see <see cref="RunFolder"/>). Null in runs of older versions.
    /// </summary>
    public string? RunId { get; init; }
    /// <summary>Options changed when the run was resumed (<c>--override</c>), oldest first.</summary>
    public IReadOnlyList<OptionOverride> History { get; init; } = [];

    /// <summary>The library's JSON form (<see cref="IO.JsonFormat.Options"/>).</summary>
    public static JsonSerializerOptions Json => IO.JsonFormat.Options;

    /// <summary>The JSON form, as in options.json.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <summary>Options from their JSON form (files of older versions are upgraded, see <see cref="NetworkConfig.UpgradeLegacyJson"/>).</summary>
    /// <exception cref="System.Text.Json.JsonException">Malformed JSON or an unknown network kind.</exception>
    public static TrainOptions FromJson(string json) =>
        JsonSerializer.Deserialize<TrainOptions>(NetworkConfig.UpgradeLegacyJson(json), Json) ?? throw new InvalidDataException("empty options");

    /// <summary>The most discretisation steps N of the curriculum or of <see cref="FixedScales"/> (the grid is allocated for every step).</summary>
    public const int MaxScales = 1_000_000;

    /// <summary>The largest global batch (beyond it no single machine holds the step; the memory check refuses smaller ones that do not fit).</summary>
    public const int MaxBatchSize = 1_000_000;

    /// <summary>The most optimiser steps a run may ask for (a billion: beyond any budget, and far from overflowing step counters and images seen).</summary>
    public const long MaxSteps = 1_000_000_000;

    /// <summary>Checks every field, with a message naming the option at fault.</summary>
    public void Validate()
    {
        Network.Validate();
        if (!TrainingObjectives.Names.Contains(Objective)) throw new ArgumentException($"objective must be {string.Join(" or ", TrainingObjectives.Names)}, got '{Objective}'");
        if (Objective != "bct" && CtOnly) throw new ArgumentException($"ct-only is a BCT ablation; it does not apply to the {Objective} objective");
        if (Objective == JpegRestorerObjective.ObjectiveName)
        {
            if (Network.ConditionChannelCount != Network.SampleShape[0])
                throw new ArgumentException("the palette objective needs a UNet conditioned on the JPEG image (condition channels = its channels): JpegRestorerObjective.Prepare sets it");
            if (JpegQualities is not { Length: > 0 and <= 100 } || JpegQualities.Any(q => q is < 1 or > 100))
                throw new ArgumentException("the palette objective needs JPEG qualities, each in 1..100");
            if (InitFrom is not null) throw new ArgumentException("the palette objective trains a restorer from scratch: --init-from does not apply");
        }
        else if (JpegQualities is not null) throw new ArgumentException("JPEG qualities apply to the palette objective only");
        else if (Network.ConditionChannelCount > 0) throw new ArgumentException($"a network conditioned on an image is trained with the palette objective, not {Objective}");
        if (BatchSize < 1) throw new ArgumentException($"batch size must be ≥ 1, got {BatchSize}");
        if (Steps < 1) throw new ArgumentException($"steps must be ≥ 1, got {Steps}");
        if (!(LearningRate > 0)) throw new ArgumentException($"learning rate must be positive, got {LearningRate}");
        if (GradClip < 0) throw new ArgumentException("gradient clip must be ≥ 0");
        if (!(EmaHalfLifeImages > 0)) throw new ArgumentException("EMA half-life must be positive");
        if (ScalesStart < 1 || ScalesEnd < ScalesStart) throw new ArgumentException($"curriculum needs 1 ≤ s0 ≤ s1, got {ScalesStart}, {ScalesEnd}");
        if (ScalesEnd > MaxScales) throw new ArgumentException($"the curriculum's end s1 must be at most {MaxScales:N0}, got {ScalesEnd:N0}");
        if (FixedScales is < 0 or 1) throw new ArgumentException("fixed scales must be 0 (curriculum) or ≥ 2");
        if (FixedScales > MaxScales) throw new ArgumentException($"--fixed-scales must be at most {MaxScales:N0} (the paper uses 1,280 at most), got {FixedScales:N0}");
        if (BatchSize > MaxBatchSize) throw new ArgumentException($"batch size must be at most {MaxBatchSize:N0}, got {BatchSize:N0}");
        if (!double.IsFinite(LearningRate) || !double.IsFinite(Beta1) || !double.IsFinite(Beta2) || !double.IsFinite(GradClip) || !double.IsFinite(EmaHalfLifeImages) ||
            !double.IsFinite(EmaRampUp) || !double.IsFinite(HuberC) || !double.IsFinite(PMean) || !double.IsFinite(PStd))
            throw new ArgumentException("learning rate, betas, gradient clip, EMA settings, Huber c and the noise-level distribution must be finite numbers");
        if (CheckpointEvery < 1) throw new ArgumentException("checkpoint interval must be ≥ 1");
        if (KeepCheckpoints < 1) throw new ArgumentException("keep at least one checkpoint");
        if (DataLimit < 0) throw new ArgumentException($"data limit must be ≥ 0 (0 = all images), got {DataLimit}");
        if (SampleEvery < 0) throw new ArgumentException($"sample interval must be ≥ 0 (0 = no sample grids), got {SampleEvery}");
        if (Steps > MaxSteps) throw new ArgumentException($"steps must be at most {MaxSteps:N0}, got {Steps:N0}");
        if (RunId is not null && (RunId.Length is 0 or > 64 || !RunId.All(c => char.IsAsciiLetterOrDigit(c) || c == '-')))
            throw new ArgumentException($"run id must be 1-64 letters, digits or '-', got '{RunId}'");
        if (Device is not ("cpu" or "cuda") && !Device.StartsWith("cuda:", StringComparison.Ordinal))
            throw new ArgumentException($"device must be cpu, cuda or cuda:N, got '{Device}'");
    }
}
