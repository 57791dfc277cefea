using Bcm.Checkpoints;

namespace Bcm.Training;

/// <summary>
/// What a checkpoint is, read once from its metadata (a bcm run's options; for an official state_dict, whether it has
/// u parameters): the one answer to "what can this model do" that commands, reports and fine-tuning ask.
/// </summary>
public enum ModelKind
{
    /// <summary>A BCM (bcm's BCT objective, or an official BCM state_dict): jumps from any t to any u, so it generates and inverts in one step.</summary>
    Bcm,
    /// <summary>A consistency model (bcm's <c>--ct-only</c> iCT run, or an official consistency-model state_dict): jumps down to ε only.</summary>
    ConsistencyModel,
    /// <summary>A diffusion denoiser (bcm's EDM objective, the baseline): D(x, σ) for an ODE solver; u is unused.</summary>
    Denoiser,
}

/// <summary>What each <see cref="ModelKind"/> can do, and where a kind is read.</summary>
public static class ModelKinds
{
    /// <summary>The kind that training <paramref name="options"/> make.</summary>
    public static ModelKind Of(TrainOptions options) =>
        options.Objective is "edm" or JpegRestorerObjective.ObjectiveName ? ModelKind.Denoiser : options.CtOnly ? ModelKind.ConsistencyModel : ModelKind.Bcm;

    /// <summary>The kind of an official state_dict without bcm metadata: a BCM when it has the u embedding, else a consistency model.</summary>
    public static ModelKind OfWeights(IEnumerable<string> names) => names.Any(Networks.Layers.IsUParameter) ? ModelKind.Bcm : ModelKind.ConsistencyModel;

    /// <summary>The metadata key under which <c>bcm export</c> records the kind, so that an exported EDM baseline or iCT model loads back as what it is.</summary>
    public const string MetadataKey = "bcm_kind";

    /// <summary>
    /// The kind of a file without training options: the one a bcm export recorded under <see cref="MetadataKey"/>, else
    /// (an official state_dict) <see cref="OfWeights"/>.
    /// </summary>
    /// <exception cref="CheckpointException">The recorded kind is not one bcm knows.</exception>
    public static ModelKind OfFile(IReadOnlyDictionary<string, string> meta, IEnumerable<string> names, string path)
    {
        if (!meta.TryGetValue(MetadataKey, out var recorded)) return OfWeights(names);
        foreach (var kind in Enum.GetValues<ModelKind>())
            if (kind.Name() == recorded) return kind;
        throw new CheckpointException($"{path}: metadata {MetadataKey} = '{recorded}' is not a model kind bcm knows ({string.Join(", ", Enum.GetValues<ModelKind>().Select(Name))})");
    }

    /// <summary>The kind's name in an export's metadata: <c>bcm</c>, <c>consistency-model</c> or <c>denoiser</c>.</summary>
    public static string Name(this ModelKind kind) => kind switch
    {
        ModelKind.Denoiser => "denoiser",
        ModelKind.ConsistencyModel => "consistency-model",
        _ => "bcm",
    };

    /// <summary>The kind of the checkpoint at <paramref name="path"/> (a run folder or a file), read from its metadata without loading the model.</summary>
    /// <exception cref="CheckpointException">It cannot be read.</exception>
    public static ModelKind Read(string path)
    {
        path = ModelLoader.ResolveCheckpoint(path);
        if (path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
        {
            var (entries, meta) = SafeTensors.Inspect(path);
            return ModelLoader.IsTrainingCheckpoint(meta) ? Of(TrainingCheckpoint.ReadOptions(meta, path)) : OfFile(meta, entries.Keys, path);
        }
        var (tensors, _) = ModelLoader.ReadTensors(path);
        try
        {
            return OfWeights(tensors.Keys);
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    /// <summary>Whether its u input is trained (a denoiser's stays at align = [I | 0], frozen).</summary>
    public static bool TrainsU(this ModelKind kind) => kind != ModelKind.Denoiser;

    /// <summary>Whether it inverts with its own jumps (a BCM); the others invert only by solving the ODE.</summary>
    public static bool Inverts(this ModelKind kind) => kind == ModelKind.Bcm;

    /// <summary>How its training is named in model cards and messages.</summary>
    public static string Describe(this ModelKind kind) => kind switch
    {
        ModelKind.Denoiser => "EDM denoiser",
        ModelKind.ConsistencyModel => "iCT (consistency term only)",
        _ => "BCT",
    };
}
