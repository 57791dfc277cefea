using static TorchSharp.torch;

namespace Bcm.Checkpoints;

/// <summary>Copies named tensors into a module's parameters and buffers, checking names and shapes first.</summary>
public static class StateDict
{
    /// <summary>
    /// Loads <paramref name="tensors"/> (keys with an optional <paramref name="prefix"/>) into <paramref name="module"/>.
    /// Every parameter must be present with the same shape; keys the module lacks are an error unless other prefixes.
    /// Values are converted to the parameter's dtype and device, one at a time (each conversion freed at once). With
    /// <paramref name="consume"/> each source tensor is disposed as soon as it is copied, so that loading a large model
    /// does not hold the file's tensors and the module's weights in full at the same time.
    /// </summary>
    public static void Load(nn.Module module, IReadOnlyDictionary<string, Tensor> tensors, string source, string prefix = "",
        Func<string, bool>? optional = null, bool consume = false)
    {
        var own = module.state_dict();
        var given = tensors.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key[prefix.Length..], kv => kv.Value);
        foreach (var (name, p) in own)
        {
            if (!given.TryGetValue(name, out var value))
            {
                if (optional?.Invoke(name) == true) continue;
                throw new CheckpointException($"{source}: checkpoint of another architecture: parameter {prefix}{name} {Shape(p)} is missing from it");
            }
            if (!value.shape.SequenceEqual(p.shape))
                throw new CheckpointException($"{source}: checkpoint of another architecture: {prefix}{name} has shape {Shape(value)} in the checkpoint, the model expects {Shape(p)}");
        }
        var unexpected = given.Keys.Where(k => !own.ContainsKey(k)).OrderBy(k => k, StringComparer.Ordinal).ToList();
        if (unexpected.Count > 0)
            throw new CheckpointException($"{source}: checkpoint of another architecture: it holds {prefix}{unexpected[0]} {Shape(given[unexpected[0]])}, which the model does not have ({unexpected.Count} such keys)");
        using var _ = no_grad();
        foreach (var (name, p) in own)
        {
            if (!given.TryGetValue(name, out var value)) continue;
            using (NewDisposeScope()) p.copy_(value.to(p.dtype, p.device));
            if (consume) value.Dispose();
        }
    }

    /// <summary>The module's state as a dictionary of detached tensors with an optional key prefix.</summary>
    public static Dictionary<string, Tensor> Get(nn.Module module, string prefix = "") =>
        module.state_dict().ToDictionary(kv => prefix + kv.Key, kv => kv.Value.detach());

    /// <summary>A tensor's shape as text, e.g. [32, 1, 3, 3], for messages.</summary>
    public static string Shape(Tensor t) => $"[{string.Join(", ", t.shape)}]";
}
