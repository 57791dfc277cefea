using TorchSharp;
using Bcm.Model;
using Bcm.Networks;
using Bcm.Checkpoints;
using static TorchSharp.torch;

namespace Bcm.Training;

/// <summary>
/// Loads a model for sampling from: a bcm training checkpoint (EMA weights by default), a run folder (its newest
/// checkpoint), or an official-layout state_dict (.pt zip pickle or .safetensors with bare keys), whose architecture
/// is given by a preset or by the safetensors metadata.
/// </summary>
public static class ModelLoader
{
    /// <summary>A loaded model and where it came from; disposing it frees the weights.</summary>
    /// <param name="Model">The model, in eval mode.</param>
    /// <param name="Config">Its network configuration.</param>
    /// <param name="Source">The checkpoint file it was read from.</param>
    /// <param name="Step">The training step of a bcm checkpoint (null for an official state_dict).</param>
    /// <param name="Options">The training options of a bcm checkpoint (null for an official state_dict).</param>
    /// <param name="Kind">What the model is (read once: from the options, or from its weights for an official state_dict).</param>
    public sealed record Loaded(BcmModel Model, NetworkConfig Config, string Source, long? Step, TrainOptions? Options, ModelKind Kind) : IDisposable
    {
        /// <summary>Frees the model's weights.</summary>
        public void Dispose() => Model.Dispose();
    }

    /// <summary>Loads a model for sampling and editing.</summary>
    /// <param name="path">A run folder (its newest checkpoint), a bcm checkpoint, or an official state_dict (.pt or .safetensors).</param>
    /// <param name="preset">The architecture of an official state_dict whose file does not say it (e.g. <c>imagenet64</c>).</param>
    /// <param name="useEma">Of a bcm checkpoint, the EMA weights (default) or the online weights.</param>
    /// <param name="device">Where to put the model (default the CPU).</param>
    /// <exception cref="CheckpointException">The file is not a usable checkpoint (malformed, wrong shapes, NaN weights, unknown architecture).</exception>
    public static Loaded Load(string path, string? preset = null, bool useEma = true, Device? device = null)
    {
        var presetNetwork = preset is null ? null : Presets.Get(preset).Network; // an unknown name is an error even where the file knows its architecture
        path = ResolveCheckpoint(path);
        var (tensors, meta) = ReadTensors(path);
        try
        {
            NetworkConfig config;
            TrainOptions? options = null;
            long? step = null;
            if (IsTrainingCheckpoint(meta))
            {
                options = TrainingCheckpoint.ReadOptions(meta, path);
                config = options.Network;
                step = Metadata.Count(meta, "step", path);
            }
            else if (presetNetwork is not null)
            {
                config = presetNetwork;
            }
            else if (meta.TryGetValue("bcm_network", out var network))
            {
                config = ExportedConfig(network, path);
            }
            else if (meta.ContainsKey("model_channels"))
            {
                config = OfficialConfig(meta, path);
            }
            else
            {
                throw new CheckpointException($"{path}: an official-layout state_dict does not say its architecture: pass --preset (e.g. imagenet64)");
            }
            var net = NetworkFactory.Create(config);
            var (weights, prefix) = SelectWeights(tensors, meta, useEma);
            foreach (var (key, w) in weights)
            {
                bool finite;
                using (NewDisposeScope()) finite = !w.is_floating_point() || w.isfinite().all().item<bool>(); // the mask freed at once, not at the next GC
                if (!finite) throw new CheckpointException($"{path}: tensor {key} holds NaN or infinite values: the weights are unusable (a diverged run?)");
            }
            StateDict.Load(net.Module, weights, path, prefix, consume: true); // each file tensor freed once copied
            if (device is not null) net.Module.to(device);
            net.Module.eval();
            return new Loaded(new BcmModel(net), config, path, step, options, options is null ? ModelKinds.OfFile(meta, tensors.Keys, path) : ModelKinds.Of(options));
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    /// <summary>A checkpoint file as given, or the newest checkpoint of a run folder (checked to be the run's own, see <see cref="RunFolder"/>).</summary>
    /// <exception cref="ForeignFileException">The run folder's newest checkpoint is not the run's own.</exception>
    public static string ResolveCheckpoint(string path)
    {
        if (!Directory.Exists(path)) return path;
        return RunFolder.NewestOwnCheckpoint(path)
               ?? throw new CheckpointException($"{path}: a folder without checkpoints/ckpt-*.safetensors");
    }

    /// <summary>True for the metadata of a bcm training checkpoint (online, EMA and optimiser state).</summary>
    public static bool IsTrainingCheckpoint(IReadOnlyDictionary<string, string> metadata) =>
        metadata.TryGetValue("format", out var format) && format == TrainingCheckpoint.Format;

    /// <summary>
    /// The weights of one network among a file's tensors, with the key prefix to strip: the EMA (or online) weights of
    /// a bcm training checkpoint, or every tensor of an official-layout state_dict except its reference data.
    /// </summary>
    public static (Dictionary<string, Tensor> Weights, string Prefix) SelectWeights(IReadOnlyDictionary<string, Tensor> tensors,
        IReadOnlyDictionary<string, string> metadata, bool useEma = true)
    {
        string prefix = IsTrainingCheckpoint(metadata) ? (useEma ? "ema." : "online.") : "";
        var weights = tensors.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal) && (prefix.Length > 0 || !IsReferenceData(kv.Key)))
            .ToDictionary(kv => kv.Key, kv => kv.Value);
        return (weights, prefix);
    }

