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
        var force = new Option<bool>("--force") { Description = "Replace an existing file at --out (never the checkpoint being exported, never a file in a run's checkpoints/)" };
        var cmd = new Command("export", "Write a model as a bare state_dict in safetensors: the official key names, float32, and the official UNetModel's " +
                                        "arguments in the metadata, so PyTorch builds the model from them and loads it with load_state_dict (see the README). " +
                                        "bcm loads the file back like any official checkpoint.")
        {
            source, output, force, Common.Weights, Common.Preset,
        };
        cmd.SetAction(parse => Common.Guard(() =>
        {
            string path = parse.GetValue(output) ?? Path.Combine("export", "model.safetensors");
            var r = ModelExport.Write(parse.GetValue(source)!, path, parse.GetValue(Common.Weights) != "online", parse.GetValue(Common.Preset), parse.GetValue(force));
            Console.WriteLine($"{r.Tensors} tensors, {r.Parameters:N0} parameters ({r.Weights} weights of {r.Source}) → {Path.GetFullPath(r.Path)}, with config.json and README.md (a model card)");
            return 0;
        }));
        return cmd;
    }
}
