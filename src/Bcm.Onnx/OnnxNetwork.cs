using Bcm.Networks;
using Microsoft.ML.OnnxRuntime;
using static TorchSharp.torch;

namespace Bcm.Onnx;

/// <summary>
/// F_θ run by ONNX Runtime behind the same interface as the libtorch networks, for inference: wrap it in a
/// <see cref="Model.BcmModel"/> and the plan engine, the editing applications and the measurements use it unchanged.
/// The execution provider is ONNX Runtime's CPU one here; CUDA (the <c>Microsoft.ML.OnnxRuntime.Gpu</c> package) is a
/// session option away and untested on this project's machines.
/// </summary>
public sealed class OnnxNetwork : IBcmNetwork
{
    private readonly SessionModule module;
    private readonly long[] sampleShape;

    /// <summary>A session over the ONNX model <paramref name="model"/> (bytes of <see cref="OnnxExport.Build"/>) of a network with <paramref name="config"/>.</summary>
    /// <param name="model">The model's bytes.</param>
    /// <param name="config">The network's configuration (shape, classes).</param>
    /// <param name="threads">Intra-op threads (0: ONNX Runtime's default).</param>
    public OnnxNetwork(byte[] model, NetworkConfig config, int threads = 0)
    {
        var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, IntraOpNumThreads = threads, InterOpNumThreads = 1 };
        module = new SessionModule(new InferenceSession(model, options));
        options.Dispose();
        Config = config;
        var probe = NetworkFactory.Create(config);
        sampleShape = probe.SampleShape;
        NumClasses = probe.NumClasses;
        MacsPerSample = probe.MacsPerSample;
        probe.Module.Dispose();
    }

    /// <summary>The ONNX Runtime network of a libtorch one: its graph written, then loaded into a session.</summary>
    public static OnnxNetwork From(IBcmNetwork network, int threads = 0) => new(OnnxExport.Build(network), network.Config, threads);

    /// <inheritdoc/>
    public long[] SampleShape => sampleShape;
    /// <inheritdoc/>
    public int NumClasses { get; }
    /// <inheritdoc/>
    public nn.Module Module => module;
    /// <inheritdoc/>
    public long MacsPerSample { get; }
    /// <inheritdoc/>
    public NetworkConfig Config { get; }

    /// <inheritdoc/>
    public Tensor Forward(Tensor x, Tensor cNoiseT, Tensor cNoiseU, Tensor? y)
    {
        if ((NumClasses > 0) != (y is not null))
            throw new ArgumentException(NumClasses > 0 ? "this model is class-conditional: class labels are required" : "this model is unconditional: it takes no class labels");
        long batch = x.shape[0];
        using var scope = NewDisposeScope();
        using var runOptions = new RunOptions();
        var inputs = new List<OrtValue>
        {
            Value(x.to(ScalarType.Float32)), Value(cNoiseT.to(ScalarType.Float32)), Value(cNoiseU.to(ScalarType.Float32)),
        };
        var names = new List<string> { OnnxExport.X, OnnxExport.CNoiseT, OnnxExport.CNoiseU };
        if (y is not null)
        {
            inputs.Add(Value(y.to(ScalarType.Int64)));
            names.Add(OnnxExport.Labels);
        }
        try
        {
            using var outputs = module.Session.Run(runOptions, names, inputs, [OnnxExport.Output]);
            var span = outputs[0].GetTensorDataAsSpan<float>();
            return tensor(span.ToArray(), [batch, .. sampleShape], dtype: ScalarType.Float32).to(x.device).MoveToOuterDisposeScope();
        }
        finally
        {
            foreach (var v in inputs) v.Dispose();
        }
    }

    // The tensor's numbers copied into an OrtValue over managed memory (ONNX Runtime reads it in place).
    private static OrtValue Value(Tensor t)
    {
        using var cpu = t.cpu().contiguous();
        var shape = t.shape;
        return t.dtype == ScalarType.Int64
            ? OrtValue.CreateTensorValueFromMemory(cpu.data<long>().ToArray(), shape)
            : OrtValue.CreateTensorValueFromMemory(cpu.data<float>().ToArray(), shape);
    }

    /// <summary>Not available: an ONNX network is for inference.</summary>
    public void InitialiseFromConsistencyModel() => throw new NotSupportedException("an ONNX Runtime network is for inference; fine-tune the libtorch network");

    /// <inheritdoc/>
    public bool IsUParameter(string name) => false;

    // The session's owner where the interface expects a module (BcmModel disposes its network's module).
    private sealed class SessionModule(InferenceSession session) : nn.Module("OnnxRuntimeSession")
    {
        public InferenceSession Session { get; } = session;

        protected override void Dispose(bool disposing)
        {
            if (disposing) Session.Dispose();
            base.Dispose(disposing);
        }
    }
}
