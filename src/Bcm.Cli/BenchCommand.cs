using TorchSharp;
using System.CommandLine;
using System.Diagnostics;
using Bcm.Model;
using Bcm.Networks;
using Bcm.Plans;
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
            int b = parse.GetValue(batch), reps = Math.Max(1, parse.GetValue(repeats));
            var names = parse.GetValue(presets) is { Length: > 0 } given ? given : ["tiny", "digits", "mnist", "cifar10"];
            Console.WriteLine($"machine: {Environment.ProcessorCount} logical cores, torch threads {get_num_threads()}, device {device}");
            Console.WriteLine($"matmul 1024x1024 float32: {MatmulGflops(device):F1} GFLOP/s");
            Console.WriteLine($"batch {b}; FLOPs count convolutions, linear layers and attention products (2 per multiply-add); a BCT step is taken as 9 forward passes' worth (A and E forward+backward, B forward, C forward and input gradient)");
            Console.WriteLine("| preset | parameters | train img/s | train GFLOP/s | 1-step sample img/s | sample GFLOP/s |");
            Console.WriteLine("|---|---|---|---|---|---|");
            foreach (var name in names)
            {
                var o = Presets.Get(name) with { BatchSize = b, Device = device.ToString() };
                var cfg = o.Network;
                var onlineNet = NetworkFactory.Create(cfg);
                var targetNet = NetworkFactory.Create(cfg);
                using var online = onlineNet.Module;
                using var target = targetNet.Module;
                online.to(device);
                target.to(device);
                foreach (var p in target.parameters()) p.requires_grad = false;
                var model = new BcmModel(onlineNet);
                var tmodel = new BcmModel(targetNet);
                var ts = Schedules.KarrasGrid.Ascending(161);
                var rng = new Random(0);
                var x0 = (rand([b, .. cfg.SampleShape], device: device) * 2 - 1).DetachFromDisposeScope();
                var labels = cfg.NumClasses > 0 ? randint(cfg.NumClasses, [b], device: device) : null;
                double trainSeconds = Time(reps, () =>
                {
                    using var scope = NewDisposeScope();
                    var n = Enumerable.Range(0, b).Select(_ => rng.Next(0, 158)).ToArray();
                    var m = Enumerable.Range(0, b).Select(_ => rng.Next(0, 159)).ToArray();
                    using var terms = BctLoss.Compute(model, tmodel, x0, randn_like(x0), ts, n, m, labels, BctLoss.HuberC(x0[0].numel()));
                    terms.Total.mean().backward();
                    online.zero_grad();
                });
                online.eval();
                double sampleSeconds = Time(reps, () =>
                {
                    using var scope = NewDisposeScope();
                    PlanRunner.Run(model, zeros_like(x0), PlanPresets.Resolve("onestep"), PlanRunner.SeedRange(0, b), labels);
                });
                double flops = 2.0 * onlineNet.MacsPerSample * b;
                long parameters = online.parameters().Sum(p => p.numel());
                Console.WriteLine($"| {name} | {parameters:N0} | {b / trainSeconds:F1} | {9 * flops / trainSeconds / 1e9:F1} | {b / sampleSeconds:F1} | {flops / sampleSeconds / 1e9:F1} |");
                x0.Dispose();
            }
            return 0;
        }));
        return cmd;
    }

    private static double Time(int repeats, Action action)
    {
        action(); // warm-up
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < repeats; i++) action();
        return sw.Elapsed.TotalSeconds / repeats;
    }

    private static double MatmulGflops(Device device)
    {
        using var a = randn(1024, 1024, device: device);
        using var b = randn(1024, 1024, device: device);
        double seconds = Time(5, () => { using var c = matmul(a, b); c.sum().item<float>(); });
        return 2.0 * 1024 * 1024 * 1024 / seconds / 1e9;
    }
}
