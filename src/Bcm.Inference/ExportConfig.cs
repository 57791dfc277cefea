using System.Text.Json;
using Bcm.Errors;

namespace Bcm.Inference;

/// <summary>What the inference package reads from an export's <c>config.json</c> (written by <c>bcm export --format onnx</c>).</summary>
/// <param name="Path">The config.json read.</param>
/// <param name="ModelFile">The ONNX model beside it (<c>weights_file</c>).</param>
/// <param name="Kind">What the model can do: <c>bcm</c> (jumps either way), <c>consistency-model</c> (jumps down to ε) or <c>denoiser</c> (an EDM model, sampled and inverted with the ODE solvers).</param>
/// <param name="SampleShape">One sample's shape: [C, H, W] for images (pixels in [−1, 1]), [D] for vectors.</param>
/// <param name="NumClasses">Classes of a class-conditional model (0: unconditional).</param>
/// <param name="SigmaData">σ_data of the scalings.</param>
/// <param name="SigmaMin">ε, the lowest noise level (generation ends there).</param>
/// <param name="SigmaMax">T, the highest (generation starts there).</param>
public sealed record ExportConfig(string Path, string ModelFile, string Kind, int[] SampleShape, int NumClasses, double SigmaData, double SigmaMin, double SigmaMax)
{
    /// <summary>The classes' names in label order (<c>class_names</c>, from a run trained on a labelled folder), or null.</summary>
    public IReadOnlyList<string>? ClassNames { get; init; }

    /// <summary>The label of the class <paramref name="name"/> (a name of <see cref="ClassNames"/>, or an index).</summary>
    /// <exception cref="InferenceException">The model is unconditional or has no such class.</exception>
    public int ClassLabel(string name)
    {
        if (NumClasses == 0) throw new InferenceException("a class was given, but the model is unconditional");
        if (ClassNames?.ToList().IndexOf(name) is int i and >= 0) return i;
        if (int.TryParse(name, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int index) && index < NumClasses) return index;
        throw new InferenceException($"'{name}' is not a class of the model: " + (ClassNames is null ? $"give an index in 0..{NumClasses - 1}" : $"one of {string.Join(", ", ClassNames.Take(20))}, or an index"));
    }

    /// <summary>The largest config.json read (1 MiB; bcm writes about 2 KB).</summary>
    public const int MaxBytes = 1 << 20;

    /// <summary>The kinds an export may declare.</summary>
    public static readonly string[] Kinds = ["bcm", "consistency-model", "denoiser"];

    /// <summary>Values in one sample.</summary>
    public int SampleSize => SampleShape.Aggregate(1, (a, b) => a * b);

    /// <summary>Whether samples are images [C, H, W] with 1 or 3 channels (PNG in and out).</summary>
    public bool IsImage => SampleShape.Length == 3 && SampleShape[0] is 1 or 3;

    /// <summary>Whether the model inverts with its own jumps (a BCM); the others invert only by solving the ODE.</summary>
    public bool Inverts => Kind == "bcm";

    /// <summary>Reads and checks <c>config.json</c> in <paramref name="folder"/>.</summary>
    /// <exception cref="InferenceException">It is missing, too large, not JSON, or lacks what the package needs.</exception>
    public static ExportConfig Read(string folder)
    {
        string path = System.IO.Path.Combine(folder, "config.json");
        if (!File.Exists(path))
            throw new InferenceException(Directory.Exists(folder)
                ? $"{path}: no config.json in the export folder (bcm export --format onnx writes model.onnx and config.json together)"
                : $"{folder}: no such folder (give the folder bcm export --format onnx wrote)");
        var info = new FileInfo(path);
        if (info.LinkTarget is not null) throw new InferenceException($"{path}: config.json is a link; give the export's own file");
        if (info.Length > MaxBytes) throw new InferenceException($"{path}: {info.Length:N0} bytes, more than the {MaxBytes:N0} a config.json may have");
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { MaxDepth = 16 });
            return Parse(doc.RootElement, path, folder);
        }
        catch (JsonException e)
        {
            throw new InferenceException($"{path}: not valid JSON ({e.Message.Split('.')[0]})");
        }
    }

    private static ExportConfig Parse(JsonElement root, string path, string folder)
    {
        if (root.ValueKind != JsonValueKind.Object) throw new InferenceException($"{path}: expected a JSON object");
        string Text(string name) => root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()!
            : throw Missing(name);
        InferenceException Missing(string name) => new($"{path}: '{name}' is missing or of the wrong type; re-export the model with bcm export --format onnx (a newer bcm writes it)");
        string weights = Text("weights_file");
        if (!weights.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase) || weights.IndexOfAny(['/', '\\']) >= 0 || weights.Contains(".."))
            throw new InferenceException($"{path}: weights_file '{weights}' is not an ONNX model beside config.json; this folder is not an ONNX export (bcm export --format onnx)");
        string kind = Text("model_kind");
        if (!Kinds.Contains(kind)) throw new InferenceException($"{path}: model_kind '{kind}' is not one of {string.Join(", ", Kinds)}");
        if (!root.TryGetProperty("sample_shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array) throw Missing("sample_shape");
        var shape = shapeElement.EnumerateArray().Select(e => e.TryGetInt32(out int v) && v is > 0 and <= 4096 ? v : throw new InferenceException($"{path}: sample_shape holds '{e}', not a size in 1..4096")).ToArray();
        if (shape.Length is < 1 or > 3 || shape.Aggregate(1L, (a, b) => a * b) > 1 << 24)
            throw new InferenceException($"{path}: sample_shape [{string.Join(", ", shape)}] is not a sample the package runs ([D] or [C, H, W], at most 16,777,216 values)");
        int Int(string name, int max) => root.TryGetProperty(name, out var v) && v.TryGetInt32(out int i) && i >= 0 && i <= max ? i : throw Missing(name);
        int classes = Int("num_classes", 1 << 20);
        if (Int("condition_channels", 4096) > 0)
            throw new InferenceException($"{path}: this export is a task-specific restorer (its network takes a condition image); the inference package runs generative models only");
        if (!root.TryGetProperty("scalings", out var s) || s.ValueKind != JsonValueKind.Object) throw Missing("scalings");
        double Sigma(string name) => s.TryGetProperty(name, out var v) && v.TryGetDouble(out double d) && double.IsFinite(d) && d > 0 ? d : throw Missing("scalings." + name);
        double sigmaData = Sigma("sigma_data"), sigmaMin = Sigma("sigma_min"), sigmaMax = Sigma("sigma_max");
        if (sigmaMin >= sigmaMax) throw new InferenceException($"{path}: sigma_min {sigmaMin} is not below sigma_max {sigmaMax}");
        string[]? names = null;
        if (root.TryGetProperty("class_names", out var n) && n.ValueKind == JsonValueKind.Array)
        {
            names = n.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.String ? e.GetString()! : throw new InferenceException($"{path}: class_names holds '{e}', not a name")).ToArray();
            if (names.Length != classes) throw new InferenceException($"{path}: {names.Length} class_names for num_classes {classes}");
        }
        return new ExportConfig(path, System.IO.Path.Combine(folder, weights), kind, shape, classes, sigmaData, sigmaMin, sigmaMax) { ClassNames = names };
    }
}

/// <summary>Bad input to the inference package: a file, option, plan or image the user can fix; the message says what and where.</summary>
public sealed class InferenceException(string message, Exception? inner = null) : BadInputException(message, inner);
