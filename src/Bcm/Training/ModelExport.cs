using System.Globalization;
using System.Text.Json;
using Bcm.Checkpoints;
using Bcm.Networks;

namespace Bcm.Training;

/// <summary>
/// Writes a model as a bare state_dict in safetensors: the official key names (<c>time_embed.0.weight</c>,
/// <c>input_blocks.1.0.in_layers.2.weight</c>, …, with BCM's <c>time_embed_end</c> and <c>time_embed_align</c>), float32,
/// and in the metadata the architecture under the official UNetModel's argument names (so that PyTorch users build the
/// model from it and call <c>load_state_dict</c>), the network configuration as bcm writes it, and where the weights
/// came from. bcm loads the file back like any official-layout checkpoint.
/// </summary>
public static class ModelExport
{
    /// <summary>The metadata format name of an exported file.</summary>
    public const string Format = "bcm-export-1";

    /// <summary>What was written.</summary>
    /// <param name="Path">The file written.</param>
    /// <param name="Tensors">How many tensors it holds.</param>
    /// <param name="Parameters">How many numbers.</param>
    /// <param name="Weights"><c>ema</c> or <c>online</c> (of a bcm training checkpoint), or <c>as loaded</c> (of any other file).</param>
    /// <param name="Source">The checkpoint read.</param>
    /// <param name="Config">The config.json written beside the weights.</param>
    /// <param name="Card">The model card (README.md) written beside the weights.</param>
    public sealed record Result(string Path, int Tensors, long Parameters, string Weights, string Source, string Config, string Card);

