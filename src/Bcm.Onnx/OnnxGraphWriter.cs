using System.Runtime.InteropServices;
using Bcm.Networks;
using Google.Protobuf;
using Onnx;
using static TorchSharp.torch;

namespace Bcm.Onnx;

/// <summary>
/// An <see cref="IGraphWriter"/> that builds an ONNX model (opset 17) with OnnxSharp's protobuf classes: every node
/// gets a fresh output name, every weight and constant becomes an initializer (float32 or int64, raw little-endian data).
/// </summary>
internal sealed class OnnxGraphWriter : IGraphWriter
{
    /// <summary>The ONNX operator set the graph uses (17: LayerNormalization; GroupNormalization is decomposed).</summary>
    public const long Opset = 17;

    private readonly GraphProto graph = new() { Name = "bcm" };
    private readonly HashSet<string> weights = [];
    private int counter;

    public string[] Node(string op, IReadOnlyList<string> inputs, int outputs, params (string Name, object Value)[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = $"{op}_{counter}" };
        node.Input.AddRange(inputs);
        var names = Enumerable.Range(0, outputs).Select(i => $"{op.ToLowerInvariant()}_{counter}{(outputs > 1 ? $"_{i}" : "")}").ToArray();
        counter++;
        node.Output.AddRange(names);
        foreach (var (name, value) in attributes) node.Attribute.Add(Attribute(name, value));
        graph.Node.Add(node);
        return names;
    }

    public string Weight(string name, Tensor value)
    {
        if (weights.Add(name)) graph.Initializer.Add(Float(name, value));
        return name;
    }

    public string Constant(float[] values, long[] shape)
    {
        string name = $"const_{counter++}";
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float, RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan())) };
        t.Dims.AddRange(shape);
        graph.Initializer.Add(t);
        return name;
    }

    public string Constant(long[] values)
    {
        string name = $"const_{counter++}";
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64, RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan())) };
        t.Dims.Add(values.Length);
        graph.Initializer.Add(t);
        return name;
    }

    /// <summary>Declares a graph input of element type float32 (or int64) whose first dimension is the dynamic batch.</summary>
    public void Input(string name, long[] shapeAfterBatch, bool int64 = false) => graph.Input.Add(Value(name, shapeAfterBatch, int64));

    /// <summary>Declares a graph output: renames the value <paramref name="value"/> to <paramref name="name"/> through an Identity node.</summary>
    public void Output(string value, string name, long[] shapeAfterBatch)
    {
        graph.Node.Add(new NodeProto { OpType = "Identity", Name = "output", Input = { value }, Output = { name } });
        graph.Output.Add(Value(name, shapeAfterBatch, false));
    }

    /// <summary>The model: the graph, the opset, and the metadata given.</summary>
    public ModelProto Model(IReadOnlyDictionary<string, string> metadata)
    {
        var model = new ModelProto { IrVersion = 8, ProducerName = "bcm", ProducerVersion = typeof(OnnxGraphWriter).Assembly.GetName().Version?.ToString() ?? "", Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        foreach (var (k, v) in metadata) model.MetadataProps.Add(new StringStringEntryProto { Key = k, Value = v });
        return model;
    }

    private static ValueInfoProto Value(string name, long[] shapeAfterBatch, bool int64)
    {
        var shape = new TensorShapeProto();
        shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimParam = "batch" });
        foreach (var d in shapeAfterBatch) shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        var type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)(int64 ? TensorProto.Types.DataType.Int64 : TensorProto.Types.DataType.Float), Shape = shape } };
        return new ValueInfoProto { Name = name, Type = type };
    }

    private static TensorProto Float(string name, Tensor value)
    {
        using var cpu = value.detach().to(ScalarType.Float32).cpu().contiguous();
        var data = cpu.data<float>().ToArray();
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float, RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(data.AsSpan())) };
        t.Dims.AddRange(value.shape);
        return t;
    }

    private static AttributeProto Attribute(string name, object value) => value switch
    {
        long i => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = i },
        float f => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = f },
        string s => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(s) },
        long[] ints => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints, Ints = { ints } },
        float[] floats => new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Floats, Floats = { floats } },
        _ => throw new ArgumentException($"attribute {name}: unsupported value {value.GetType().Name}"),
    };
}
