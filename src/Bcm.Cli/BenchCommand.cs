using System.CommandLine;
using System.Text.Json;
using Bcm.Onnx;
using Bcm.Reports;
using static TorchSharp.torch;

namespace Bcm.Cli;

/// <summary><c>bcm bench</c>: throughput and peak memory of one BCT training step and of one-step sampling, for presets or any network, with the machine's matmul rate for scale.</summary>
internal static class BenchCommand
{
    private static readonly Option<string[]> PresetNames = new("--presets") { Description = "Presets to measure (default tiny digits mnist cifar10)", AllowMultipleArgumentsPerToken = true };
    private static readonly Option<string[]> Configs = new("--config")
    {
        Description = "Networks to measure instead: a JSON network configuration (the \"network\" object of a run's options.json), a run folder or a checkpoint",
        AllowMultipleArgumentsPerToken = true,
    };
    private static readonly Option<string> Batch = new("--batch-size", "-b") { Description = "Batch size, or a comma-separated sweep (e.g. 16,32,64)", DefaultValueFactory = _ => "32" };
    private static readonly Option<string?> ThreadCounts = new("--thread-counts") { Description = "A comma-separated sweep of CPU thread counts (default: --threads, or all cores)" };
    private static readonly Option<int> Repeats = new("--repeats") { Description = "Timed repetitions after one warm-up", DefaultValueFactory = _ => 3 };
    private static readonly Option<bool> Fused = new("--fused-passes") { Description = "Time the BCT step with its A and E evaluations as one pass of twice the batch (an experiment: slower on this machine's CPU at batch 32; training uses two passes)" };
    private static readonly Option<bool> ProfileOption = new("--profile")
    {
        Description = "Instead of throughput, profile one-step sampling layer by layer: time share and GFLOP/s of each kind of layer " +
                      "(convolutions by kernel size, normalisations, linear layers, activations) and of what runs between them",
    };
    private static readonly Option<bool> OnnxOption = new("--onnx")
    {
        Description = "Also time one-step sampling on ONNX Runtime (the network exported by bcm export --format onnx, CPU, all graph optimisations): " +
                      "under the library and in the Bcm.Inference package (no libtorch), against libtorch, interleaved, at each batch size and thread count, with the ratios",
    };
    private static readonly Option<bool> Json = new("--json") { Description = "Write the results as JSON on stdout (one object with the matmul reference and a row per measurement), for scripts" };

    public static Command Create()
    {
        var cmd = new Command("bench", "Measure images/s, achieved GFLOP/s and peak resident memory of one BCT training step and of one-step sampling, " +
                                       "for presets or your own network (--config), over batch sizes and thread counts, next to the machine's float32 matmul GFLOP/s.")
        {
            PresetNames, Configs, Batch, ThreadCounts, Repeats, Fused, ProfileOption, OnnxOption, Json, Common.Device, Common.Threads,
        };
        cmd.SetAction(parse => Common.Guard(() =>
        {
            Common.ApplyThreads(parse);
            var device = Common.ParseDevice(parse.GetValue(Common.Device)!);
            var sweep = BenchSweep.Of(parse.GetValue(PresetNames), parse.GetValue(Configs),
                parse.GetValue(ThreadCounts) is string t ? Common.Integers(t, "--thread-counts", 1, Common.MaxThreads) : [get_num_threads()],
                Common.Integers(parse.GetValue(Batch)!, "--batch-size", 1, 65_536), parse.GetValue(Repeats));
            bool asJson = parse.GetValue(Json);
            double matmul = Throughput.MatmulGflops(device);
            var machine = new { LogicalCores = Environment.ProcessorCount, Device = device.ToString(), MatmulGflops = matmul };
            Action<T>? Print<T>(Func<T, string> line) => asJson ? null : r => Console.WriteLine(line(r));
            if (parse.GetValue(ProfileOption))
            {
                if (!asJson) Console.WriteLine($"matmul 1024x1024 float32: {matmul:F1} GFLOP/s; one-step sampling, layer by layer (forward hooks on every leaf module)");
                var profiles = sweep.Run((name, network, b, _) => LayerProfile.Measure(name, network, b, sweep.Repeats, device), Print<LayerProfile.Result>(r =>
                    $"\n{r.Name}, batch {r.BatchSize}, {r.Threads} thread(s): {r.PlainSeconds * 1000:F1} ms per run ({r.ProfiledSeconds * 1000:F1} ms with the hooks)\n" +
                    LayerProfile.Table(matmul).Markdown(r.Rows).TrimEnd()));
                if (asJson) Console.WriteLine(JsonSerializer.Serialize(new { Machine = machine, Profiles = profiles }, Bcm.IO.JsonFormat.Options));
            }
            else if (parse.GetValue(OnnxOption))
            {
                if (!asJson) Console.Write("one-step sampling: libtorch, ONNX Runtime under the library, and the Bcm.Inference package (interleaved runs, mean images/s)\n" + OnnxThroughput.Table.Header());
                // Each result becomes the default engine of its network at its thread count from now on.
                var engines = sweep.Run((name, network, b, n) => EngineChoice.Record(network, OnnxThroughput.Measure(name, network, b, sweep.Repeats, n)),
                    Print<OnnxThroughput.Row>(OnnxThroughput.Table.Line));
                Console.WriteLine(asJson ? JsonSerializer.Serialize(new { Engines = engines }, Bcm.IO.JsonFormat.Options)
                    : $"recorded in {EngineChoice.CachePath}: commands run these networks on the faster engine unless --engine says otherwise");
            }
            else
            {
                if (!asJson) Console.Write(Throughput.Legend(device, matmul) + "\n" + Throughput.Table.Header());
                var rows = sweep.Run((name, network, b, _) => Throughput.Measure(name, network, b, sweep.Repeats, device, parse.GetValue(Fused)),
                    Print<Throughput.Row>(Throughput.Table.Line));
                if (asJson)
                    Console.WriteLine(JsonSerializer.Serialize(new { Machine = machine, FlopModel = Throughput.FlopModel, Rows = rows }, Bcm.IO.JsonFormat.Options));
            }
            return 0;
        }));
        return cmd;
    }
}
