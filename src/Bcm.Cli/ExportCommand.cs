using System.CommandLine;
using Bcm.Training;

namespace Bcm.Cli;

/// <summary><c>bcm export</c>: a model as a bare state_dict with the official key names, for PyTorch users.</summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var source = new Argument<string>("checkpoint") { Description = "A run folder (its newest checkpoint), a bcm checkpoint, or an official state_dict (.pt converts to .safetensors)" };
        var output = new Option<string?>("--out", "-o") { Description = "The .safetensors (or .onnx) file to write, config.json and a model card (README.md) beside it (default export/model.safetensors, export/model.onnx); for --format web, the folder (default export-web)" };
        var format = new Option<string>("--format")
        {
            Description = "safetensors (the official key names, for PyTorch), onnx (the network F as an ONNX graph, opset 17, dynamic batch, for ONNX Runtime and the Bcm.Inference package), " +
                          "or web (a static folder: the ONNX export, a page that generates, inverts and interpolates in the browser, and ONNX Runtime Web; --out names the folder)",
            DefaultValueFactory = _ => "safetensors",
        };
        format.AcceptOnlyFromAmong("safetensors", "onnx", "web");
        var force = new Option<bool>("--force") { Description = "Replace an existing file at --out (never the checkpoint being exported, never a file in a run's checkpoints/)" };
        var cmd = new Command("export", "Write a model as a bare state_dict in safetensors: the official key names, float32, and the official UNetModel's " +
                                        "arguments in the metadata, so PyTorch builds the model from them and loads it with load_state_dict (see the README). " +
                                        "bcm loads the file back like any official checkpoint.")
        {
            source, output, format, force, Common.Weights, Common.Preset,
        };
        cmd.SetAction(parse => Common.Guard(() =>
        {
            if (parse.GetValue(format) == "web")
            {
                var w = Bcm.Onnx.WebExport.Export(parse.GetValue(source)!, parse.GetValue(output) ?? "export-web", parse.GetValue(Common.Weights) != "online", parse.GetValue(Common.Preset), parse.GetValue(force));
                Console.WriteLine($"web export of {w.Onnx.Parameters:N0} parameters ({w.Onnx.Weights} weights of {w.Onnx.Source}) → {w.Folder} ({w.Bytes / 1e6:F1} MB): " +
                                  "serve the folder with any static web server, e.g. `python3 -m http.server -d " + w.Folder + "`, and open index.html");
                return 0;
            }
            bool onnx = parse.GetValue(format) == "onnx";
            string path = parse.GetValue(output) ?? Path.Combine("export", onnx ? "model.onnx" : "model.safetensors");
            if (onnx)
            {
                var o = Bcm.Onnx.OnnxExport.Export(parse.GetValue(source)!, path, parse.GetValue(Common.Weights) != "online", parse.GetValue(Common.Preset), parse.GetValue(force));
                Console.WriteLine($"ONNX graph of {o.Parameters:N0} parameters ({o.Weights} weights of {o.Source}) → {Path.GetFullPath(o.Path)}, with config.json and README.md (a model card)");
                return 0;
            }
            var r = ModelExport.Write(parse.GetValue(source)!, path, parse.GetValue(Common.Weights) != "online", parse.GetValue(Common.Preset), parse.GetValue(force));
            Console.WriteLine($"{r.Tensors} tensors, {r.Parameters:N0} parameters ({r.Weights} weights of {r.Source}) → {Path.GetFullPath(r.Path)}, with config.json and README.md (a model card)");
            return 0;
        }));
        return cmd;
    }
}
