using System.CommandLine;
using Bcm.Training;

namespace Bcm.Cli;

/// <summary><c>bcm info</c>: what a checkpoint holds.</summary>
internal static class InfoCommand
{
    public static Command Create()
    {
        var path = new Argument<string>("checkpoint") { Description = "A checkpoint (.safetensors or .pt) or a run folder" };
        var cmd = new Command("info", "Show what a checkpoint holds: kind, step, architecture, options, tensors and parameter count.") { path, Common.Preset };
        cmd.SetAction(parse => Common.Guard(() =>
        {
            foreach (var line in CheckpointInfo.Read(parse.GetValue(path)!).Describe()) Console.WriteLine(line);
            return 0;
        }));
        return cmd;
    }
}
