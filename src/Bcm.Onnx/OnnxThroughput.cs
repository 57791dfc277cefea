using Bcm.Model;
using Bcm.Networks;
using Bcm.Plans;
using static TorchSharp.torch;

namespace Bcm.Onnx;

/// <summary>One-step sampling on ONNX Runtime against libtorch, for <c>bcm bench --onnx</c>.</summary>
public static class OnnxThroughput
{
    /// <summary>One network, one batch, one thread count: images per second of one-step sampling on each engine.</summary>
    /// <param name="Name">The network measured.</param>
    /// <param name="BatchSize">Images per run.</param>
    /// <param name="Threads">Threads of both engines (libtorch's intra-op threads; ONNX Runtime's intra-op threads).</param>
    /// <param name="TorchImagesPerSecond">libtorch.</param>
    /// <param name="OnnxImagesPerSecond">ONNX Runtime (CPU execution provider, all graph optimisations).</param>
    public sealed record Row(string Name, int BatchSize, int Threads, double TorchImagesPerSecond, double OnnxImagesPerSecond)
    {
        /// <summary>ONNX Runtime's rate over libtorch's.</summary>
        public double Ratio => OnnxImagesPerSecond / TorchImagesPerSecond;
    }

    /// <summary>The rows as <c>bcm bench --onnx</c> prints them.</summary>
    public static readonly Bcm.Reports.ReportTable<Row> Table = new(
    [
        Bcm.Reports.Column<Row>.Of(null, "network", r => r.Name),
        Bcm.Reports.Column<Row>.Of(null, "batch", r => r.BatchSize),
        Bcm.Reports.Column<Row>.Of(null, "threads", r => r.Threads),
        Bcm.Reports.Column<Row>.Of(null, "libtorch img/s", r => r.TorchImagesPerSecond, "F1"),
        Bcm.Reports.Column<Row>.Of(null, "ONNX Runtime img/s", r => r.OnnxImagesPerSecond, "F1"),
        Bcm.Reports.Column<Row>.Of(null, "ONNX / libtorch", r => r.Ratio, "F2"),
    ]);

    /// <summary>
    /// Times one-step sampling (the plan engine with per-sample seeds, as <c>bcm sample</c> runs it) of a network of
    /// <paramref name="config"/> with random weights on both engines, interleaved: libtorch, ONNX Runtime, repeated
    /// <paramref name="repeats"/> times after one warm-up of each; the mean time of each.
    /// </summary>
    public static Row Measure(string name, NetworkConfig config, int batchSize, int repeats, int threads)
    {
        set_num_threads(threads);
        var torchNet = NetworkFactory.Create(config);
        torchNet.Module.eval();
        using var torchModel = new BcmModel(torchNet);
        using var onnxModel = new BcmModel(OnnxNetwork.From(torchNet, threads));
        var plan = PlanPresets.Resolve("onestep");
        var seeds = PlanRunner.SeedRange(0, batchSize);
        using var x = zeros([batchSize, .. config.SampleShape]);
        using var labels = config.NumClasses > 0 ? randint(config.NumClasses, [batchSize]) : null;
        void Run(BcmModel model)
        {
            using var scope = NewDisposeScope();
            PlanRunner.Run(model, x, plan, seeds, labels);
        }
        Run(torchModel);
        Run(onnxModel);
        double torchSeconds = 0, onnxSeconds = 0;
        for (int i = 0; i < repeats; i++)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            Run(torchModel);
            torchSeconds += clock.Elapsed.TotalSeconds;
            clock.Restart();
            Run(onnxModel);
            onnxSeconds += clock.Elapsed.TotalSeconds;
        }
        return new Row(name, batchSize, threads, batchSize * repeats / torchSeconds, batchSize * repeats / onnxSeconds);
    }
}
