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

    /// <summary>The kind of the checkpoint at <paramref name="path"/> (a run folder or a file), read from its metadata without loading the model.</summary>
    /// <exception cref="CheckpointException">It cannot be read.</exception>
    public static ModelKind Read(string path)
    {
        path = ModelLoader.ResolveCheckpoint(path);
        if (path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
        {
            var (entries, meta) = SafeTensors.Inspect(path);
            return ModelLoader.IsTrainingCheckpoint(meta) ? Of(TrainingCheckpoint.ReadOptions(meta, path)) : OfWeights(entries.Keys);
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
