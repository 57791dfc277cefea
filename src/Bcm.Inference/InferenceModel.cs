using Bcm.Plans;
using Microsoft.ML.OnnxRuntime;

namespace Bcm.Inference;

/// <summary>
/// An ONNX export of a BCM (<c>bcm export --format onnx</c>: model.onnx and config.json) opened for inference on ONNX
/// Runtime: generation, inversion, regeneration and interpolation with the library's plans, and for a seed the same
/// samples as the libtorch engine (its CPU normal generator is reproduced). The BCM scalings are applied here, around
/// the graph's network F, as the library applies them: f(x, t, u) = c_skip(t, u)·x + c_out(t, u)·F(c_in(t)·x, c_noise(t), c_noise(u), y).
/// </summary>
/// <remarks>
/// One instance may be used from one call at a time (ONNX Runtime sessions are thread-safe, the batching here is not
/// shared state, but a user interface that starts a second call should wait for the first). Dispose it to free the session.
/// </remarks>
public sealed class InferenceModel : IDisposable
{
    private readonly OnnxSession session;
    private readonly PlanEngine engine;

    private InferenceModel(ExportConfig config, OnnxSession session, int threads)
    {
        Config = config;
        this.session = session;
        engine = new PlanEngine(config, session, threads);
    }

    /// <summary>Opens the export in <paramref name="folder"/>: reads config.json, loads model.onnx, checks that the graph is a BCM export's of that shape.</summary>
    /// <exception cref="InferenceException">The folder, its config.json or its model is missing, malformed or does not match, or the execution provider is not available.</exception>
    public static InferenceModel Open(string folder, InferenceOptions? options = null)
    {
        options ??= new InferenceOptions();
        options.Validate();
        var config = ExportConfig.Read(folder);
        return new InferenceModel(config, OnnxSession.Open(config, options), options.Threads);
    }

    /// <summary>The most values one call returns (2²⁸ float32, 1 GiB): a bound on what a request can make it allocate.</summary>
    public const long MaxValues = 1L << 28;

    /// <summary>The export's configuration: kind, sample shape, classes, noise levels.</summary>
    public ExportConfig Config { get; }

    /// <summary>Generates samples from noise with a plan; sample i has seed <c>Seed + i</c>.</summary>
    /// <exception cref="InferenceException">An option is out of range, the plan is malformed, does not generate, or is one the model cannot run.</exception>
    public Task<SampleBatch> SampleAsync(SampleOptions? options = null, IProgress<InferenceProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        options ??= new SampleOptions();
        Check.Range("count", options.Count, 1, 100_000);
        Check.Range("batch size", options.BatchSize, 1, 4096);
        if ((long)options.Count * Config.SampleSize > MaxValues)
            throw new InferenceException($"{options.Count:N0} samples of {Config.SampleSize:N0} values are more than the {MaxValues:N0} values one call returns (1 GiB); " +
                                         $"ask for at most {MaxValues / Config.SampleSize:N0} at a time");
        var plan = engine.Resolve(options.Plan, generate: true);
        if (options.Label is int label) CheckLabel(label);
        var labels = Config.NumClasses == 0 ? null
            : Enumerable.Range(0, options.Count).Select(i => options.Label ?? i % Config.NumClasses).ToArray();
        var zeros = new SampleBatch(new float[checked(options.Count * Config.SampleSize)], options.Count, Config.SampleShape);
        return Task.Run(() => engine.Run(zeros, plan, Seeds(options.Seed, options.Count), labels, options.BatchSize, "sample", progress, cancellationToken), cancellationToken);
    }

    /// <summary>Inverts images (in the data range, [−1, 1]) to latents at the plan's top level (80 for <c>invert1</c>); image i has seed <c>Seed + i</c>.</summary>
    /// <exception cref="InferenceException">The images do not have the model's shape, the labels do not fit, or the plan does not invert or cannot be run by this model.</exception>
    public Task<SampleBatch> InvertAsync(SampleBatch images, InvertOptions? options = null, IProgress<InferenceProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        options ??= new InvertOptions();
        CheckBatch(images, "images");
        Check.Range("batch size", options.BatchSize, 1, 4096);
        var plan = engine.Resolve(options.Plan, generate: false);
        var labels = Labels(options.Labels, images.Count);
        return Task.Run(() => engine.Run(images, plan, Seeds(options.Seed, images.Count), labels, options.BatchSize, "invert", progress, cancellationToken), cancellationToken);
    }

    /// <summary>Maps latents back to samples with a generation plan that starts from them (no fresh start noise).</summary>
    /// <exception cref="InferenceException">As <see cref="SampleAsync"/>, and latents of the wrong shape.</exception>
    public Task<SampleBatch> RegenerateAsync(SampleBatch latents, RegenerateOptions? options = null, IProgress<InferenceProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        options ??= new RegenerateOptions();
        CheckBatch(latents, "latents");
        Check.Range("batch size", options.BatchSize, 1, 4096);
        var plan = engine.Resolve(options.Plan, generate: true).FromGiven();
        var labels = Labels(options.Labels, latents.Count);
        return Task.Run(() => engine.Run(latents, plan, Seeds(options.Seed, latents.Count), labels, options.BatchSize, "regenerate", progress, cancellationToken), cancellationToken);
    }