    /// <summary>
    /// Exports the model of <paramref name="checkpoint"/> (a run folder, a bcm checkpoint or an official state_dict) to
    /// <paramref name="path"/>, and beside it config.json and a model card (README.md, see <see cref="ModelCard"/>), each atomically.
    /// </summary>
    /// <param name="checkpoint">What to export.</param>
    /// <param name="path">The .safetensors file to write.</param>
    /// <param name="ema">Of a bcm training checkpoint, the EMA weights (the evaluation model; default) or the online weights.</param>
    /// <param name="preset">The architecture of an official state_dict whose file does not say it.</param>
    /// <param name="overwrite">Replace an existing file at <paramref name="path"/> (never the source, never a file in a run's checkpoints/).</param>
    /// <exception cref="CheckpointException">The checkpoint cannot be loaded.</exception>
    /// <exception cref="ArgumentException">The destination is the source, lies in a run's checkpoints/, or exists without <paramref name="overwrite"/>.</exception>
    public static Result Write(string checkpoint, string path, bool ema = true, string? preset = null, bool overwrite = false)
    {
        if (!path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
            throw new ArgumentException($"{path}: an export is written as .safetensors; give a file name ending in .safetensors");
        var (configPath, cardPath) = CheckDestinations(checkpoint, path, overwrite);
        string folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
        using var loaded = ModelLoader.Load(checkpoint, preset, useEma: ema);
        var tensors = StateDict.Get(loaded.Model.Network.Module);
        string weights = loaded.Options is null ? "as loaded" : ema ? "ema" : "online";
        var meta = Architecture(loaded.Config);
        meta["format"] = Format;
        meta["bcm_network"] = JsonSerializer.Serialize(loaded.Config, IO.JsonFormat.Lines);
        meta["weights"] = weights;
        meta[ModelKinds.MetadataKey] = loaded.Kind.Name(); // an exported EDM baseline or iCT model loads back as what it is
        meta["source"] = Path.GetFileName(loaded.Source);
        if (loaded.Step is long step) meta["step"] = step.ToString(CultureInfo.InvariantCulture);
        meta["sigma_data"] = F(loaded.Model.SigmaData);
        meta["sigma_min"] = F(loaded.Model.SigmaMin);
        meta["sigma_max"] = F(loaded.Model.SigmaMax);
        Directory.CreateDirectory(folder);
        long parameters = tensors.Values.Sum(t => t.numel());
        SafeTensors.Save(path, tensors, meta);
        IO.AtomicFile.WriteAllText(configPath, ModelCard.Config(loaded, weights, System.IO.Path.GetFileName(path)));
        IO.AtomicFile.WriteAllText(cardPath, ModelCard.Card(loaded, weights, parameters));
        return new Result(path, tensors.Count, parameters, weights, loaded.Source, configPath, cardPath);
    }

    /// <summary>
    /// Checks where an export of <paramref name="checkpoint"/> to <paramref name="path"/> writes (the model file, and
    /// config.json and README.md beside it) before anything is loaded; returns the paths of the two.
    /// </summary>
    /// <exception cref="ArgumentException">A destination is the source, lies in a run's checkpoints/, or exists without <paramref name="overwrite"/>.</exception>
    public static (string Config, string Card) CheckDestinations(string checkpoint, string path, bool overwrite)
    {
        string folder = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!;
        string configPath = System.IO.Path.Combine(folder, "config.json"), cardPath = System.IO.Path.Combine(folder, "README.md");
        // The source once (for a run folder, resolving it reads its checkpoints' headers), then each destination against it.
        string source = Resolve(Directory.Exists(checkpoint) ? ModelLoader.ResolveCheckpoint(checkpoint) : checkpoint);
        foreach (var file in new[] { path, configPath, cardPath }) CheckDestination(source, file, overwrite);
        return (configPath, cardPath);
    }

    // An export never replaces what it reads, nor a run's checkpoint (the run would no longer resume), and replaces any
    // other file only when asked. Paths are compared after resolving links.
    private static void CheckDestination(string source, string path, bool overwrite)
    {
        string target = Resolve(path);
        if (string.Equals(target, source, OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal))
            throw new ArgumentException($"{path}: that is the checkpoint being exported; write the export to another file");
        var folder = Path.GetDirectoryName(target);
        if (folder is not null && Path.GetFileName(folder) == "checkpoints" && Path.GetDirectoryName(folder) is string run &&
            (File.Exists(Path.Combine(run, "options.json")) || File.Exists(Path.Combine(run, ".lock")) || TrainingCheckpoint.List(run).Count > 0))
            throw new ArgumentException($"{path}: inside the checkpoints/ folder of the run {run}, which only its training writes; write the export elsewhere");
        if (File.Exists(target) && !overwrite)
            throw new ArgumentException($"{path} exists; give --force to replace it, or another --out");
    }

    private static string Resolve(string path)
    {
        var full = Path.GetFullPath(path);
        try
        {
            return new FileInfo(full).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? full;
        }
        catch (IOException)
        {
            return full;
        }
    }

    // The official UNetModel's constructor arguments, written as Python literals (tuples, None, True/False) as the
    // official-format golden files write them; an MLP has no official counterpart and carries bcm_network alone.
    private static Dictionary<string, string> Architecture(NetworkConfig config)
    {
        if (config is not UNetConfig u) return [];
        static string Tuple(int[] v) => v.Length == 1 ? $"({v[0]},)" : "(" + string.Join(", ", v) + ")";
        return new Dictionary<string, string>
        {
            ["image_size"] = I(u.ImageSize),
            ["in_channels"] = I(u.InputChannels), // with a conditioning image (a JPEG restorer's), as the input convolution takes it
            ["model_channels"] = I(u.ModelChannels),
            ["out_channels"] = I(u.OutChannels),
            ["num_res_blocks"] = I(u.NumResBlocks),
            ["attention_resolutions"] = Tuple(u.AttentionResolutions),
            ["dropout"] = F(u.Dropout),
            ["dropout_highres"] = F(u.DropoutHighRes),
            ["channel_mult"] = Tuple(u.ChannelMult),
            ["num_classes"] = u.NumClasses == 0 ? "None" : I(u.NumClasses),
            ["num_head_channels"] = I(u.NumHeadChannels),
            ["use_scale_shift_norm"] = "False",
            ["resblock_updown"] = u.ResBlockUpDown ? "True" : "False",
            ["use_fp16"] = "False",
        };
    }

    private static string I(int v) => v.ToString(CultureInfo.InvariantCulture);
    private static string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
