using System.CommandLine;
using Bcm.Reports;
using Bcm.Training;
using static TorchSharp.torch;

namespace Bcm.Cli;

/// <summary><c>bcm bench</c>: throughput of one BCT training step and of one-step sampling per preset, with the machine's matmul rate for scale.</summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var presets = new Option<string[]>("--presets") { Description = "Presets to measure (default tiny digits mnist cifar10)", AllowMultipleArgumentsPerToken = true };
        var batch = new Option<int>("--batch-size", "-b") { Description = "Batch size (default 32)", DefaultValueFactory = _ => 32 };
        var repeats = new Option<int>("--repeats") { Description = "Timed repetitions after one warm-up (default 3)", DefaultValueFactory = _ => 3 };
        var cmd = new Command("bench", "Measure images/s and achieved GFLOP/s of one BCT training step and of one-step sampling for each preset, " +
                                       "next to the machine's float32 matmul GFLOP/s.") { presets, batch, repeats, Common.Device, Common.Threads };
        cmd.SetAction(parse => Common.Guard(() =>
        {
            Common.ApplyThreads(parse);
            var device = Common.ParseDevice(parse.GetValue(Common.Device)!);
            int b = parse.GetValue(batch), reps = parse.GetValue(repeats);
            if (b < 1) throw new CliError($"--batch-size must be ≥ 1, got {b}");
            if (reps < 1) throw new CliError($"--repeats must be ≥ 1, got {reps}");
            var names = parse.GetValue(presets) is { Length: > 0 } given ? given : ["tiny", "digits", "mnist", "cifar10"];
            var configs = names.Select(n => (Name: n, Presets.Get(n).Network)).ToList(); // unknown names fail before any timing
            Console.WriteLine($"machine: {Environment.ProcessorCount} logical cores, torch threads {get_num_threads()}, device {device}");
            Console.WriteLine($"matmul 1024x1024 float32: {Throughput.MatmulGflops(device):F1} GFLOP/s");
            Console.WriteLine($"batch {b}; FLOPs count convolutions, linear layers and attention products (2 per multiply-add); a BCT step is taken as " +
                              $"{Throughput.PassesPerTrainingStep} forward passes' worth (A and E forward+backward, B forward, C forward and input gradient)");
            Console.WriteLine("| preset | parameters | train img/s | train GFLOP/s | 1-step sample img/s | sample GFLOP/s |");
            Console.WriteLine("|---|---|---|---|---|---|");
            foreach (var (name, config) in configs)
            {
                var r = Throughput.Measure(name, config, b, reps, device);
                Console.WriteLine($"| {r.Name} | {r.Parameters:N0} | {r.TrainImagesPerSecond:F1} | {r.TrainGflops:F1} | {r.SampleImagesPerSecond:F1} | {r.SampleGflops:F1} |");
            }
            return 0;
        }));
        return cmd;
    }
}
