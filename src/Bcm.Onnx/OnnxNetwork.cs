using Bcm.Networks;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;
using TensorElementType = Microsoft.ML.OnnxRuntime.Tensors.TensorElementType;
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
    /// <param name="weightsFingerprint">
    /// The <see cref="IBcmNetwork.WeightsFingerprint"/> of the network the graph was written from; not given, the SHA-256 of
    /// the graph's bytes, which no libtorch network shares (a measurement saved with one is then not resumed with the other).
    /// </param>
    public OnnxNetwork(byte[] model, NetworkConfig config, int threads = 0, string? weightsFingerprint = null)
    {
        WeightsFingerprint = weightsFingerprint ?? "ONNX:" + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(model));
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
    public static OnnxNetwork From(IBcmNetwork network, int threads = 0) =>
        new(OnnxExport.Build(network), network.Config, threads, network.WeightsFingerprint);

    /// <inheritdoc/>
    public long[] SampleShape => sampleShape;
    /// <inheritdoc/>
    public int NumClasses { get; }
    /// <inheritdoc/>
    public nn.Module Module => module;
    /// <inheritdoc/>
    public long MacsPerSample { get; }
    /// <inheritdoc/>
    public string WeightsFingerprint { get; }
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
        // ONNX Runtime reads the inputs and writes the output in the tensors' own CPU memory: no copies on the way in or out.
        var held = new List<Tensor> { OnCpu(x, ScalarType.Float32), OnCpu(cNoiseT, ScalarType.Float32), OnCpu(cNoiseU, ScalarType.Float32) };
        var names = new List<string> { OnnxExport.X, OnnxExport.CNoiseT, OnnxExport.CNoiseU };
        if (y is not null)
        {
            held.Add(OnCpu(y, ScalarType.Int64));
            names.Add(OnnxExport.Labels);
        }
        var output = empty([batch, .. sampleShape], dtype: ScalarType.Float32);
        var inputs = held.Select(View).ToList();
        using var result = View(output);
        try
        {
            module.Session.Run(runOptions, names, inputs, [OnnxExport.Output], [result]);
            return output.to(x.device).MoveToOuterDisposeScope();
        }
        finally
        {
            foreach (var v in inputs) v.Dispose();
        }
    }

    // A contiguous CPU tensor of the given type: the tensor itself when it already is one.
    private static Tensor OnCpu(Tensor t, ScalarType type) => t.to(type).cpu().contiguous();

    // An OrtValue over the tensor's own memory (the tensor must outlive it: both live in Forward's scope).
    // (TorchSharp's Tensor.bytes spans the CPU tensor's native storage; libtorch does not move it while the tensor lives.)
    private static unsafe OrtValue View(Tensor t)
    {
        var type = t.dtype == ScalarType.Int64 ? TensorElementType.Int64 : TensorElementType.Float;
        var bytes = t.bytes;
        var address = (IntPtr)Unsafe.AsPointer(ref MemoryMarshal.GetReference(bytes));
        return OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, type, t.shape, address, bytes.Length);
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
