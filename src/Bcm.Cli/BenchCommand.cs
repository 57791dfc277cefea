using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Bcm.Networks;
using Bcm.Reports;
using Bcm.Training;
using static TorchSharp.torch;

namespace Bcm.Cli;

/// <summary><c>bcm bench</c>: throughput and peak memory of one BCT training step and of one-step sampling, for presets or any network, with the machine's matmul rate for scale.</summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var presets = new Option<string[]>("--presets") { Description = "Presets to measure (default tiny digits mnist cifar10)", AllowMultipleArgumentsPerToken = true };
        var config = new Option<string[]>("--config")
        {
            Description = "Networks to measure instead: a JSON network configuration (the \"network\" object of a run's options.json), a run folder or a checkpoint",
            AllowMultipleArgumentsPerToken = true,
        };
        var batch = new Option<string>("--batch-size", "-b") { Description = "Batch size, or a comma-separated sweep (e.g. 16,32,64)", DefaultValueFactory = _ => "32" };
        var threads = new Option<string?>("--thread-counts") { Description = "A comma-separated sweep of CPU thread counts (default: --threads, or all cores)" };
        var repeats = new Option<int>("--repeats") { Description = "Timed repetitions after one warm-up", DefaultValueFactory = _ => 3 };
        var fused = new Option<bool>("--fused-passes") { Description = "Time the BCT step with its A and E evaluations as one pass of twice the batch (an experiment: slower on this machine's CPU at batch 32; training uses two passes)" };
        var profile = new Option<bool>("--profile")
        {
            Description = "Instead of throughput, profile one-step sampling layer by layer: time share and GFLOP/s of each kind of layer " +
                          "(convolutions by kernel size, normalisations, linear layers, activations) and of what runs between them",
        };
        var onnx = new Option<bool>("--onnx")
        {
            Description = "Also time one-step sampling on ONNX Runtime (the network exported by bcm export --format onnx, CPU, all graph optimisations) " +
                          "against libtorch, interleaved, at each batch size and thread count, and print the ratio",
        };
        var json = new Option<bool>("--json") { Description = "Write the results as JSON on stdout (one object with the matmul reference and a row per measurement), for scripts" };
        var cmd = new Command("bench", "Measure images/s, achieved GFLOP/s and peak resident memory of one BCT training step and of one-step sampling, " +
                                       "for presets or your own network (--config), over batch sizes and thread counts, next to the machine's float32 matmul GFLOP/s.")
        {
            presets, config, batch, threads, repeats, fused, profile, onnx, json, Common.Device, Common.Threads,
        };
        cmd.SetAction(parse => Common.Guard(() =>
        {
            Common.ApplyThreads(parse);
            var device = Common.ParseDevice(parse.GetValue(Common.Device)!);
            int reps = parse.GetValue(repeats);
            if (reps is < 1 or > 1000) throw new BadInputException($"--repeats must be in 1..1000, got {reps}");
            var batches = Common.Integers(parse.GetValue(batch)!, "--batch-size", 1, 65_536);
            var threadCounts = parse.GetValue(threads) is string t ? Common.Integers(t, "--thread-counts", 1, Common.MaxThreads) : [get_num_threads()];
            if (parse.GetValue(presets) is { Length: > 0 } && parse.GetValue(config) is { Length: > 0 }) throw new BadInputException("give --presets or --config, not both");
            var networks = parse.GetValue(config) is { Length: > 0 } files
                ? files.Select(f => (Name: Path.GetFileName(Path.TrimEndingDirectorySeparator(f)), Config: Throughput.ConfigOf(f))).ToList()
                : (parse.GetValue(presets) is { Length: > 0 } given ? given : ["tiny", "digits", "mnist", "cifar10"])
                    .Select(n => (Name: n, Config: Presets.Get(n).Network)).ToList(); // unknown names fail before any timing
            bool asJson = parse.GetValue(json);
            double matmul = Throughput.MatmulGflops(device);
            if (parse.GetValue(profile)) return Profile(networks, threadCounts, batches, reps, device, matmul, asJson);
            if (parse.GetValue(onnx)) return Engines(networks, threadCounts, batches, reps, asJson);
            if (!asJson) Header(device, matmul, batches);
            var rows = new List<Throughput.Row>();
            foreach (var (name, network) in networks)
                foreach (int n in threadCounts)
                    foreach (int b in batches)
                    {
                        set_num_threads(n);
                        var r = Throughput.Measure(name, network, b, reps, device, parse.GetValue(fused));
                        rows.Add(r);
                        if (!asJson)
                            Console.WriteLine($"| {r.Name} | {r.Parameters:N0} | {r.BatchSize} | {r.Threads} | {r.TrainImagesPerSecond:F1} | {r.TrainGflops:F1} | {Mb(r.TrainPeakMegabytes)} | " +
                                              $"{r.SampleImagesPerSecond:F1} | {r.SampleGflops:F1} | {Mb(r.SamplePeakMegabytes)} |");
                    }
            if (asJson)
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    Machine = new { LogicalCores = Environment.ProcessorCount, Device = device.ToString(), MatmulGflops = matmul },
                    FlopModel = $"2 FLOPs per multiply-add of convolutions, linear layers and attention products; a BCT step = {Throughput.PassesPerTrainingStep} forward passes",
                    Rows = rows,
                }, Bcm.IO.JsonFormat.Options));
            return 0;
        }));
        return cmd;
    }

    // One-step sampling on libtorch and on ONNX Runtime, interleaved, per network, batch and thread count.
    private static int Engines(List<(string Name, NetworkConfig Config)> networks, int[] threadCounts, int[] batches, int repeats, bool asJson)
    {
        var rows = new List<Bcm.Onnx.OnnxThroughput.Row>();
        if (!asJson)
        {
            Console.WriteLine("one-step sampling, libtorch against ONNX Runtime (interleaved runs, mean images/s)");
            Console.WriteLine("| network | batch | threads | libtorch img/s | ONNX Runtime img/s | ONNX / libtorch |\n|---|---|---|---|---|---|");
        }
        foreach (var (name, network) in networks)
            foreach (int n in threadCounts)
                foreach (int b in batches)
                {
                    var r = Bcm.Onnx.OnnxThroughput.Measure(name, network, b, repeats, n);
                    rows.Add(r);
                    Bcm.Onnx.EngineChoice.Record(network, r); // the default engine of this network at n threads from now on
                    if (!asJson) Console.WriteLine($"| {r.Name} | {r.BatchSize} | {r.Threads} | {r.TorchImagesPerSecond:F1} | {r.OnnxImagesPerSecond:F1} | {r.Ratio:F2} |");
                }
        if (asJson) Console.WriteLine(JsonSerializer.Serialize(new { Engines = rows }, Bcm.IO.JsonFormat.Options));
        else Console.WriteLine($"recorded in {Bcm.Onnx.EngineChoice.CachePath}: commands run these networks on the faster engine unless --engine says otherwise");
        return 0;
    }

    private static int Profile(List<(string Name, NetworkConfig Config)> networks, int[] threadCounts, int[] batches, int repeats, Device device,
        double matmul, bool asJson)
    {
        var results = new List<LayerProfile.Result>();
        if (!asJson) Console.WriteLine($"matmul 1024x1024 float32: {matmul:F1} GFLOP/s; one-step sampling, layer by layer (forward hooks on every leaf module)");
        foreach (var (name, network) in networks)
            foreach (int n in threadCounts)
                foreach (int b in batches)
                {
                    set_num_threads(n);
                    var r = LayerProfile.Measure(name, network, b, repeats, device);
                    results.Add(r);
                    if (asJson) continue;
                    Console.WriteLine();
                    Console.WriteLine($"{r.Name}, batch {r.BatchSize}, {r.Threads} thread(s): {r.PlainSeconds * 1000:F1} ms per run ({r.ProfiledSeconds * 1000:F1} ms with the hooks)");
                    Console.WriteLine("| layer | calls | ms | share | GFLOP/s | of matmul |");
                    Console.WriteLine("|---|---|---|---|---|---|");
                    foreach (var row in r.Rows)
                        Console.WriteLine($"| {row.Kind} | {(row.Calls > 0 ? row.Calls.ToString(CultureInfo.InvariantCulture) : "—")} | {row.Seconds * 1000:F2} | {row.Share:P1} | " +
                                          $"{(row.Gflops is double g ? g.ToString("F1", CultureInfo.InvariantCulture) : "—")} | {(row.Gflops is double h ? (h / matmul).ToString("P0", CultureInfo.InvariantCulture) : "—")} |");
                }
        if (asJson)
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                Machine = new { LogicalCores = Environment.ProcessorCount, Device = device.ToString(), MatmulGflops = matmul },
                Profiles = results,
            }, Bcm.IO.JsonFormat.Options));
        return 0;
    }

    private static void Header(Device device, double matmul, int[] batches)
    {
        Console.WriteLine($"machine: {Environment.ProcessorCount} logical cores, device {device}");
        Console.WriteLine($"matmul 1024x1024 float32: {matmul:F1} GFLOP/s");
        Console.WriteLine($"FLOPs count convolutions, linear layers and attention products (2 per multiply-add); a BCT step is taken as " +
                          $"{Throughput.PassesPerTrainingStep} forward passes' worth (A and E forward+backward, B forward, C forward and input gradient); " +
                          "peak memory is the process's resident high-water mark during each measurement");
        Console.WriteLine("| network | parameters | batch | threads | train img/s | train GFLOP/s | train peak MB | 1-step sample img/s | sample GFLOP/s | sample peak MB |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|---|");
    }

    private static string Mb(double? mb) => mb is double v ? v.ToString("F0", CultureInfo.InvariantCulture) : "—";
}
