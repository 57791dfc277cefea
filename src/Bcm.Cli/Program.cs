using System.CommandLine;
using Bcm.Cli;

var root = new RootCommand("bcm: Bidirectional Consistency Models (Li & He, 2024). One network jumps along the probability-flow ODE in " +
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
    InfoCommand.Create(),
    BenchCommand.Create(),
    EvalCommand.Create(),
    ClassifierCommand.Create(),
};
return root.Parse(args).Invoke();
