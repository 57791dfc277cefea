using System.Globalization;
using System.Text.RegularExpressions;
using Bcm.Networks;
using Bcm.Checkpoints;
using static TorchSharp.torch;

namespace Bcm.Training;

/// <summary>
/// A training checkpoint as one safetensors file: the online weights (<c>online.*</c>), the EMA weights (<c>ema.*</c>),
/// the RAdam state (<c>optim.m.*</c>, <c>optim.v.*</c>), and in the metadata the step, the optimiser step, the options
/// (JSON, including the network configuration) and the seed (all randomness is counter-based on (seed, step), so the
/// seed and step are the whole generator state). Readable from PyTorch with safetensors.torch.load_file.
/// </summary>
public static partial class TrainingCheckpoint
{
    /// <summary>The metadata format name of a training checkpoint.</summary>
    public const string Format = "bcm-training-checkpoint-1";

    /// <summary>The file name of the checkpoint of <paramref name="step"/> (zero-padded, so names sort by step).</summary>
    public static string FileName(long step) => $"ckpt-{step:D8}.safetensors";

    /// <summary>Writes a checkpoint of the online and EMA weights, the optimiser state, the step and the options to <paramref name="path"/>, atomically.</summary>
    internal static void Save(string path, nn.Module online, nn.Module ema, RAdam optimiser, long step, TrainOptions options)
    {
        var tensors = new Dictionary<string, Tensor>();
        foreach (var (k, v) in StateDict.Get(online, "online.")) tensors[k] = v;
        foreach (var (k, v) in StateDict.Get(ema, "ema.")) tensors[k] = v;
        foreach (var (k, v) in optimiser.State()) tensors["optim." + k] = v;
        var meta = new Dictionary<string, string>
        {
            ["format"] = Format,
            ["step"] = step.ToString(CultureInfo.InvariantCulture),
            ["optimizer_step"] = optimiser.StepCount.ToString(CultureInfo.InvariantCulture),
            ["seed"] = options.Seed.ToString(CultureInfo.InvariantCulture),
            ["rng"] = "counter-based: every draw is a function of (seed, step)",
            ["options"] = options.ToJson(),
        };
        SafeTensors.Save(path, tensors, meta);
    }

    /// <summary>Checkpoints of a run folder, oldest first.</summary>
    public static List<(long Step, string Path)> List(string runDir)
    {
        var dir = Path.Combine(runDir, "checkpoints");
        if (!Directory.Exists(dir)) return [];
        return Directory.EnumerateFiles(dir, "ckpt-*.safetensors")
            .Select(f => (Match: StepRegex().Match(Path.GetFileName(f)), Path: f))
            .Select(x => (Step: x.Match.Success && long.TryParse(x.Match.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out long step) ? step : -1, x.Path))
            .Where(x => x.Step >= 0) // a name like ckpt-99999999999999999999 is not one of ours
            .OrderBy(x => x.Step).ToList();
    }

    /// <summary>The options stored in a checkpoint's metadata, validated.</summary>
    /// <exception cref="CheckpointException">They are missing or malformed.</exception>
    public static TrainOptions ReadOptions(IReadOnlyDictionary<string, string> metadata, string path)
    {
        if (!metadata.TryGetValue("options", out var json))
            throw new CheckpointException($"{path}: not a bcm training checkpoint (no options in its metadata)");
        try
        {
            var options = TrainOptions.FromJson(json);
            options.Validate();
            return options;
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or NotSupportedException or InvalidDataException or ArgumentException or InvalidOperationException)
        {
            throw new CheckpointException($"{path}: the options in its metadata are malformed ({e.Message})", e);
        }
    }

    [GeneratedRegex(@"^ckpt-(\d+)\.safetensors$")]
    private static partial Regex StepRegex();
}
