using Bcm.IO;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace Bcm.Checkpoints;

/// <summary>
/// Reader and writer of the safetensors format (8-byte little-endian header length, JSON header, raw little-endian
/// data): readable by PyTorch users with <c>safetensors.torch.load_file</c>. Half and bfloat16 tensors are converted
/// to float32 on load. Writes are atomic: a temporary file in the same folder, flushed, then renamed.
/// </summary>
public static class SafeTensors
{
    private const long MaxHeader = 100_000_000;

    /// <summary>Reads every tensor of a file (CPU tensors) and the header's metadata.</summary>
    public static (Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata) Load(string path)
    {
        if (!File.Exists(path)) throw new CheckpointException($"{path}: no such file");
        using var stream = File.OpenRead(path);
        var (header, dataStart) = ReadHeader(stream, path);
        var metadata = new Dictionary<string, string>();
        var tensors = new Dictionary<string, Tensor>();
        try
        {
            foreach (var (name, node) in header)
            {
                if (name == "__metadata__")
                {
                    foreach (var (k, v) in node!.AsObject()) metadata[k] = v?.ToString() ?? "";
                    continue;
                }
                tensors[name] = ReadTensor(stream, path, name, node!.AsObject(), dataStart);
            }
        }
        catch
        {
            foreach (var t in tensors.Values) t.Dispose();
            throw;
        }
        return (tensors, metadata);
    }

    /// <summary>Only the names and shapes of the tensors and the metadata, without reading the data.</summary>
    public static (Dictionary<string, (string DType, long[] Shape)> Entries, Dictionary<string, string> Metadata) Inspect(string path)
    {
        if (!File.Exists(path)) throw new CheckpointException($"{path}: no such file");
        using var stream = File.OpenRead(path);
        var (header, _) = ReadHeader(stream, path);
        var entries = new Dictionary<string, (string, long[])>();
        var metadata = new Dictionary<string, string>();
        foreach (var (name, node) in header)
        {
            if (name == "__metadata__")
                foreach (var (k, v) in node!.AsObject()) metadata[k] = v?.ToString() ?? "";
            else
                entries[name] = (node!["dtype"]!.GetValue<string>(), node["shape"]!.AsArray().Select(s => s!.GetValue<long>()).ToArray());
        }
        return (entries, metadata);
    }

