using System.CommandLine;
using System.CommandLine.Help;

namespace Bcm.Cli;

/// <summary>The <c>bcm</c> command and its subcommands, as Program runs them and the tests parse them.</summary>
internal static class CommandTree
{
    /// <summary>
    /// A plain command named bcm as the root, so that usage lines say <c>bcm</c> however the program is started (dotnet
    /// Bcm.Cli.dll, ./bcm, the .NET tool); --help ends with the command's examples.
    /// </summary>
    public static Command Create()
    {
        var root = new Command("bcm", "bcm: Bidirectional Consistency Models (Li & He, 2024). One network jumps along the probability-flow ODE in " +
                                   "either direction: train it, generate in one or a few steps, invert images to noise, inspect checkpoints.")
        {
            TrainCommand.Create(),
            SampleCommand.Create(),
            InvertCommand.Create(),
            InterpolateCommand.Create(),
            InpaintCommand.Create(),
            DegradeCommand.Create(),
            RestoreCommand.Create(),
            RoundsCommand.Edit(),
            SuperResCommand.Create(),
            PurifyCommand.Create(),
            StudioCommand.Create(),
            ContentCommand.Create(),
            CostCommand.Create(),
            InfoCommand.Create(),
            ExportCommand.Create(),
            PlotCommand.Create(),
            BenchCommand.Create(),
            EvalCommand.Create(),
            ClassifierCommand.Create(),
            new VersionOption(),
        };
        var help = new HelpOption();
        Examples.AddTo(help);
        root.Options.Add(help);
        ShowDefaultsOnce(root);
        return root;
    }

    // An option with a default value gets "[default: X]" from System.CommandLine: its description does not repeat it.
    private static void ShowDefaultsOnce(Command command)
    {
        foreach (var option in command.Options.Where(o => o.HasDefaultValue && o.Description is not null))
            option.Description = System.Text.RegularExpressions.Regex.Replace(option.Description!, @"\s*\(default [^()]*\)", "");
        foreach (var sub in command.Subcommands) ShowDefaultsOnce(sub);
    }
}