    /// <summary>
    /// Tensors that official-layout files may carry beside the weights: inputs and expected outputs of the golden
    /// files (<c>io.*</c>, <c>loss.*</c>, <c>grad.*</c>). They are skipped when loading weights.
    /// </summary>
    public static bool IsReferenceData(string key) =>
        key.StartsWith("io.", StringComparison.Ordinal) || key.StartsWith("loss.", StringComparison.Ordinal) || key.StartsWith("grad.", StringComparison.Ordinal);

    /// <summary>All tensors of a .pt/.pth (PyTorch zip) or .safetensors file, with the safetensors metadata.</summary>
    public static (Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata) ReadTensors(string path)
    {
        if (!File.Exists(path)) throw new CheckpointException($"{path}: no such checkpoint");
        return path.EndsWith(".pt", StringComparison.OrdinalIgnoreCase) || path.EndsWith(".pth", StringComparison.OrdinalIgnoreCase)
            ? (TorchPickleReader.Load(path), [])
            : SafeTensors.Load(path);
    }

    // The network configuration an export (ModelExport) writes beside the official arguments: exact for any network.
    private static NetworkConfig ExportedConfig(string json, string path)
    {
        try
        {
            var config = System.Text.Json.JsonSerializer.Deserialize<NetworkConfig>(json, IO.JsonFormat.Options)
                         ?? throw new CheckpointException($"{path}: metadata bcm_network is empty");
            config.Validate();
            return config;
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or NotSupportedException or ArgumentException or InvalidOperationException)
        {
            throw new CheckpointException($"{path}: metadata bcm_network does not describe a usable network ({e.Message})", e);
        }
    }

    /// <summary>The architecture from the metadata the official-format golden files carry (checked like any architecture).</summary>
    public static UNetConfig OfficialConfig(IReadOnlyDictionary<string, string> meta, string path = "checkpoint")
    {
        int Int(string key) => Metadata.Int(meta, key, path);
        var config = new UNetConfig
        {
            ImageSize = Int("image_size"),
            InChannels = Int("in_channels"),
            OutChannels = Int("out_channels"),
            ModelChannels = Int("model_channels"),
            ChannelMult = Metadata.Ints(meta, "channel_mult", path),
            NumResBlocks = Int("num_res_blocks"),
            AttentionResolutions = Metadata.Ints(meta, "attention_resolutions", path),
            NumHeadChannels = Int("num_head_channels"),
            NumClasses = Metadata.Text(meta, "num_classes", path) == "None" ? 0 : Int("num_classes"),
            Dropout = Metadata.Real(meta, "dropout", path),
            DropoutHighRes = Metadata.Real(meta, "dropout_highres", path),
        };
        try
        {
            config.Validate();
        }
        catch (ArgumentException e)
        {
            throw new CheckpointException($"{path}: its metadata describes an unusable architecture: {e.Message}", e);
        }
        return config;
    }
}