    /// <summary>Writes tensors (any device; stored as their dtype) and metadata atomically.</summary>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var header = new JsonObject();
        if (metadata is { Count: > 0 })
        {
            var meta = new JsonObject();
            foreach (var (k, v) in metadata) meta[k] = v;
            header["__metadata__"] = meta;
        }
        var blobs = new List<byte[]>();
        long offset = 0;
        foreach (var (name, tensor) in tensors.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            var bytes = ToBytes(tensor, out string dtype);
            header[name] = new JsonObject
            {
                ["dtype"] = dtype,
                ["shape"] = new JsonArray(tensor.shape.Select(s => (JsonNode)s).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + bytes.Length),
            };
            blobs.Add(bytes);
            offset += bytes.Length;
        }
        var headerBytes = Encoding.UTF8.GetBytes(header.ToJsonString());
        int pad = (8 - headerBytes.Length % 8) % 8;
        AtomicFile.Write(path, stream =>
        {
            Span<byte> len = stackalloc byte[8];
            BinaryPrimitives.WriteInt64LittleEndian(len, headerBytes.Length + pad);
            stream.Write(len);
            stream.Write(headerBytes);
            for (int i = 0; i < pad; i++) stream.WriteByte((byte)' ');
            foreach (var b in blobs) stream.Write(b);
        });
    }

    private static (JsonObject Header, long DataStart) ReadHeader(FileStream stream, string path)
    {
        Span<byte> len = stackalloc byte[8];
        if (stream.Read(len) != 8) throw new CheckpointException($"{path}: truncated (shorter than the 8-byte safetensors header length)");
        long n = BinaryPrimitives.ReadInt64LittleEndian(len);
        if (n <= 0 || n > MaxHeader || n > stream.Length - 8)
            throw new CheckpointException($"{path}: not a safetensors file, or truncated (header length {n}, file length {stream.Length})");
        var bytes = new byte[n];
        stream.ReadExactly(bytes);
        try
        {
            var header = JsonNode.Parse(bytes)?.AsObject() ?? throw new CheckpointException($"{path}: empty safetensors header");
            return (header, 8 + n);
        }
        catch (JsonException e)
        {
            throw new CheckpointException($"{path}: the safetensors header is not valid JSON ({e.Message})", e);
        }
    }

    private static Tensor ReadTensor(FileStream stream, string path, string name, JsonObject node, long dataStart)
    {
        string dtype = node["dtype"]!.GetValue<string>();
        long[] shape = node["shape"]!.AsArray().Select(s => s!.GetValue<long>()).ToArray();
        var offsets = node["data_offsets"]!.AsArray();
        long begin = offsets[0]!.GetValue<long>(), end = offsets[1]!.GetValue<long>();
        long count = shape.Aggregate(1L, (a, b) => a * b);
        int width = dtype switch
        {
            "F64" or "I64" => 8,
            "F32" or "I32" => 4,
            "F16" or "BF16" or "I16" => 2,
            "U8" or "I8" or "BOOL" => 1,
            _ => throw new CheckpointException($"{path}: tensor {name} has unsupported dtype {dtype}"),
        };
        if (end - begin != count * width)
            throw new CheckpointException($"{path}: tensor {name} has {end - begin} bytes, its shape [{string.Join(", ", shape)}] needs {count * width}");
        if (dataStart + end > stream.Length)
            throw new CheckpointException($"{path}: truncated: tensor {name} ends at byte {dataStart + end}, the file has {stream.Length}");
        var bytes = new byte[end - begin];
        stream.Position = dataStart + begin;
        stream.ReadExactly(bytes);
        return FromBytes(bytes, dtype, shape);
    }

    /// <summary>Makes a CPU tensor from little-endian bytes; half precision becomes float32.</summary>
    internal static Tensor FromBytes(byte[] bytes, string dtype, long[] shape)
    {
        switch (dtype)
        {
            case "F32": return tensor(MemoryMarshal.Cast<byte, float>(bytes).ToArray(), shape);
            case "F64": return tensor(MemoryMarshal.Cast<byte, double>(bytes).ToArray(), shape);
            case "I64": return tensor(MemoryMarshal.Cast<byte, long>(bytes).ToArray(), shape);
            case "I32": return tensor(MemoryMarshal.Cast<byte, int>(bytes).ToArray(), shape);
            case "I16": return tensor(MemoryMarshal.Cast<byte, short>(bytes).ToArray(), shape);
            case "U8": return tensor(bytes, shape);
            case "I8": return tensor(MemoryMarshal.Cast<byte, sbyte>(bytes).ToArray(), shape);
            case "BOOL": return tensor(bytes.Select(b => b != 0).ToArray(), shape);
            case "F16":
            {
                var halves = MemoryMarshal.Cast<byte, Half>(bytes);
                var f = new float[halves.Length];
                for (int i = 0; i < f.Length; i++) f[i] = (float)halves[i];
                return tensor(f, shape);
            }
            case "BF16":
            {
                var raw = MemoryMarshal.Cast<byte, ushort>(bytes);
                var f = new float[raw.Length];
                for (int i = 0; i < f.Length; i++) f[i] = BitConverter.Int32BitsToSingle(raw[i] << 16);
                return tensor(f, shape);
            }
            default: throw new CheckpointException($"unsupported dtype {dtype}");
        }
    }

    private static byte[] ToBytes(Tensor t, out string dtype)
    {
        using var cpu = t.detach().cpu().contiguous();
        switch (cpu.dtype)
        {
            case ScalarType.Float32: dtype = "F32"; return MemoryMarshal.AsBytes(cpu.data<float>().ToArray().AsSpan()).ToArray();
            case ScalarType.Float64: dtype = "F64"; return MemoryMarshal.AsBytes(cpu.data<double>().ToArray().AsSpan()).ToArray();
            case ScalarType.Int64: dtype = "I64"; return MemoryMarshal.AsBytes(cpu.data<long>().ToArray().AsSpan()).ToArray();
            case ScalarType.Int32: dtype = "I32"; return MemoryMarshal.AsBytes(cpu.data<int>().ToArray().AsSpan()).ToArray();
            case ScalarType.Byte: dtype = "U8"; return cpu.data<byte>().ToArray();
            default: throw new NotSupportedException($"cannot write dtype {cpu.dtype} to safetensors");
        }
    }
}
