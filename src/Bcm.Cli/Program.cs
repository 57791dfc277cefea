using System.CommandLine;
using Bcm.Cli;
using Bcm.Distributed;

var root = CommandTree.Create();
var parsed = root.Parse(args);
if (parsed.Errors.Count > 0 && !Examples.IsHelp(parsed)) // --help answers even where the command line is incomplete (bcm export --help)
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
