using Bcm.Checkpoints;

namespace Bcm.Training;

/// <summary>
/// What a checkpoint file holds, read without building a network (<c>bcm info</c>): its kind, its tensors (name, shape,
/// dtype), its metadata and, for a bcm training checkpoint, the step, seed and options of the run.
/// </summary>
public sealed record CheckpointInfo(string Path, long Bytes, string Kind, IReadOnlyList<CheckpointInfo.Entry> Tensors,
    IReadOnlyDictionary<string, string> Metadata, TrainOptions? Options)
{
    /// <summary>One tensor of the checkpoint.</summary>
    /// <param name="Name">Its key.</param>
    /// <param name="Shape">Its shape.</param>
    /// <param name="DType">Its element type as stored.</param>
    public sealed record Entry(string Name, long[] Shape, string DType)
    {
        /// <summary>Number of elements.</summary>
        public long Count => Shape.Aggregate(1L, (a, b) => a * b);
    }

    /// <summary>Numbers stored in all tensors.</summary>
    public long Numbers => Tensors.Sum(t => t.Count);

    /// <summary>Parameters of one network: the online weights of a training checkpoint, else every number.</summary>
    public long Parameters => Options is null ? Numbers : Tensors.Where(t => t.Name.StartsWith("online.", StringComparison.Ordinal)).Sum(t => t.Count);

    /// <summary>Reads a checkpoint file or the newest checkpoint of a run folder.</summary>
    public static CheckpointInfo Read(string path)
    {
        path = ModelLoader.ResolveCheckpoint(path);
        if (!File.Exists(path)) throw new CheckpointException($"{path}: no such file");
        long bytes = new FileInfo(path).Length;
        if (path.EndsWith(".pt", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".pth", StringComparison.OrdinalIgnoreCase))
        {
            var tensors = TorchPickleReader.Load(path);
            try
            {
                var entries = tensors.Select(kv => new Entry(kv.Key, kv.Value.shape, kv.Value.dtype.ToString())).ToList();
                return new CheckpointInfo(path, bytes, "PyTorch state_dict (torch.save zip)", entries, new Dictionary<string, string>(), null);
            }
            finally
            {
                foreach (var t in tensors.Values) t.Dispose();
            }
        }
        var (header, meta) = SafeTensors.Inspect(path);
        var list = header.Select(kv => new Entry(kv.Key, kv.Value.Shape, kv.Value.DType)).ToList();
        return ModelLoader.IsTrainingCheckpoint(meta)
            ? new CheckpointInfo(path, bytes, "bcm training checkpoint", list, meta, TrainingCheckpoint.ReadOptions(meta, path))
            : new CheckpointInfo(path, bytes, "safetensors state_dict", list, meta, null);
    }

    /// <summary>A human-readable description: kind, size, training state or metadata, and the first <paramref name="maxTensors"/> tensors.</summary>
    public IEnumerable<string> Describe(int maxTensors = 12)
    {
        yield return $"file: {System.IO.Path.GetFullPath(Path)} ({Bytes:N0} bytes)";
        if (Options is not null)
        {
            yield return $"kind: {Kind}, step {Metadata.GetValueOrDefault("step", "?")} of {Options.Steps}, optimiser step {Metadata.GetValueOrDefault("optimizer_step", "?")}, seed {Metadata.GetValueOrDefault("seed", "?")}";
            yield return $"parameters: {Parameters:N0} (online, EMA and RAdam state stored)";
            yield return $"options:\n{Options.ToJson()}";
            yield break;
        }
        yield return $"kind: {Kind}, {Tensors.Count} tensors, {Numbers:N0} numbers";
        foreach (var (k, v) in Metadata) yield return $"  metadata {k} = {v}";
        foreach (var e in Tensors.Take(maxTensors)) yield return $"  {e.Name} [{string.Join(", ", e.Shape)}] {e.DType}";
        if (Tensors.Count > maxTensors) yield return $"  … {Tensors.Count - maxTensors} more";
    }
}
