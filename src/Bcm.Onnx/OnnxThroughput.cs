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
    /// <param name="InferenceImagesPerSecond">The Bcm.Inference package on the same graph (ONNX Runtime without libtorch: its own plan engine and noise), NaN where not measured.</param>
    public sealed record Row(string Name, int BatchSize, int Threads, double TorchImagesPerSecond, double OnnxImagesPerSecond, double InferenceImagesPerSecond = double.NaN)
    {
        /// <summary>ONNX Runtime's rate over libtorch's.</summary>
        public double Ratio => OnnxImagesPerSecond / TorchImagesPerSecond;

        /// <summary>The inference package's rate over the ONNX engine's.</summary>
        public double InferenceRatio => InferenceImagesPerSecond / OnnxImagesPerSecond;
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
        Bcm.Reports.Column<Row>.Of(null, "Bcm.Inference img/s", r => r.InferenceImagesPerSecond, "F1"),
        Bcm.Reports.Column<Row>.Of(null, "Inference / ONNX", r => r.InferenceRatio, "F2"),
    ]);

    /// <summary>
    /// Times one-step sampling (the plan engine with per-sample seeds, as <c>bcm sample</c> runs it) of a network of
    /// <paramref name="config"/> with random weights on three engines, interleaved: libtorch, the library over ONNX Runtime,
    /// and the Bcm.Inference package on the same graph (written to a temporary export folder), repeated
    /// <paramref name="repeats"/> times after one warm-up of each, the two ONNX Runtime runs in turn first after libtorch's
    /// (give an even number of repeats for equal turns); the mean time of each.
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
        string folder = Path.Combine(Path.GetTempPath(), $"bcm-bench-inference-{Environment.ProcessId}-{Guid.NewGuid():N}");
        try
        {
            WriteExport(torchNet, config, folder);
            using var inference = Inference.InferenceModel.Open(folder, new Inference.InferenceOptions(Threads: threads));
            var inferenceOptions = new Inference.SampleOptions(Count: batchSize, Plan: "onestep", Seed: 0, BatchSize: batchSize);
            void RunInference() => inference.SampleAsync(inferenceOptions).GetAwaiter().GetResult();
            Run(torchModel);
            Run(onnxModel);
            RunInference();
            double torchSeconds = 0, onnxSeconds = 0, inferenceSeconds = 0;
            for (int i = 0; i < repeats; i++)
            {
                var clock = System.Diagnostics.Stopwatch.StartNew();
                Run(torchModel);
                torchSeconds += clock.Elapsed.TotalSeconds;
                // The two ONNX Runtime runs take turns right after libtorch's: the run that follows it shares the cores
                // with libtorch's still-spinning threads (measured here: a third off the rate of whichever came second).
                for (int k = 0; k < 2; k++)
                {
                    clock.Restart();
                    if ((k + i) % 2 == 0) Run(onnxModel);
                    else RunInference();
                    if ((k + i) % 2 == 0) onnxSeconds += clock.Elapsed.TotalSeconds;
                    else inferenceSeconds += clock.Elapsed.TotalSeconds;
                }
            }
            return new Row(name, batchSize, threads, batchSize * repeats / torchSeconds, batchSize * repeats / onnxSeconds, batchSize * repeats / inferenceSeconds);
        }
        finally
        {
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        }
    }

    // An export folder as bcm export --format onnx writes it (model.onnx, config.json) for a network with random weights.
    private static void WriteExport(IBcmNetwork network, NetworkConfig config, string folder)
    {
        Directory.CreateDirectory(folder);
        OnnxExport.Write(network, Path.Combine(folder, "model.onnx"));
        var loaded = new Training.ModelLoader.Loaded(new BcmModel(network), config, "random weights", null, null, Training.ModelKind.Bcm);
        File.WriteAllText(Path.Combine(folder, "config.json"), Training.ModelCard.Config(loaded, "random", "model.onnx"));
    }
}
