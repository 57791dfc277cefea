using Bcm.Checkpoints;

namespace Bcm.Training;

/// <summary>What a checkpoint given to <see cref="TrainOptions.InitFrom"/> holds.</summary>
public enum StartingPoint
{
    /// <summary>A consistency model: an official consistency-model state_dict (no u parameters) or a bcm <c>--ct-only</c> (iCT) run.</summary>
    ConsistencyModel,
    /// <summary>A denoiser: a bcm run of the EDM objective.</summary>
    Denoiser,
    /// <summary>A BCM (a bcm BCT run, or an official BCM state_dict).</summary>
    Bcm,
}

/// <summary>
/// The paper's recipe for a BCM from a consistency model (method §4): start from its weights with align = [I | 0], hold
/// N fixed at 321 and train at learning rate 1e-4 (the official fine-tuning settings).
/// </summary>
public static class FineTuning
{
    /// <summary>N held fixed when fine-tuning from a consistency model.</summary>
    public const int Scales = 321;

    /// <summary>The learning rate of fine-tuning from a consistency model.</summary>
    public const double LearningRate = 1e-4;

    /// <summary>What the checkpoint at <paramref name="path"/> (a run folder or a file) is.</summary>
    /// <exception cref="CheckpointException">It cannot be read.</exception>
    public static StartingPoint Classify(string path)
    {
        path = ModelLoader.ResolveCheckpoint(path);
        if (path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
        {
            var (entries, meta) = SafeTensors.Inspect(path);
            if (ModelLoader.IsTrainingCheckpoint(meta))
            {
                var options = TrainingCheckpoint.ReadOptions(meta, path);
                return options.Objective == "edm" ? StartingPoint.Denoiser : options.CtOnly ? StartingPoint.ConsistencyModel : StartingPoint.Bcm;
            }
            return entries.Keys.Any(Networks.Layers.IsUParameter) ? StartingPoint.Bcm : StartingPoint.ConsistencyModel;
        }
        var (tensors, _) = ModelLoader.ReadTensors(path);
        try
        {
            return tensors.Keys.Any(Networks.Layers.IsUParameter) ? StartingPoint.Bcm : StartingPoint.ConsistencyModel;
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }
}
