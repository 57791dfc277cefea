using System.Diagnostics;
using TorchSharp;
using Bcm.Model;
using Bcm.Networks;
using Bcm.Plans;
using Bcm.Schedules;
using Bcm.Training;
using static TorchSharp.torch;

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

    /// <summary>One network's measurement at one batch size.</summary>
    public sealed record Row(string Name, long Parameters, int BatchSize, double TrainImagesPerSecond, double TrainGflops,
        double SampleImagesPerSecond, double SampleGflops);

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

    /// <summary>Measures a freshly initialised network of <paramref name="config"/> (weights do not change the cost) at <paramref name="batchSize"/>.</summary>
    public static Row Measure(string name, NetworkConfig config, int batchSize, int repeats, Device device)
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
        using var x0 = rand([batchSize, .. config.SampleShape], device: device) * 2 - 1;
        using var labels = config.NumClasses > 0 ? randint(config.NumClasses, [batchSize], device: device) : null;
        double trainSeconds = Time(repeats, () => TrainingStep(model, targetModel, online, x0, labels));
        online.eval();
        var onestep = PlanPresets.Resolve("onestep");
        double sampleSeconds = Time(repeats, () =>
        {
            using var scope = NewDisposeScope();
            PlanRunner.Run(model, zeros_like(x0), onestep, PlanRunner.SeedRange(0, batchSize), labels);
        });
        double flops = 2.0 * onlineNet.MacsPerSample * batchSize;
        long parameters = online.parameters().Sum(p => p.numel());
        return new Row(name, parameters, batchSize, batchSize / trainSeconds, PassesPerTrainingStep * flops / trainSeconds / 1e9,
            batchSize / sampleSeconds, flops / sampleSeconds / 1e9);
    }

    private static readonly Random PairDraws = new(0);

    /// <summary>One BCT loss and backward pass at curriculum N = 161 with uniformly drawn pairs (the cost does not depend on which).</summary>
    private static void TrainingStep(BcmModel model, BcmModel target, TorchSharp.torch.nn.Module online, Tensor x0, Tensor? labels)
    {
        using var scope = NewDisposeScope();
        var ts = KarrasGrid.Ascending(161);
        int b = (int)x0.shape[0];
        var n = Enumerable.Range(0, b).Select(_ => PairDraws.Next(0, 158)).ToArray();
        var m = Enumerable.Range(0, b).Select(_ => PairDraws.Next(0, 159)).ToArray();
        using var terms = BctLoss.Compute(model, target, x0, randn_like(x0), ts, n, m, labels, BctLoss.HuberC(x0[0].numel()));
        terms.Total.mean().backward();
        online.zero_grad();
    }
}
