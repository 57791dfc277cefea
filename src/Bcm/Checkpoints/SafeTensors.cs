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

    /// <summary>One tensor's entry in a header: its dtype, shape and byte range in the data section.</summary>
    public sealed record Entry(string DType, long[] Shape, long Begin, long End);

    /// <summary>Reads every tensor of a file (CPU tensors) and the header's metadata.</summary>
    public static (Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata) Load(string path)
    {
        if (!File.Exists(path)) throw new CheckpointException($"{path}: no such file");
        using var stream = InputFile.OpenRead(path, "checkpoint");
        var (entries, metadata, dataStart) = ReadHeader(stream, path);
        var tensors = new Dictionary<string, Tensor>();
        try
        {
            foreach (var (name, e) in entries)
            {
                var bytes = new byte[e.End - e.Begin];
                stream.Position = dataStart + e.Begin;
                stream.ReadExactly(bytes);
                tensors[name] = FromBytes(bytes, e.DType, e.Shape);
            }
        }
        catch
        {
            foreach (var t in tensors.Values) t.Dispose();
            throw;
        }
        return (tensors, metadata);
    }

    /// <summary>Only the names and shapes of the tensors and the metadata, without reading the data (the header is validated as for <see cref="Load"/>).</summary>
    public static (Dictionary<string, (string DType, long[] Shape)> Entries, Dictionary<string, string> Metadata) Inspect(string path)
    {
        if (!File.Exists(path)) throw new CheckpointException($"{path}: no such file");
        using var stream = InputFile.OpenRead(path, "checkpoint");
        var (entries, metadata, _) = ReadHeader(stream, path);
        return (entries.ToDictionary(kv => kv.Key, kv => (kv.Value.DType, kv.Value.Shape)), metadata);
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

    /// <summary>Bytes per element of a safetensors dtype, or 0 when we do not read it.</summary>
    internal static int Width(string dtype) => dtype switch
    {
        "F64" or "I64" => 8,
        "F32" or "I32" => 4,
        "F16" or "BF16" or "I16" => 2,
        "U8" or "I8" or "BOOL" => 1,
        _ => 0,
    };

    /// <summary>
    /// Reads and validates the header: every entry an object with a known dtype, a shape of non-negative integers whose
    /// byte size fits, and data offsets that match it; the entries, in offset order, cover the data section exactly
    /// (no gaps, no overlaps, nothing pointing into the header, nothing past the end of the file).
    /// </summary>
    private static (Dictionary<string, Entry> Entries, Dictionary<string, string> Metadata, long DataStart) ReadHeader(FileStream stream, string path)
    {
        Span<byte> len = stackalloc byte[8];
        if (stream.Read(len) != 8) throw new CheckpointException($"{path}: truncated (shorter than the 8-byte safetensors header length)");
        long n = BinaryPrimitives.ReadInt64LittleEndian(len);
        if (n <= 0 || n > MaxHeader || n > stream.Length - 8)
            throw new CheckpointException($"{path}: not a safetensors file, or truncated (header length {n}, file length {stream.Length})");
        var bytes = new byte[n];
        stream.ReadExactly(bytes);
        JsonObject header;
        try
        {
            header = JsonNode.Parse(bytes) as JsonObject ?? throw new CheckpointException($"{path}: the safetensors header is not a JSON object");
            _ = header.Count; // builds the object's dictionary now: a name given twice fails here, not later without the file's name
            if (header["__metadata__"] is JsonObject meta) _ = meta.Count;
        }
        catch (JsonException e)
        {
            throw new CheckpointException($"{path}: the safetensors header is not valid JSON ({e.Message})", e);
        }
        catch (ArgumentException e) // JsonObject refuses a repeated property name
        {
            throw new CheckpointException($"{path}: the safetensors header names an entry twice ({e.Message}); each tensor must appear once", e);
        }
        long dataStart = 8 + n, dataLength = stream.Length - dataStart;
        var entries = new Dictionary<string, Entry>();
        var metadata = new Dictionary<string, string>();
        foreach (var (name, node) in header)
        {
            if (name == "__metadata__")
            {
                if (node is not JsonObject meta) throw new CheckpointException($"{path}: __metadata__ is not an object of strings");
                foreach (var (k, v) in meta)
                    metadata[k] = v is JsonValue value && value.TryGetValue(out string? text) ? text : throw new CheckpointException($"{path}: metadata {k} is not a string");
                continue;
            }
            entries[name] = ParseEntry(path, name, node);
        }
        long expected = 0;
        foreach (var (name, e) in entries.OrderBy(kv => kv.Value.Begin).ThenBy(kv => kv.Value.End))
        {
            if (e.Begin != expected)
                throw new CheckpointException($"{path}: tensor {name} starts at data byte {e.Begin}, expected {expected} (the offsets must cover the data section in order, without gaps or overlaps)");
            expected = e.End;
        }
        if (expected > dataLength) throw new CheckpointException($"{path}: truncated: the tensors need {expected} data bytes, the file has {dataLength}");
        if (expected < dataLength) throw new CheckpointException($"{path}: {dataLength - expected} bytes after the last tensor belong to none");
        return (entries, metadata, dataStart);
    }

    private static Entry ParseEntry(string path, string name, JsonNode? node)
    {
        string Bad(string what) => $"{path}: tensor {name}: {what}";
        if (node is not JsonObject o) throw new CheckpointException(Bad("its entry is not an object"));
        string dtype = o["dtype"] is JsonValue d && d.TryGetValue(out string? t) ? t : throw new CheckpointException(Bad("no dtype string"));
        int width = Width(dtype);
        if (width == 0) throw new CheckpointException(Bad($"unsupported dtype {dtype}"));
        long[] Integers(string key) => o[key] is JsonArray a
            ? a.Select(v => v is JsonValue j && j.TryGetValue(out long x) && x >= 0 ? x : throw new CheckpointException(Bad($"{key} holds {v?.ToJsonString() ?? "null"}, not a non-negative integer"))).ToArray()
            : throw new CheckpointException(Bad($"no {key} array"));
        long[] shape = Integers("shape"), offsets = Integers("data_offsets");
        if (shape.Length > 16) throw new CheckpointException(Bad($"{shape.Length} dimensions"));
        if (offsets.Length != 2 || offsets[1] < offsets[0]) throw new CheckpointException(Bad("data_offsets must be [begin, end] with begin ≤ end"));
        long bytes = width;
        foreach (var size in shape)
            if (size != 0 && bytes > long.MaxValue / size) throw new CheckpointException(Bad($"shape [{string.Join(", ", shape)}] overflows"));
            else bytes *= size;
        if (offsets[1] - offsets[0] != bytes)
            throw new CheckpointException(Bad($"{offsets[1] - offsets[0]} bytes, its shape [{string.Join(", ", shape)}] needs {bytes}"));
        return new Entry(dtype, shape, offsets[0], offsets[1]);
    }

    /// <summary>Makes a CPU tensor from little-endian bytes; half precision becomes float32.</summary>
    /// <summary>The libtorch element type of a safetensors dtype name.</summary>
    internal static ScalarType TorchType(string dtype) => dtype switch
    {
        "F32" => ScalarType.Float32, "F64" => ScalarType.Float64, "F16" => ScalarType.Float16, "BF16" => ScalarType.BFloat16,
        "I64" => ScalarType.Int64, "I32" => ScalarType.Int32, "I16" => ScalarType.Int16, "I8" => ScalarType.Int8,
        "U8" => ScalarType.Byte, "BOOL" => ScalarType.Bool,
        _ => throw new CheckpointException($"unsupported dtype {dtype}"),
    };

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