    /// <summary>
    /// A path of <c>Count</c> samples between two images (each a batch of one): both are inverted with the same seed, their
    /// latents mixed (spherically by default) at α = 0, 1/(Count − 1), …, 1, and every mix regenerated with that seed, as
    /// <c>bcm interpolate</c> does.
    /// </summary>
    /// <exception cref="InferenceException">An image is not one sample of the model's shape, the count is out of range, or a plan does not fit.</exception>
    public async Task<SampleBatch> InterpolateAsync(SampleBatch imageA, SampleBatch imageB, InterpolateOptions? options = null, IProgress<InferenceProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        options ??= new InterpolateOptions();
        foreach (var (image, name) in new[] { (imageA, "the first image"), (imageB, "the second image") })
        {
            CheckBatch(image, name);
            if (image.Count != 1) throw new InferenceException($"{name}: an interpolation runs between two single images, got a batch of {image.Count}");
        }
        Check.Range("count", options.Count, 2, 256);
        var invert = engine.Resolve(options.InvertPlan, generate: false);
        var generate = engine.Resolve(options.GeneratePlan, generate: true);
        try
        {
            Plan.CheckRoundTrip(invert, generate);
        }
        catch (PlanException e)
        {
            throw new InferenceException(e.Message, e);
        }
        int[]? label = Labels(options.Label is int l ? [l] : null, 1);
        var both = SampleBatch.Concat([imageA, imageB]);
        var latents = await Task.Run(() => engine.Run(both, invert, [options.Seed, options.Seed], label is null ? null : [label[0], label[0]], 2, "invert", progress, cancellationToken), cancellationToken);
        var mixes = Latents.Path(latents[0], latents[1], options.Count, options.Slerp);
        var path = new SampleBatch(mixes, options.Count, Config.SampleShape);
        var labels = label is null ? null : Enumerable.Repeat(label[0], options.Count).ToArray();
        return await Task.Run(() => engine.Run(path, generate.FromGiven(), Enumerable.Repeat(options.Seed, options.Count).ToArray(), labels, 64, "regenerate", progress, cancellationToken), cancellationToken);
    }

    /// <summary>
    /// The engine itself: runs <paramref name="plan"/> on <paramref name="input"/> (with its start noise unless the plan is
    /// <see cref="Plan.FromGiven"/>); sample i draws its noise from seed <paramref name="seeds"/>[i], as the library's <c>PlanRunner.Run</c>.
    /// </summary>
    /// <exception cref="InferenceException">The plan cannot be run by this model, or the batch, seeds or labels do not fit.</exception>
    public SampleBatch Run(SampleBatch input, Plan plan, IReadOnlyList<long> seeds, IReadOnlyList<int>? labels = null, int batchSize = 64, CancellationToken cancellationToken = default)
    {
        CheckBatch(input, "input");
        if (seeds.Count != input.Count) throw new InferenceException($"{seeds.Count} seeds for a batch of {input.Count}");
        engine.CheckRunnable(plan);
        return engine.Run(input, plan, seeds, Labels(labels, input.Count), batchSize, "run", null, cancellationToken);
    }

    /// <summary>Frees the ONNX Runtime session.</summary>
    public void Dispose() => session.Dispose();

    private static long[] Seeds(long seed, int count) => Enumerable.Range(0, count).Select(i => seed + i).ToArray();

    private void CheckBatch(SampleBatch batch, string what)
    {
        ArgumentNullException.ThrowIfNull(batch, what);
        if (!batch.SampleShape.SequenceEqual(Config.SampleShape))
            throw new InferenceException($"{what}: samples of [{string.Join(", ", batch.SampleShape)}], but the model's are [{string.Join(", ", Config.SampleShape)}]");
        if (batch.Count < 1) throw new InferenceException($"{what}: the batch is empty");
        if (batch.Values.Any(v => !float.IsFinite(v))) throw new InferenceException($"{what}: the values hold NaN or infinity");
    }

    private void CheckLabel(int label)
    {
        if (Config.NumClasses == 0) throw new InferenceException("a class label was given, but the model is unconditional");
        if (label < 0 || label >= Config.NumClasses) throw new InferenceException($"class label {label} is not in 0..{Config.NumClasses - 1}");
    }

    private int[]? Labels(IReadOnlyList<int>? labels, int count)
    {
        if (Config.NumClasses == 0)
        {
            if (labels is not null) throw new InferenceException("class labels were given, but the model is unconditional");
            return null;
        }
        if (labels is null) throw new InferenceException($"the model is class-conditional ({Config.NumClasses} classes): give one class label per sample");
        if (labels.Count != count) throw new InferenceException($"{labels.Count} class labels for {count} samples");
        foreach (var l in labels) CheckLabel(l);
        return labels.ToArray();
    }
}

internal static class Check
{
    public static void Range(string name, long value, long min, long max)
    {
        if (value < min || value > max) throw new InferenceException($"{name} must be in {min:N0}..{max:N0}, got {value:N0}");
    }
}
