using System.CommandLine;
using Bcm.Cli;

var root = new RootCommand("bcm: Bidirectional Consistency Models (Li & He, 2024): train, sample, invert and inspect models.")
{
    TrainCommand.Create(),
};
return root.Parse(args).Invoke();
