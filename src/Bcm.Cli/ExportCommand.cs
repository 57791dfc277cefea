using System.CommandLine;
using Bcm.Training;

namespace Bcm.Cli;

/// <summary><c>bcm export</c>: a model as a bare state_dict with the official key names, for PyTorch users.</summary>
internal static class ExportCommand
{
    public static Command Create()
    {
        var source = new Argument<string>("checkpoint") { Description = "A run folder (its newest checkpoint), a bcm checkpoint, or an official state_dict (.pt converts to .safetensors)" };
        var output = new Option<string?>("--out", "-o") { Description = "The .safetensors file to write; config.json and a model card (README.md) go beside it (default export/model.safetensors)" };
        var format = new Option<string>("--format")
        {
            Description = "safetensors (the official key names, for PyTorch) or onnx (the network F as an ONNX graph, opset 17, dynamic batch, for ONNX Runtime)",
            DefaultValueFactory = _ => "safetensors",
        };
        format.AcceptOnlyFromAmong("safetensors", "onnx");
        var force = new Option<bool>("--force") { Description = "Replace an existing file at --out (never the checkpoint being exported, never a file in a run's checkpoints/)" };
        var cmd = new Command("export", "Write a model as a bare state_dict in safetensors: the official key names, float32, and the official UNetModel's " +
                                        "arguments in the metadata, so PyTorch builds the model from them and loads it with load_state_dict (see the README). " +
                                        "bcm loads the file back like any official checkpoint.")
        {
            source, output, format, force, Common.Weights, Common.Preset,
        };
        cmd.SetAction(parse => Common.Guard(() =>
        {
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
