using System.Diagnostics;
using TorchSharp;
using Bcm.Model;
using Bcm.Networks;
using Bcm.Plans;
using Bcm.Schedules;
using Bcm.Training;
using static TorchSharp.torch;
using Bcm.Tensors;

namespace Bcm.Reports;

/// <summary>
/// What <c>bcm bench</c> measures: images/s of one BCT training step and of one-step sampling for a network, and the
/// GFLOP/s they achieve next to the same process's float32 matmul rate. FLOPs count convolutions, linear layers and
/// attention products (2 per multiply-add, <see cref="IBcmNetwork.MacsPerSample"/>); a BCT step is taken as
/// <see cref="PassesPerTrainingStep"/> forward passes' worth (A and E forward and backward, B forward, C forward and input gradient).
/// </summary>
public static class Throughput
{
    /// <summary>Forward passes' worth of FLOPs counted per BCT training step.</summary>
    public const int PassesPerTrainingStep = 9;

    /// <summary>How the GFLOP/s columns count, in words (the JSON output's <c>flopModel</c>).</summary>
    public static readonly string FlopModel =
        $"2 FLOPs per multiply-add of convolutions, linear layers and attention products; a BCT step = {PassesPerTrainingStep} forward passes";

    /// <summary>One network's measurement at one batch size and thread count.</summary>
    /// <param name="Name">The network's name (a preset, a file).</param>
    /// <param name="Parameters">Its parameter count.</param>
    /// <param name="BatchSize">Images per step and per sampling batch.</param>
    /// <param name="Threads">libtorch's CPU threads during the measurement.</param>
    /// <param name="TrainImagesPerSecond">Images per second of a BCT training step.</param>
    /// <param name="TrainGflops">GFLOP/s a training step achieves (see the FLOP model above).</param>
    /// <param name="SampleImagesPerSecond">Images per second of one-step sampling.</param>
    /// <param name="SampleGflops">GFLOP/s one-step sampling achieves.</param>
    /// <param name="TrainPeakMegabytes">Peak resident memory of the process while training steps ran (null where the OS cannot say).</param>
    /// <param name="SamplePeakMegabytes">Peak resident memory of the process while sampling ran.</param>
    public sealed record Row(string Name, long Parameters, int BatchSize, int Threads, double TrainImagesPerSecond, double TrainGflops,
        double SampleImagesPerSecond, double SampleGflops, double? TrainPeakMegabytes, double? SamplePeakMegabytes);

    /// <summary>The rows as <c>bcm bench</c> prints them (Markdown; peak memory — where the OS cannot say).</summary>
    public static readonly ReportTable<Row> Table = new(
    [
        Column<Row>.Of(null, "network", r => r.Name),
        Column<Row>.Of(null, "parameters", r => r.Parameters, "N0"),
        Column<Row>.Of(null, "batch", r => r.BatchSize),
        Column<Row>.Of(null, "threads", r => r.Threads),
        Column<Row>.Of(null, "train img/s", r => r.TrainImagesPerSecond, "F1"),
        Column<Row>.Of(null, "train GFLOP/s", r => r.TrainGflops, "F1"),
        Column<Row>.Of(null, "train peak MB", r => r.TrainPeakMegabytes, "F0"),
        Column<Row>.Of(null, "1-step sample img/s", r => r.SampleImagesPerSecond, "F1"),
        Column<Row>.Of(null, "sample GFLOP/s", r => r.SampleGflops, "F1"),
        Column<Row>.Of(null, "sample peak MB", r => r.SamplePeakMegabytes, "F0"),
    ]);

    /// <summary>What the numbers of <see cref="Table"/> mean: the machine, its matmul rate and the FLOP model.</summary>
    public static string Legend(Device device, double matmulGflops) =>
        $"machine: {Environment.ProcessorCount} logical cores, device {device}\n" +
        FormattableString.Invariant($"matmul 1024x1024 float32: {matmulGflops:F1} GFLOP/s\n") +
        $"FLOPs count convolutions, linear layers and attention products (2 per multiply-add); a BCT step is taken as " +
        $"{PassesPerTrainingStep} forward passes' worth (A and E forward+backward, B forward, C forward and input gradient); " +
        "peak memory is the process's resident high-water mark during each measurement";

    /// <summary>
    /// Runs <paramref name="action"/> and returns the process's peak resident memory during it, in MB: on Linux the
    /// allocator first returns the memory earlier work freed (glibc's malloc_trim: otherwise a measurement after a
    /// larger one starts from the larger one's peak), the high-water mark is reset (/proc/self/clear_refs) and read
    /// after (VmHWM); elsewhere null.
    /// </summary>
    public static double? PeakResidentMegabytes(Action action)
    {
        bool linux = OperatingSystem.IsLinux() && File.Exists("/proc/self/clear_refs");
        if (linux)
        {
            ReturnFreedMemory();
            try
            {
                File.WriteAllText("/proc/self/clear_refs", "5"); // resets the peak to the current resident size
            }
            catch (IOException)
            {
                linux = false;
            }
            catch (UnauthorizedAccessException)
            {
                linux = false;
            }
        }
        action();
        if (!linux) return null;
        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return line is not null && long.TryParse(line["VmHWM:".Length..].Trim().Split(' ')[0], out long kb) ? kb / 1024.0 : null;
    }

