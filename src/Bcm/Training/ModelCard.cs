using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Bcm.Networks;

namespace Bcm.Training;

/// <summary>
/// What an export writes beside its weights, in the layout of model hubs: <c>config.json</c> (the official
/// <c>UNetModel</c>'s constructor arguments as JSON values, bcm's own network configuration, and the BCM scalings with
/// their formulas) and <c>README.md</c>, a model card (architecture, data, training budget, the measurements the run
/// has, intended use, licence, and how to load it in PyTorch).
/// </summary>
public static class ModelCard
{
    /// <summary>The config.json of an export (the values of <see cref="ModelExport"/>'s metadata, as JSON).</summary>
    public static string Config(ModelLoader.Loaded loaded, string weights, string weightsFile = "model.safetensors")
    {
        bool onnx = weightsFile.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase);
        var config = new JsonObject
        {
            ["format"] = ModelExport.Format,
            ["weights_file"] = weightsFile,
            ["architecture"] = loaded.Config is UNetConfig ? "UNetModel (cm/unet_bcf.py of the official BCM code)" : "bcm residual MLP (no official counterpart)",
        };
        if (loaded.Config is UNetConfig u)
            config["unet_args"] = new JsonObject
            {
                ["image_size"] = u.ImageSize, ["in_channels"] = u.InputChannels, ["model_channels"] = u.ModelChannels, ["out_channels"] = u.OutChannels,
                ["num_res_blocks"] = u.NumResBlocks, ["attention_resolutions"] = new JsonArray(u.AttentionResolutions.Select(v => (JsonNode)v).ToArray()),
                ["dropout"] = u.Dropout, ["channel_mult"] = new JsonArray(u.ChannelMult.Select(v => (JsonNode)v).ToArray()),
                ["num_classes"] = u.NumClasses == 0 ? null : u.NumClasses, ["num_head_channels"] = u.NumHeadChannels,
                ["use_scale_shift_norm"] = false, ["resblock_updown"] = u.ResBlockUpDown, ["use_fp16"] = false, ["dropout_highres"] = u.DropoutHighRes,
            };
        config["bcm_network"] = JsonNode.Parse(JsonSerializer.Serialize(loaded.Config, IO.JsonFormat.Lines));
        // What a program without the network's definition needs to run the export (the inference package reads these).
        config["model_kind"] = loaded.Kind.Name();
        config["sample_shape"] = new JsonArray(loaded.Config.SampleShape.Select(v => (JsonNode)v).ToArray());
        config["num_classes"] = loaded.Config.NumClasses;
        if (loaded.Options?.ClassNames is { } names) config["class_names"] = new JsonArray(names.Select(n => (JsonNode)n!).ToArray());
        config["condition_channels"] = loaded.Config.ConditionChannelCount;
        config["scalings"] = new JsonObject
        {
            ["sigma_data"] = loaded.Model.SigmaData, ["sigma_min"] = loaded.Model.SigmaMin, ["sigma_max"] = loaded.Model.SigmaMax,
            ["f"] = "f(x, t, u) = c_skip(t, u) * x + c_out(t, u) * F(c_in(t) * x, c_noise(t), c_noise(u), y)",
            ["c_in"] = "1 / sqrt(t^2 + sigma_data^2)",
            ["c_skip"] = "(t * u + sigma_data^2) / (t^2 + sigma_data^2)",
            ["c_out"] = "sigma_data * (t - u) / sqrt(t^2 + sigma_data^2)",
            ["c_noise"] = "250 * ln(s + 1e-44)",
            ["one_step_generation"] = "x = f(sigma_max * z, sigma_max, sigma_min), z ~ N(0, I)",
        };
        if (onnx)
            config["onnx"] = new JsonObject
            {
                ["opset"] = 17,
                ["inputs"] = "x_in [batch, ...sample shape] = c_in(t) * x; c_noise_t [batch] = c_noise(t); c_noise_u [batch] = c_noise(u); y [batch] int64 class labels (conditional models only)",
                ["output"] = "F [batch, ...sample shape]: the network; f = c_skip * x + c_out * F",
            };
        config["weights"] = weights;
        config["source"] = Path.GetFileName(loaded.Source);
        if (loaded.Step is long step) config["step"] = step;
        return config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }

    /// <summary>The model card of an export: what is known of the model from its checkpoint and its run folder.</summary>
    /// <param name="loaded">The model exported.</param>
    /// <param name="weights">Which weights (ema, online, as loaded).</param>
    /// <param name="parameters">Its parameter count.</param>
    /// <param name="weightsFile">The file written: <c>model.safetensors</c>, or an ONNX graph (<c>.onnx</c>), whose card describes the graph instead of the state_dict.</param>
    public static string Card(ModelLoader.Loaded loaded, string weights, long parameters, string weightsFile = "model.safetensors")
    {
        var o = loaded.Options;
        string? run = RunOf(loaded.Source);
        var md = new StringBuilder();
        md.AppendLine($"# {(o is null ? Path.GetFileNameWithoutExtension(loaded.Source) : $"{o.Preset} ({loaded.Kind.Describe()})")}: a model exported by bcm\n");
        bool restorer = loaded.Config.ConditionChannelCount > 0;
        md.AppendLine(loaded.Kind != ModelKind.Denoiser
            ? "A Bidirectional Consistency Model (Li & He, 2024, arXiv 2403.18035): one network f(x, t, u) that jumps along the " +
              "probability-flow ODE of a diffusion model from noise level t to u in either direction: one-step generation " +
              "(t = 80 → u = 0.002), one-step inversion (u > t), and few-step samplers.\n"
            : restorer
                ? "A task-specific JPEG restorer trained by bcm as a baseline (`--objective palette`, Palette-style): an EDM denoiser " +
                  "whose input is the noisy image with the JPEG image concatenated to it; it restores by solving the ODE from noise " +
                  "given the JPEG image (`bcm restore --nfe … --restorer`).\n"
                : "An EDM diffusion denoiser trained by bcm as a baseline (`--objective edm`): the network ignores u; sample it with " +
                  "an ODE solver (`bcm sample --plan heun:K`), or fine-tune a BCM from it (`bcm train --init-from`).\n");
        md.AppendLine("## Architecture\n");
        md.AppendLine(loaded.Config switch
        {
            UNetConfig u => $"The ADM UNet of the official BCM code (`UNetModel` in `cm/unet_bcf.py`): {u.ImageSize}×{u.ImageSize}×{u.InChannels} images, " +
                            $"{u.ModelChannels} channels × ({string.Join(", ", u.ChannelMult)}), {u.NumResBlocks} residual blocks a level, attention at " +
                            $"downsampling factors ({string.Join(", ", u.AttentionResolutions)}), {(u.ConditionChannels > 0 ? $"conditioned on a {u.ConditionChannels}-channel image concatenated to its input" : u.NumClasses == 0 ? "unconditional" : $"{u.NumClasses} classes")}; " +
                            $"{parameters:N0} parameters. The constructor's arguments are in `config.json` (`unet_args`) and in the weights' metadata.",
            MlpConfig m => $"bcm's residual MLP for vectors: dimension {m.Dim}, {m.Blocks} blocks of {m.Hidden}; {parameters:N0} parameters.",
            _ => $"{parameters:N0} parameters.",
        });
        md.AppendLine($"\nWeights: the {weights} weights of `{Path.GetFileName(loaded.Source)}`{(loaded.Step is long s ? $" (training step {s:N0})" : "")}, float32, official key names.\n");
        if (o is not null)
        {
            md.AppendLine("## Data and training budget\n");
            md.AppendLine($"- data: `{o.Data}`{(o.DataLimit > 0 ? $" (first {o.DataLimit:N0} images)" : "")}");
            md.AppendLine($"- objective: {loaded.Kind.Describe()}{(o.InitFrom is null ? "" : $", started from `{Path.GetFileName(o.InitFrom)}`")}");
            md.AppendLine($"- {o.Steps:N0} steps planned at batch {o.BatchSize} ({(double)o.Steps * o.BatchSize:N0} images), RAdam at learning rate {o.LearningRate.ToString("G", CultureInfo.InvariantCulture)}, " +
                          $"EMA half-life {o.EmaHalfLifeImages:N0} images, seed {o.Seed}");
            if (run is not null && TrainingSeconds(run) is double seconds)
                md.AppendLine($"- training time recorded in the run's stats: {seconds / 3600:F2} h on the machine it ran on");
            if (o.RunId is not null) md.AppendLine($"- run id: `{o.RunId}`");
        }
        md.AppendLine("\n## Measurements\n");
        md.AppendLine(run is not null && Measured(run) is string measured ? measured
            : "The run has no measurements (`bcm train` writes report/report.json for image models; `bcm eval` measures any model).\n");
        md.AppendLine("## Intended use\n");
        md.AppendLine("Research on consistency and diffusion models: generation in one or a few steps, inversion of images to noise, and the " +
                      "editing that needs both (interpolation, inpainting, blind restoration). It is as good as its training budget and " +
                      "data: check the measurements above before relying on it, and do not use it to make images of real people.\n");
        md.AppendLine("## Loading it\n");
        md.AppendLine(weightsFile.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase) ? OnnxUse(loaded, weightsFile)
            : loaded.Config is UNetConfig
            ? "In bcm: `bcm sample -c model.safetensors`. In PyTorch, with the official code (Mosasaur5526/BCM-iCT-torch, `cm/unet_bcf.py`) " +
              "and the `safetensors` package:\n\n```python\nimport json\nfrom safetensors.torch import load_file\nfrom cm.unet_bcf import UNetModel\n\n" +
              "config = json.load(open(\"config.json\"))\nmodel = UNetModel(**config[\"unet_args\"])\n" +
              "model.load_state_dict(load_file(\"model.safetensors\"), strict=True)\n```\n\n" +
              "`config.json` gives the scalings that turn the network F into the BCM f (`scalings`), and one-step generation.\n"
            : "In bcm: `bcm sample -c model.safetensors` (the MLP has no PyTorch counterpart; `config.json` describes it).\n");
        md.AppendLine("## Licence\n");
        md.AppendLine("bcm is MIT-licensed; the weights are the trainer's, and the licence of the data they were trained on applies to them.");
        return md.ToString();
    }

    // How to run an ONNX export: the graph's inputs and output, the scalings outside it, one-step generation in C#,
    // JavaScript and Python.
    private static string OnnxUse(ModelLoader.Loaded loaded, string file)
    {
        var shape = loaded.Config.SampleShape;
        string dims = string.Join(", ", shape);
        bool conditional = loaded.Config.NumClasses > 0;
        var md = new StringBuilder();
        md.AppendLine($"`{file}` is the network F as an ONNX graph (opset 17, dynamic batch), written from bcm's own definition of it. Its inputs:\n");
        md.AppendLine($"- `x_in` float32 [batch, {dims}]: the sample x at noise level t, times c_in(t) = 1/sqrt(t² + σ_d²);");
        md.AppendLine("- `c_noise_t`, `c_noise_u` float32 [batch]: c_noise(t) and c_noise(u), c_noise(s) = 250·ln(s + 1e-44);");
        if (conditional) md.AppendLine($"- `y` int64 [batch]: class labels in 0..{loaded.Config.NumClasses - 1};");
        md.AppendLine($"\nand its output `F` float32 [batch, {dims}]. The BCM scalings stay outside the graph: the jump from t to u is " +
                      "f(x, t, u) = c_skip(t, u)·x + c_out(t, u)·F with c_skip = (t·u + σ_d²)/(t² + σ_d²) and c_out = σ_d·(t − u)/sqrt(t² + σ_d²), " +
                      $"σ_d = {loaded.Model.SigmaData.ToString(CultureInfo.InvariantCulture)} (`config.json`, `scalings`). One-step generation is " +
                      $"x = f(T·z, T, ε) with z ~ N(0, I), T = {loaded.Model.SigmaMax.ToString(CultureInfo.InvariantCulture)}, ε = {loaded.Model.SigmaMin.ToString(CultureInfo.InvariantCulture)}" +
                      (loaded.Kind == ModelKind.Bcm ? "; one-step inversion is f(x + 0.07·z, 0.07, T) (`invert1`).\n" : ".\n"));
        md.AppendLine("In C#, with the `Bcm.Inference` package (ONNX Runtime, no libtorch; the same images for a seed as `bcm sample`):\n");
        md.AppendLine("```csharp\nusing Bcm.Inference;\n\nusing var model = InferenceModel.Open(\".\");   // this folder: model.onnx + config.json\n" +
                      "var samples = await model.SampleAsync(new SampleOptions(Count: 16, Plan: \"onestep\", Seed: 0));\n" +
                      (shape.Length == 3 ? "Png.WriteGrid(samples, \"samples.png\");\n" : "Npy.Write(samples, \"samples.npy\");\n") + "```\n");
        md.AppendLine("In JavaScript, with `onnxruntime-web` or `onnxruntime-node` (`bcm export --format web` writes a page that does this, and more):\n");
        md.AppendLine("```js\nconst session = await ort.InferenceSession.create('model.onnx');\n" +
                      "const n = 16, size = " + shape.Aggregate(1L, (a, b) => a * b) + ", sd = 0.5, t = 80, u = 0.002;\n" +
                      "const z = Float32Array.from({ length: n * size }, randomNormal);   // your N(0, 1) draws\n" +
                      "const cIn = 1 / Math.sqrt(t * t + sd * sd), cSkip = (t * u + sd * sd) / (t * t + sd * sd), cOut = sd * (t - u) / Math.sqrt(t * t + sd * sd);\n" +
                      "const cNoise = (s) => new ort.Tensor('float32', new Float32Array(n).fill(250 * Math.log(s)), [n]);\n" +
                      $"const feeds = {{ x_in: new ort.Tensor('float32', z.map((v) => t * v * cIn), [n, {dims}]), c_noise_t: cNoise(t), c_noise_u: cNoise(u){(conditional ? ", y: new ort.Tensor('int64', new BigInt64Array(n), [n])" : "")} }};\n" +
                      "const F = (await session.run(feeds)).F.data;\n" +
                      "const x = z.map((v, i) => cSkip * t * v + cOut * F[i]);                  // samples in [-1, 1]\n```\n");
        md.AppendLine("In Python, with `onnxruntime` and NumPy (not run by bcm's tests: its machines reach no Python index):\n");
        md.AppendLine("```python\nimport numpy as np, onnxruntime as ort\n\nsession = ort.InferenceSession(\"model.onnx\")\n" +
                      $"n, sd, t, u = 16, 0.5, 80.0, 0.002\nz = np.random.default_rng(0).standard_normal((n, {dims})).astype(np.float32)\n" +
                      "c_in, c_skip = 1 / np.sqrt(t**2 + sd**2), (t * u + sd**2) / (t**2 + sd**2)\nc_out = sd * (t - u) / np.sqrt(t**2 + sd**2)\n" +
                      "c_noise = lambda s: np.full(n, 250 * np.log(s), np.float32)\n" +
                      $"F, = session.run(None, {{\"x_in\": (c_in * t * z).astype(np.float32), \"c_noise_t\": c_noise(t), \"c_noise_u\": c_noise(u){(conditional ? ", \"y\": np.zeros(n, np.int64)" : "")}}})\n" +
                      "x = c_skip * t * z + c_out * F                                # samples in [-1, 1]\n```\n");
        md.AppendLine("The noise of these two snippets is not libtorch's, so their images are not `bcm sample`'s for a seed; the package's and the page's are.");
        return md.ToString();
    }

    // The run folder a training checkpoint lives in (RUN/checkpoints/ckpt-….safetensors), or null.
    private static string? RunOf(string source)
    {
        var folder = Path.GetDirectoryName(Path.GetFullPath(source));
        return folder is not null && Path.GetFileName(folder) == "checkpoints" ? Path.GetDirectoryName(folder) : null;
    }

    // The elapsed seconds of the last line of stats.jsonl (each process's own clock; a resumed run's lines restart it,
    // so the sum over the stretches is taken).
    private static double? TrainingSeconds(string run)
    {
        string stats = Path.Combine(run, "stats.jsonl");
        if (!File.Exists(stats) || new FileInfo(stats).LinkTarget is not null) return null;
        try
        {
            IO.InputFile.RequireRegular(stats, "stats file");
            double total = 0, last = 0;
            foreach (var line in File.ReadLines(stats))
            {
                using var doc = JsonDocument.Parse(line);
                if (!doc.RootElement.TryGetProperty("elapsed_seconds", out var e) || !e.TryGetDouble(out double now)) continue;
                if (now < last) total += last; // a new process
                last = now;
            }
            return total + last;
        }
        catch (Exception e) when (e is JsonException or IOException or InvalidDataException)
        {
            return null;
        }
    }

    // The run report's numbers (report/report.json of bcm train), as Markdown lines.
    private static string? Measured(string run)
    {
        string path = Path.Combine(run, "report", "report.json");
        if (!File.Exists(path)) return null;
        try
        {
            using var doc = JsonDocument.Parse(IO.InputFile.ReadAllText(path, 1 << 20, "run report"));
            var r = doc.RootElement;
            double Number(string name) => r.GetProperty(name).GetDouble();
            return $"From the run's own report (`report/report.json`, at step {r.GetProperty("step")}): an inversion round trip " +
                   $"({r.GetProperty("invert_plan").GetString()}, then {r.GetProperty("generate_plan").GetString()}) of {r.GetProperty("images")} real images " +
                   $"has MSE {Number("round_trip_mse"):F4} (PSNR {Number("round_trip_psnr"):F2} dB; pixels on [0, 1]) against {Number("random_sample_mse"):F4} " +
                   "for unrelated samples. Sample grids at 1-4 NFE are in the run's report/ folder.\n";
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException or IOException or InvalidDataException)
        {
            return null;
        }
    }
}
