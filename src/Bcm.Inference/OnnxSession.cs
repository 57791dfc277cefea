using Microsoft.ML.OnnxRuntime;
using TensorElementType = Microsoft.ML.OnnxRuntime.Tensors.TensorElementType;

namespace Bcm.Inference;

/// <summary>The export's graph in an ONNX Runtime session, checked to be a BCM network F of the config's shape.</summary>
internal sealed class OnnxSession : IDisposable
{
    /// <summary>The graph's inputs and output, as <c>bcm export --format onnx</c> names them.</summary>
    public const string X = "x_in", CNoiseT = "c_noise_t", CNoiseU = "c_noise_u", Labels = "y", Output = "F";

    /// <summary>The largest model.onnx opened (2 GiB, ONNX's own limit for a model in one file).</summary>
    public const long MaxModelBytes = int.MaxValue;

    private readonly InferenceSession session;
    private readonly ExportConfig config;

    private OnnxSession(InferenceSession session, ExportConfig config)
    {
        this.session = session;
        this.config = config;
    }

    public static OnnxSession Open(ExportConfig config, InferenceOptions options)
    {
        var file = new FileInfo(config.ModelFile);
        if (!file.Exists) throw new InferenceException($"{config.ModelFile}: the model named by {config.Path} (weights_file) is missing");
        if (file.LinkTarget is not null) throw new InferenceException($"{config.ModelFile}: the model is a link; give the export's own file");
        if (file.Length > MaxModelBytes) throw new InferenceException($"{config.ModelFile}: {file.Length:N0} bytes, more than an ONNX model in one file may have");
        using var so = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, IntraOpNumThreads = options.Threads, InterOpNumThreads = 1 };
        try
        {
            switch (options.Provider)
            {
                case ExecutionProvider.Cuda: so.AppendExecutionProvider_CUDA(options.DeviceId); break;
                case ExecutionProvider.DirectML: so.AppendExecutionProvider_DML(options.DeviceId); break;
            }
        }
        catch (Exception e) when (e is OnnxRuntimeException or EntryPointNotFoundException or DllNotFoundException)
        {
            throw new InferenceException($"the {options.Provider} execution provider is not available in the ONNX Runtime this app carries " +
                                         $"(reference {(options.Provider == ExecutionProvider.Cuda ? "Microsoft.ML.OnnxRuntime.Gpu" : "Microsoft.ML.OnnxRuntime.DirectML")} instead of Microsoft.ML.OnnxRuntime): {FirstLine(e.Message)}", e);
        }
        InferenceSession session;
        try
        {
            session = new InferenceSession(config.ModelFile, so);
        }
        catch (OnnxRuntimeException e)
        {
            throw new InferenceException($"{config.ModelFile}: ONNX Runtime cannot load it as a model ({FirstLine(e.Message)})", e);
        }
        var opened = new OnnxSession(session, config);
        try
        {
            opened.CheckSignature();
        }
        catch
        {
            opened.Dispose();
            throw;
        }
        return opened;
    }

    // The graph must take x_in [batch, ...sample shape], c_noise_t and c_noise_u [batch] (float32), y [batch] (int64) exactly
    // when the config has classes, and give F of x_in's shape.
    private void CheckSignature()
    {
        string file = config.ModelFile;
        var inputs = session.InputMetadata;
        var expected = new List<string> { X, CNoiseT, CNoiseU };
        if (config.NumClasses > 0) expected.Add(Labels);
        if (!inputs.Keys.Order().SequenceEqual(expected.Order()))
            throw new InferenceException($"{file}: the graph's inputs are ({string.Join(", ", inputs.Keys)}), not a BCM export's ({string.Join(", ", expected)}); " +
                                         (inputs.ContainsKey(Labels) != config.NumClasses > 0 ? $"config.json says num_classes {config.NumClasses}, which the graph does not match" : "export it with bcm export --format onnx"));
        Expect(X, inputs[X], TensorElementType.Float, [.. config.SampleShape]);
        Expect(CNoiseT, inputs[CNoiseT], TensorElementType.Float, []);
        Expect(CNoiseU, inputs[CNoiseU], TensorElementType.Float, []);
        if (config.NumClasses > 0) Expect(Labels, inputs[Labels], TensorElementType.Int64, []);
        if (!session.OutputMetadata.TryGetValue(Output, out var output) || session.OutputMetadata.Count != 1)
            throw new InferenceException($"{file}: the graph's outputs are ({string.Join(", ", session.OutputMetadata.Keys)}), not a BCM export's single output F");
        Expect(Output, output, TensorElementType.Float, [.. config.SampleShape]);

        void Expect(string name, NodeMetadata meta, Microsoft.ML.OnnxRuntime.Tensors.TensorElementType type, int[] sample)
        {
            var dims = meta.Dimensions;
            bool shapeOk = dims.Length == sample.Length + 1 && dims[0] <= 0 && dims.Skip(1).SequenceEqual(sample);
            if (!meta.IsTensor || meta.ElementDataType != type || !shapeOk)
                throw new InferenceException($"{file}: input or output '{name}' is {meta.ElementDataType} [{string.Join(", ", dims.Select(d => d <= 0 ? "batch" : d.ToString()))}], " +
                                             $"but config.json's model needs {type} [batch{string.Concat(sample.Select(s => ", " + s))}]: the model and config.json are not from the same export");
        }
    }

    /// <summary>F(x_in, c_noise_t, c_noise_u, y) for a batch of <paramref name="count"/> samples, into <paramref name="output"/>.</summary>
    public void Forward(AlignedBuffer xIn, float[] cNoiseT, float[] cNoiseU, long[]? labels, int count, AlignedBuffer output)
    {
        long[] shape = [count, .. config.SampleShape.Select(v => (long)v)];
        using var x = OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, TensorElementType.Float, shape, xIn.Pointer, (long)xIn.Length * sizeof(float));
        using var t = OrtValue.CreateTensorValueFromMemory(cNoiseT, [count]);
        using var u = OrtValue.CreateTensorValueFromMemory(cNoiseU, [count]);
        using var y = labels is null ? null : OrtValue.CreateTensorValueFromMemory(labels, [count]);
        using var f = OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, TensorElementType.Float, shape, output.Pointer, (long)output.Length * sizeof(float));
        var names = new List<string> { X, CNoiseT, CNoiseU };
        var values = new List<OrtValue> { x, t, u };
        if (y is not null)
        {
            names.Add(Labels);
            values.Add(y);
        }
        using var run = new RunOptions();
        session.Run(run, names, values, [Output], [f]);
    }

    public void Dispose() => session.Dispose();

    private static string FirstLine(string message) => message.Split('\n')[0].Trim();
}