    /// <summary>
    /// Hands the memory the process has freed (disposed tensors included) back to the system where the C library can
    /// (glibc's malloc_trim; a no-op elsewhere).
    /// </summary>
    public static void ReturnFreedMemory()
    {
        if (!OperatingSystem.IsLinux()) return;
        try
        {
            MallocTrim(0);
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            // Not glibc (musl, for one): nothing to trim with.
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);

    /// <summary>Mean seconds of <paramref name="action"/> over <paramref name="repeats"/> runs after one warm-up run.</summary>
    public static double Time(int repeats, Action action)
    {
        if (repeats < 1) throw new ArgumentException($"repeats must be ≥ 1, got {repeats}");
        action();
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < repeats; i++) action();
        return sw.Elapsed.TotalSeconds / repeats;
    }

    /// <summary>float32 GFLOP/s of a 1024×1024 matmul on <paramref name="device"/>: the scale for the rates below.</summary>
    public static double MatmulGflops(Device device, int repeats = 5)
    {
        using var a = randn(1024, 1024, device: device);
        using var b = randn(1024, 1024, device: device);
        double seconds = Time(repeats, () => { using var c = matmul(a, b); c.sum().item<float>(); });
        return 2.0 * 1024 * 1024 * 1024 / seconds / 1e9;
    }

    /// <summary>
    /// Measures a freshly initialised network of <paramref name="config"/> (weights do not change the cost) at <paramref name="batchSize"/>;
    /// <paramref name="fuseAE"/> times the BCT step with A and E as one pass of twice the batch instead of two (an experiment; see BctLoss).
    /// </summary>
    public static Row Measure(string name, NetworkConfig config, int batchSize, int repeats, Device device, bool fuseAE = false)
    {
        if (batchSize < 1) throw new ArgumentException($"batch size must be ≥ 1, got {batchSize}");
        var onlineNet = NetworkFactory.Create(config);
        var targetNet = NetworkFactory.Create(config);
        using var online = onlineNet.Module;
        using var target = targetNet.Module;
        online.to(device);
        target.to(device);
        foreach (var p in target.parameters()) p.requires_grad = false;
        var model = new BcmModel(onlineNet);
        var targetModel = new BcmModel(targetNet);
        using var x0 = rand([batchSize, .. config.SampleShape], device: device).Times(2).Minus(1);
        using var labels = config.StandInCondition(batchSize, device);
        double trainSeconds = 0, sampleSeconds = 0;
        double? trainPeak = PeakResidentMegabytes(() => trainSeconds = Time(repeats, () => TrainingStep(model, targetModel, online, x0, labels, fuseAE)));
        online.eval();
        var onestep = PlanPresets.Resolve("onestep");
        double? samplePeak = PeakResidentMegabytes(() => sampleSeconds = Time(repeats, () =>
        {
            using var scope = NewDisposeScope();
            PlanRunner.Run(model, zeros_like(x0), onestep, PlanRunner.SeedRange(0, batchSize), labels);
        }));
        double flops = 2.0 * onlineNet.MacsPerSample * batchSize;
        long parameters = online.parameters().Sum(p => p.numel());
        return new Row(name, parameters, batchSize, get_num_threads(), batchSize / trainSeconds, PassesPerTrainingStep * flops / trainSeconds / 1e9,
            batchSize / sampleSeconds, flops / sampleSeconds / 1e9, trainPeak, samplePeak);
    }

    /// <summary>
    /// The network configuration of <paramref name="path"/>: a JSON file of a network configuration (as in options.json's
    /// <c>network</c>, with its <c>kind</c>), or anything <see cref="ModelLoader.Load"/> reads (a run folder, a checkpoint).
    /// </summary>
    /// <exception cref="InvalidDataException">The JSON does not describe a valid network.</exception>
    public static NetworkConfig ConfigOf(string path)
    {
        if (!path.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
        {
            using var loaded = ModelLoader.Load(path);
            return loaded.Config;
        }
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such network configuration");
        try
        {
            var config = System.Text.Json.JsonSerializer.Deserialize<NetworkConfig>(IO.InputFile.ReadAllText(path, 1 << 20, "network configuration (JSON)"), IO.JsonFormat.Strict)
                         ?? throw new InvalidDataException($"{path}: empty network configuration");
            config.Validate();
            return config;
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or NotSupportedException or ArgumentException)
        {
            throw new InvalidDataException($"{path}: not a network configuration ({e.Message}); write one as the \"network\" object of a run's options.json, with its \"kind\"", e);
        }
    }

    private static readonly Random PairDraws = new(0);

    /// <summary>One BCT loss and backward pass at curriculum N = 161 with uniformly drawn pairs (the cost does not depend on which).</summary>
    private static void TrainingStep(BcmModel model, BcmModel target, TorchSharp.torch.nn.Module online, Tensor x0, Tensor? labels, bool fuseAE)
    {
        using var scope = NewDisposeScope();
        var ts = KarrasGrid.Ascending(161);
        int b = (int)x0.shape[0];
        var n = Enumerable.Range(0, b).Select(_ => PairDraws.Next(0, 158)).ToArray();
        var m = Enumerable.Range(0, b).Select(_ => PairDraws.Next(0, 159)).ToArray();
        using var terms = BctLoss.Compute(model, target, x0, randn_like(x0), ts, n, m, labels, BctLoss.HuberC(x0[0].numel()), fuseAE: fuseAE);
        terms.Total.mean().backward();
        online.zero_grad();
    }
}
