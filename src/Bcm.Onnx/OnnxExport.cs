using Bcm.IO;
using Bcm.Networks;
using Google.Protobuf;

namespace Bcm.Onnx;

/// <summary>
/// Writes a network F_θ as an ONNX model (opset 17, dynamic batch) from its own definition (<see cref="IBcmNetwork.WriteGraph"/>):
/// inputs <c>x_in</c> (the sample already scaled by c_in(t)), <c>c_noise_t</c> and <c>c_noise_u</c> ([batch] float32)
/// and, for a class-conditional network, <c>y</c> ([batch] int64); output <c>F</c>.
/// </summary>
/// <remarks>
/// The BCM scalings stay outside the graph, in C#: the one plan engine and every application run a
/// <see cref="Model.BcmModel"/> around any <see cref="IBcmNetwork"/>, so an ONNX Runtime network (<see cref="OnnxNetwork"/>)
/// takes the place of the libtorch one without a line of the engine changing, and the scalings are computed in
/// float64 in one place for both engines. For use elsewhere, f(x, t, u) = c_skip·x + c_out·F(c_in·x, c_noise(t),
/// c_noise(u), y) is four lines; the formulas are in the model's metadata and in the export's config.json.
/// </remarks>
public static class OnnxExport
{
    /// <summary>The names of the graph's inputs and output.</summary>
    public const string X = "x_in", CNoiseT = "c_noise_t", CNoiseU = "c_noise_u", Labels = "y", Output = "F";

    /// <summary>The ONNX model of <paramref name="network"/> as bytes, with <paramref name="metadata"/> in its metadata_props.</summary>
    public static byte[] Build(IBcmNetwork network, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var g = new OnnxGraphWriter();
        g.Input(X, network.SampleShape);
        g.Input(CNoiseT, []);
        g.Input(CNoiseU, []);
        if (network.NumClasses > 0) g.Input(Labels, [], int64: true);
        string output;
        using (TorchSharp.torch.no_grad())
            output = network.WriteGraph(g, X, CNoiseT, CNoiseU, network.NumClasses > 0 ? Labels : null);
        g.Output(output, Output, network.SampleShape);
        var meta = new Dictionary<string, string>
        {
            ["bcm_network"] = System.Text.Json.JsonSerializer.Serialize(network.Config, JsonFormat.Lines),
            ["f"] = "f(x, t, u) = c_skip(t, u) * x + c_out(t, u) * F(c_in(t) * x, c_noise(t), c_noise(u), y)",
            ["c_in"] = "1 / sqrt(t^2 + sigma_data^2)",
            ["c_skip"] = "(t * u + sigma_data^2) / (t^2 + sigma_data^2)",
            ["c_out"] = "sigma_data * (t - u) / sqrt(t^2 + sigma_data^2)",
            ["c_noise"] = "250 * ln(s + 1e-44)",
        };
        foreach (var (k, v) in metadata ?? new Dictionary<string, string>()) meta[k] = v;
        return g.Model(meta).ToByteArray();
    }

    /// <summary>Writes the ONNX model of <paramref name="network"/> to <paramref name="path"/>, atomically.</summary>
    public static void Write(IBcmNetwork network, string path, IReadOnlyDictionary<string, string>? metadata = null) =>
        AtomicFile.WriteAllBytes(path, Build(network, metadata));

    /// <summary>
    /// <c>bcm export --format onnx</c>: the model of <paramref name="checkpoint"/> (a run folder, a bcm checkpoint or an
    /// official state_dict) as <paramref name="path"/> (<c>.onnx</c>), with config.json and a model card beside it, each
    /// written atomically; the same rules as <see cref="Training.ModelExport.Write"/> for what may be replaced.
    /// </summary>
    public static Training.ModelExport.Result Export(string checkpoint, string path, bool ema = true, string? preset = null, bool overwrite = false)
    {
        if (!path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
            throw new ArgumentException($"{path}: an ONNX export is written as .onnx; give a file name ending in .onnx");
        var (configPath, cardPath) = Training.ModelExport.CheckDestinations(checkpoint, path, overwrite);
        using var loaded = Training.ModelLoader.Load(checkpoint, preset, useEma: ema);
        string weights = loaded.Options is null ? "as loaded" : ema ? "ema" : "online";
        var metadata = new Dictionary<string, string>
        {
            ["sigma_data"] = Number(loaded.Model.SigmaData), ["sigma_min"] = Number(loaded.Model.SigmaMin), ["sigma_max"] = Number(loaded.Model.SigmaMax),
            ["weights"] = weights, ["source"] = Path.GetFileName(loaded.Source),
        };
        if (loaded.Step is long step) metadata["step"] = step.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        Write(loaded.Model.Network, path, metadata);
        long parameters = loaded.Model.Network.Module.parameters().Sum(p => p.numel());
        AtomicFile.WriteAllText(configPath, Training.ModelCard.Config(loaded, weights, Path.GetFileName(path)));
        AtomicFile.WriteAllText(cardPath, Training.ModelCard.Card(loaded, weights, parameters, Path.GetFileName(path)));
        return new Training.ModelExport.Result(path, 0, parameters, weights, loaded.Source, configPath, cardPath);
    }

    private static string Number(double v) => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
}
