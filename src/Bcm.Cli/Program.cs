using System.CommandLine;
using System.CommandLine.Help;
using Bcm.Cli;
using Bcm.Distributed;

// A plain command named bcm as the root, so that usage lines say `bcm` however the program is started (dotnet Bcm.Cli.dll, ./bcm, the .NET tool).
var root = new Command("bcm", "bcm: Bidirectional Consistency Models (Li & He, 2024). One network jumps along the probability-flow ODE in " +
                           "either direction: train it, generate in one or a few steps, invert images to noise, inspect checkpoints.")
{
    TrainCommand.Create(),
    SampleCommand.Create(),
    InvertCommand.Create(),
    InterpolateCommand.Create(),
    EditCommands.Inpaint(),
    EditCommands.Degrade(),
    EditCommands.Restore(),
    EditCommands.Edit(),
    EditCommands.SuperRes(),
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
    new HelpOption(),
    new VersionOption(),
};
ShowDefaultsOnce(root);
var parsed = root.Parse(args);
if (parsed.Errors.Count > 0)
{
    // Bad arguments are bad input: exit code 2, as for every other error of that kind (System.CommandLine would give 1).
    foreach (var error in parsed.Errors) Console.Error.WriteLine($"bcm: error: {error.Message}");
    Console.Error.WriteLine($"(see: bcm {(parsed.CommandResult.Command == root ? "" : parsed.CommandResult.Command.Name + " ")}--help)");
    return 2;
}
// Under mpirun only the commands that split their work over the ranks may run; the others would write the same files N times.
string command = parsed.CommandResult.Command.Name;
if (World.LaunchedSize > 1 && !Common.Distributed.Contains(command) && parsed.Errors.Count == 0 && command != root.Name)
{
    if (Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_RANK") is "0")
        Console.Error.WriteLine($"bcm: error: bcm {command} does not run under mpirun (only {string.Join(" and ", Common.Distributed)} do): run it as one process");
    return 2;
}
if (command != root.Name) NativeWarnings.Quiet();
int code = parsed.Invoke();
World.Shutdown();
return code;

// An option with a default value gets "[default: X]" from System.CommandLine: its description does not repeat it.
static void ShowDefaultsOnce(Command command)
{
    foreach (var option in command.Options.Where(o => o.HasDefaultValue && o.Description is not null))
        option.Description = System.Text.RegularExpressions.Regex.Replace(option.Description!, @"\s*\(default [^()]*\)", "");
    foreach (var sub in command.Subcommands) ShowDefaultsOnce(sub);
}
