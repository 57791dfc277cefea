using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;

namespace Bcm.Cli;

/// <summary>One or two examples at the end of every command's --help.</summary>
internal static class Examples
{
    private static readonly Dictionary<string, string[]> ByCommand = new()
    {
        ["bcm"] = ["bcm train                                   # the main job: a BCM of the built-in digits (about 6 min)", "bcm sample -c runs/digits --plan zigzag3"],
        ["train"] = ["bcm train --preset mnist --out runs/mnist --steps 5000", "bcm train --out runs/mnist --steps 8000           # resume the run with a new total"],
        ["sample"] = ["bcm sample -c runs/digits -n 64 --plan ancestral2", "bcm sample -c runs/mnist --seeds 0-49999 --npz mnist-50k.npz   # the ADM evaluator's layout; --out DIR instead: one PNG per seed"],
        ["invert"] = ["bcm invert digit.png -c runs/digits --plan invert2", "bcm invert --data mnist@test -n 32 -c runs/mnist --out roundtrip"],
        ["interpolate"] = ["bcm interpolate a.png b.png -c runs/mnist -n 9", "bcm interpolate --seeds 1 2 -c runs/mnist"],
        ["inpaint"] = ["bcm inpaint photo.png --box 4,4,8,8 -c runs/mnist", "bcm inpaint --data mnist@test -n 200 -c runs/mnist --classifier classifiers/mnist-16.safetensors"],
        ["degrade"] = ["bcm degrade clean.png -q 15", "bcm degrade clean.png --downsample 2"],
        ["restore"] = ["bcm restore degraded.png -c runs/mnist --clean clean.png", "bcm restore --data mnist@test -n 500 -q 10,15,20 -c runs/mnist"],
        ["edit"] = ["bcm edit painted.png -c runs/mnist --levels 5"],
        ["superres"] = ["bcm superres small.png --factor 2 -c runs/mnist --clean clean.png"],
        ["purify"] = ["bcm purify adversarial.png -c runs/mnist --method bcm1 --sigma 0.5", "bcm purify --data mnist@test -n 500 -c runs/mnist --classifier classifiers/mnist-16.safetensors"],
        ["studio"] = ["bcm studio -c runs/digits                   # then open http://127.0.0.1:8080/"],
        ["content"] = ["bcm content -c runs/mnist --data mnist@test --pairs 50"],
        ["cost"] = ["bcm cost runs/mnist runs/mnist-edm runs/mnist-ict -b 256"],
        ["info"] = ["bcm info runs/digits", "bcm info model.pt"],
        ["export"] = ["bcm export runs/digits -o digits/model.safetensors", "bcm export runs/digits --format web -o digits-web   # --format onnx -o DIR/model.onnx: the ONNX export alone"],
        ["plot"] = ["bcm plot runs/digits"],
        ["bench"] = ["bcm bench --presets digits mnist -b 16,64 --thread-counts 1,2", "bcm bench --config runs/mnist -b 256 --onnx    # libtorch against ONNX Runtime"],
        ["eval"] = ["bcm eval -c runs/mixture2d --baseline runs/mixture2d-edm", "bcm eval -c runs/mnist --data mnist --classifier classifiers/mnist-16.safetensors"],
        ["classifier"] = ["bcm classifier --data mnist --size 16 -o classifiers/mnist-16.safetensors"],
    };

    /// <summary>The examples of <paramref name="command"/> (its name as typed), or none.</summary>
    public static IReadOnlyList<string> For(string command) => ByCommand.GetValueOrDefault(command) ?? [];

    /// <summary>The commands that have examples (a test checks every command is among them).</summary>
    public static IEnumerable<string> Commands => ByCommand.Keys;

    /// <summary>Makes the help option print the command's examples after System.CommandLine's help.</summary>
    public static void AddTo(HelpOption help)
    {
        if (help.Action is HelpAction inner) help.Action = new WithExamples(inner);
    }

    /// <summary>True when the command line asks for help (which is answered whatever else is missing from it).</summary>
    public static bool IsHelp(ParseResult parse) => parse.Action is WithExamples;

    private sealed class WithExamples(HelpAction inner) : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parse)
        {
            int code = inner.Invoke(parse);
            var examples = For(parse.CommandResult.Command.Name);
            if (examples.Count > 0)
            {
                Console.Out.WriteLine("Examples:");
                foreach (var e in examples) Console.Out.WriteLine("  " + e);
                Console.Out.WriteLine();
            }
            return code;
        }
    }
}
