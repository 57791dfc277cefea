using System.Text.Json;
using System.Text.Json.Nodes;
using Bcm.IO;
using Bcm.Plans;

namespace Bcm.Onnx;

/// <summary>
/// <c>bcm export --format web DIR</c>: a static folder that generates, inverts and interpolates in the browser, with
/// ONNX Runtime Web (WebAssembly): the ONNX export (model.onnx, config.json, the model card), <c>index.html</c> and its
/// scripts, ONNX Runtime Web's files as installed from npm when bcm was built, and <c>plans.json</c>: the plans the page
/// offers, resolved here by the library (so their text form and validation are not written again in JavaScript).
/// </summary>
public static class WebExport
{
    /// <summary>Where the page and ONNX Runtime Web's files are in the build output.</summary>
    public static string AssetsFolder => Path.Combine(AppContext.BaseDirectory, "web");

    /// <summary>The files of the page, and of ONNX Runtime Web under <c>ort/</c>.</summary>
    public static readonly string[] PageFiles = ["index.html", "bcm.js", "page.js"];

    /// <summary>ONNX Runtime Web's files the page loads (its WebAssembly build, SIMD and threads) and its package.json (version, licence).</summary>
    public static readonly string[] RuntimeFiles = ["ort.wasm.min.js", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm", "package.json"];

    /// <summary>What was written.</summary>
    /// <param name="Folder">The export folder.</param>
    /// <param name="Onnx">The ONNX export inside it.</param>
    /// <param name="Bytes">The folder's size.</param>
    public sealed record Result(string Folder, Training.ModelExport.Result Onnx, long Bytes);

    /// <summary>Writes the web export of <paramref name="checkpoint"/> into <paramref name="folder"/> (new or empty, or replaced with <paramref name="overwrite"/>).</summary>
    /// <exception cref="Errors.BadInputException">The folder holds other files, the checkpoint cannot be exported, or this build has no ONNX Runtime Web.</exception>
    public static Result Export(string checkpoint, string folder, bool ema = true, string? preset = null, bool overwrite = false)
    {
        string assets = AssetsFolder;
        var missing = PageFiles.Select(f => Path.Combine(assets, f)).Concat(RuntimeFiles.Select(f => Path.Combine(assets, "ort", f))).Where(f => !File.Exists(f)).ToList();
        if (missing.Count > 0)
            throw new Errors.BadInputException($"this build of bcm has no {(missing.Any(m => m.Contains("ort")) ? "ONNX Runtime Web" : "web page")} ({missing[0]} is missing): " +
                                               "it is installed from npm (onnxruntime-web, pinned in src/Bcm.Onnx/web/package-lock.json) when bcm is built; run `npm ci` in src/Bcm.Onnx/web and build again");
        if (File.Exists(folder)) throw new Errors.BadInputException($"{folder}: a file; a web export is a folder (give a folder name)");
        if (Directory.Exists(folder) && Directory.EnumerateFileSystemEntries(folder).Any() && !overwrite)
            throw new Errors.BadInputException($"{folder}: the folder is not empty; give a new folder, or --force to replace the export in it");
        var onnx = OnnxExport.Export(checkpoint, Path.Combine(folder, "model.onnx"), ema, preset, overwrite);
        using (var config = JsonDocument.Parse(File.ReadAllText(onnx.Config)))
            AtomicFile.WriteAllText(Path.Combine(folder, "plans.json"), Plans(config.RootElement.GetProperty("model_kind").GetString()!));
        foreach (var f in PageFiles) CopyAtomically(Path.Combine(assets, f), Path.Combine(folder, f));
        Directory.CreateDirectory(Path.Combine(folder, "ort"));
        foreach (var f in RuntimeFiles) CopyAtomically(Path.Combine(assets, "ort", f), Path.Combine(folder, "ort", f));
        long bytes = Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
        return new Result(Path.GetFullPath(folder), onnx, bytes);
    }

    /// <summary>
    /// The plans the page offers for a model of <paramref name="kind"/>, resolved: for each name its NFE and the steps the
    /// page's engine runs; which generate, which invert, and the generation that regenerates each inversion's latents.
    /// A BCM generates in 1-4 steps and inverts in 1, 2 or 4; a consistency model generates only; an EDM denoiser
    /// generates and inverts with the ODE solvers.
    /// </summary>
    public static string Plans(string kind)
    {
        var (generate, invert) = kind switch
        {
            "bcm" => (new[] { "onestep", "ancestral2", "zigzag3", "mixed4", "ancestral:4" }, new[] { "invert1", "invert2", "invert4" }),
            "consistency-model" => (["onestep", "cm-multistep", "cm:4"], []),
            _ => (["heun:5", "heun:10", "euler:10", "dpmpp2m:5", "dpmpp2m:10"], new[] { "heun-invert:5", "dpmpp2m-invert:10" }),
        };
        var regenerate = invert.ToDictionary(i => i, i => i.StartsWith("heun", StringComparison.Ordinal) ? "heun:5" : i.StartsWith("dpmpp2m", StringComparison.Ordinal) ? "dpmpp2m:10" : "onestep");
        var plans = new JsonObject();
        foreach (var name in generate.Concat(invert))
        {
            var plan = PlanPresets.Resolve(name);
            var node = JsonNode.Parse(plan.ToJson())!.AsObject();
            node["text"] = plan.ToString();
            node["nfe"] = plan.Nfe;
            plans[name] = node;
        }
        var root = new JsonObject
        {
            ["generate"] = new JsonArray(generate.Select(g => (JsonNode)g!).ToArray()),
            ["invert"] = new JsonArray(invert.Select(g => (JsonNode)g!).ToArray()),
            ["regenerate"] = new JsonObject(regenerate.Select(r => KeyValuePair.Create(r.Key, (JsonNode?)r.Value))),
            ["plans"] = plans,
        };
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
    }

    private static void CopyAtomically(string from, string to)
    {
        string temp = to + $".{Environment.ProcessId}.tmp";
        File.Copy(from, temp, overwrite: true);
        File.Move(temp, to, overwrite: true);
    }
}
