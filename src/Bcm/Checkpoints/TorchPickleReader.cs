using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using static TorchSharp.torch;

namespace Bcm.Checkpoints;

/// <summary>
/// Reads a <c>torch.save</c>d state_dict (the PyTorch zip format: <c>archive/data.pkl</c> plus one file per storage)
/// without running any code: a restricted unpickler that knows dicts, lists, tuples, numbers, strings and tensor
/// storages, and refuses a pickle that asks for any other Python object (a pickle can otherwise run arbitrary code).
/// Tensors keep the file's dtype (half stays half), and each storage is read straight from the archive into its
/// tensor's memory: loading holds the file's bytes once, with no managed copy and no second copy per tensor.
/// </summary>
public static class TorchPickleReader
{
    // The only callables a state_dict pickle needs; anything else is refused.
    private static readonly HashSet<string> AllowedGlobals =
    [
        "collections OrderedDict", "torch._utils _rebuild_tensor_v2", "torch._utils _rebuild_parameter",
        "torch FloatStorage", "torch DoubleStorage", "torch HalfStorage", "torch BFloat16Storage", "torch LongStorage",
        "torch IntStorage", "torch ShortStorage", "torch CharStorage", "torch ByteStorage", "torch BoolStorage",
    ];

    /// <summary>Loads every tensor of the state_dict held in a PyTorch zip checkpoint.</summary>
    public static Dictionary<string, Tensor> Load(string path)
    {
        if (!File.Exists(path)) throw new CheckpointException($"{path}: no such file");
        IO.InputFile.RequireRegular(path, "checkpoint");
        try
        {
            return LoadArchive(path);
        }
        catch (InvalidDataException e) when (!IO.InputFile.IsOverCap(e)) // the zip reader finds damage lazily, e.g. while listing entries
        {
            throw new CheckpointException($"{path}: damaged archive: {e.Message}", e);
        }
    }

    /// <summary>
    /// The largest data.pkl read (64 MiB): a state_dict's pickle holds only names, shapes and storage keys, about 200 bytes
    /// a tensor, so this is room for some 300,000 tensors (the largest official UNets have about 700).
    /// </summary>
    public const long MaxPickleBytes = 64L << 20;

    private static Dictionary<string, Tensor> LoadArchive(string path)
    {
        ZipArchive zip;
        try
        {
            zip = ZipFile.OpenRead(path);
        }
        catch (InvalidDataException e)
        {
            throw new CheckpointException($"{path}: not a PyTorch zip checkpoint (or truncated): {e.Message}", e);
        }
        using (zip)
        {
            var pkl = zip.Entries.FirstOrDefault(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal) || e.FullName == "data.pkl")
                ?? throw new CheckpointException($"{path}: no data.pkl inside: not a torch.save checkpoint of PyTorch ≥ 1.6");
            string root = pkl.FullName[..^"data.pkl".Length];
            byte[] pickle;
            try
            {
                // The pickle of a state_dict holds names and shapes, a few hundred bytes a tensor: counted as it inflates, so
                // a small entry that inflates to gigabytes is refused at the cap, not after it has been allocated.
                pickle = IO.InputFile.ReadAll(pkl.Open(), MaxPickleBytes, $"{path} (data.pkl)", "state_dict pickle");
            }
            catch (InvalidDataException e) when (!IO.InputFile.IsOverCap(e))
            {
                throw new CheckpointException($"{path}: damaged archive: {e.Message}", e);
            }
            var storages = new Dictionary<string, Tensor>();
            try
            {
                var machine = new Machine(pickle, path, key => LoadStorage(zip, root, path, key, storages));
                var result = machine.Run();
                if (result is not IDictionary<object, object?> dict)
                    throw new CheckpointException($"{path}: the pickle holds a {Describe(result)}, not a state_dict");
                var tensors = new Dictionary<string, Tensor>();
                foreach (var (k, v) in dict)
                {
                    if (k is not string name) throw new CheckpointException($"{path}: a state_dict key is a {Describe(k)}, not a string");
                    if (v is not Tensor t) throw new CheckpointException($"{path}: entry {name} is a {Describe(v)}, not a tensor");
                    tensors[name] = t;
                }
                return tensors;
            }
            finally
            {
                foreach (var s in storages.Values) s.Dispose();
            }
        }
    }

    private static Tensor LoadStorage(ZipArchive zip, string root, string path, StorageRef r, Dictionary<string, Tensor> cache)
    {
        if (cache.TryGetValue(r.Key, out var cached)) return cached;
        string dtype = r.Type switch
        {
            "FloatStorage" => "F32", "DoubleStorage" => "F64", "HalfStorage" => "F16", "BFloat16Storage" => "BF16",
            "LongStorage" => "I64", "IntStorage" => "I32", "ShortStorage" => "I16", "CharStorage" => "I8",
            "ByteStorage" => "U8", "BoolStorage" => "BOOL",
            _ => throw new CheckpointException($"{path}: unsupported storage type {r.Type}"),
        };
        int width = SafeTensors.Width(dtype);
        var entry = zip.GetEntry(root + "data/" + r.Key) ?? throw new CheckpointException($"{path}: storage {r.Key} is missing from the archive (truncated?)");
        // torch.save stores entries uncompressed; refuse a declared size far beyond the archive (a zip bomb) before allocating it.
        long archive = new FileInfo(path).Length;
        if (entry.Length > Math.Max(16 * archive, 1 << 20))
            throw new CheckpointException($"{path}: storage {r.Key} declares {entry.Length:N0} bytes in an archive of {archive:N0}: refusing to inflate it");
        if (entry.Length % width != 0) throw new CheckpointException($"{path}: storage {r.Key} has {entry.Length} bytes, not a multiple of {width}");
        Tensor t;
        try
        {
            using var s = entry.Open();
            t = dtype == "BOOL" ? ReadBool(s, entry.Length) : ReadInto(empty(entry.Length / width, SafeTensors.TorchType(dtype)), s, width);
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException)
        {
            throw new CheckpointException($"{path}: storage {r.Key} cannot be read: {e.Message}", e);
        }
        cache[r.Key] = t;
        return t;
    }

    // Fills a new 1-D CPU tensor from the stream, a megabyte at a time (a span cannot cover more than 2 GB).
    private static Tensor ReadInto(Tensor t, Stream s, int width)
    {
        try
        {
            long chunk = (1 << 20) / width;
            for (long start = 0; start < t.shape[0]; start += chunk)
            {
                using var part = t.narrow(0, start, Math.Min(chunk, t.shape[0] - start));
                s.ReadExactly(part.bytes);
            }
            return t;
        }
        catch
        {
            t.Dispose();
            throw;
        }
    }

    // Booleans go through bytes so that any non-zero byte becomes true (libtorch expects exactly 0 or 1).
    private static Tensor ReadBool(Stream s, long length)
    {
        var bytes = new byte[length];
        s.ReadExactly(bytes);
        return SafeTensors.FromBytes(bytes, "BOOL", [length]);
    }

    private static string Describe(object? o) => o switch
    {
        null => "None",
        string => "string",
        _ => o.GetType().Name,
    };

    private sealed record StorageRef(string Type, string Key);

    private sealed record Global(string Name);

    private sealed class Mark
    {
        public static readonly Mark Instance = new();
    }

    /// <summary>The pickle virtual machine, restricted to the opcodes and globals a state_dict needs.</summary>
    private sealed class Machine(byte[] data, string path, Func<StorageRef, Tensor> storage)
    {
        private readonly List<object?> stack = [];
        private readonly Dictionary<long, object?> memo = [];
        private int pos;

        public object? Run()
        {
            while (true)
            {
                if (pos >= data.Length) throw Fail("the pickle ends without STOP (truncated)");
                byte op = data[pos++]; // pos < data.Length was checked above
                switch (op)
                {
                    case 0x80: pos++; break;                                        // PROTO
                    case 0x95: pos += 8; break;                                     // FRAME
                    case (byte)'}': stack.Add(new Dictionary<object, object?>()); break;  // EMPTY_DICT
                    case (byte)']': stack.Add(new List<object?>()); break;          // EMPTY_LIST
                    case (byte)')': stack.Add(Array.Empty<object?>()); break;       // EMPTY_TUPLE
                    case (byte)'(': stack.Add(Mark.Instance); break;                // MARK
                    case (byte)'q': memo[Byte()] = Top(); break;               // BINPUT
                    case (byte)'r': memo[ReadU32()] = Top(); break;                 // LONG_BINPUT
                    case 0x94: memo[memo.Count] = Top(); break;                     // MEMOIZE
                    case (byte)'h': stack.Add(Memo(Byte())); break;            // BINGET
                    case (byte)'j': stack.Add(Memo(ReadU32())); break;              // LONG_BINGET
                    case (byte)'X': stack.Add(ReadString((int)ReadU32())); break;   // BINUNICODE
                    case 0x8c: stack.Add(ReadString(Byte())); break;           // SHORT_BINUNICODE
                    case 0x8d: { long n = ReadI64(); stack.Add(ReadString(n is >= 0 and <= int.MaxValue ? (int)n : -1)); break; } // BINUNICODE8
                    case (byte)'U': stack.Add(ReadString(Byte())); break;      // SHORT_BINSTRING
                    case (byte)'T': stack.Add(ReadString((int)ReadU32())); break;   // BINSTRING
                    case (byte)'J': stack.Add((long)BinaryPrimitives.ReadInt32LittleEndian(Take(4))); break; // BININT
                    case (byte)'K': stack.Add((long)Byte()); break;            // BININT1
                    case (byte)'M': stack.Add((long)BinaryPrimitives.ReadUInt16LittleEndian(Take(2))); break; // BININT2
                    case 0x8a: stack.Add(ReadLong1()); break;                       // LONG1
                    case (byte)'G': stack.Add(BinaryPrimitives.ReadDoubleBigEndian(Take(8))); break; // BINFLOAT
                    case 0x88: stack.Add(true); break;                              // NEWTRUE
                    case 0x89: stack.Add(false); break;                             // NEWFALSE
                    case (byte)'N': stack.Add(null); break;                         // NONE
                    case (byte)'c': stack.Add(MakeGlobal(ReadLine() + " " + ReadLine())); break; // GLOBAL
                    case 0x93:                                                      // STACK_GLOBAL
                    {
                        var name = Pop() as string;
                        var module = Pop() as string;
                        stack.Add(MakeGlobal(module + " " + name));
                        break;
                    }
                    case (byte)'t': stack.Add(PopMark().ToArray()); break;          // TUPLE
                    case 0x85: stack.Add(new[] { Pop() }); break;                   // TUPLE1
                    case 0x86: { var b = Pop(); var a = Pop(); stack.Add(new[] { a, b }); break; }             // TUPLE2
                    case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); stack.Add(new[] { a, b, c }); break; } // TUPLE3
                    case (byte)'l': stack.Add(PopMark()); break;                    // LIST
                    case (byte)'d': stack.Add(ToDict(PopMark())); break;            // DICT
                    case (byte)'a': { var v = Pop(); AsList(Top()).Add(v); break; } // APPEND
                    case (byte)'e': { var items = PopMark(); AsList(Top()).AddRange(items); break; } // APPENDS
                    case (byte)'s': { var v = Pop(); var k = Pop(); AsDict(Top())[Key(k)] = v; break; } // SETITEM
                    case (byte)'u':                                                 // SETITEMS
                    {
                        var items = PopMark();
                        var dict = AsDict(Top());
                        for (int i = 0; i + 1 < items.Count; i += 2) dict[Key(items[i])] = items[i + 1];
                        break;
                    }
                    case (byte)'Q': stack.Add(PersistentLoad(Pop())); break;        // BINPERSID
                    case (byte)'R': { var args = Pop(); var fn = Pop(); stack.Add(Reduce(fn, args)); break; } // REDUCE
                    case (byte)'b': Pop(); break;                                   // BUILD: object state (OrderedDict._metadata) is not needed
                    case (byte)'.': return Pop();                                   // STOP
                    default:
                        throw Fail($"the pickle uses opcode 0x{op:x2} at byte {pos - 1}, which a tensor-only state_dict does not need; refused");
                }
            }
        }

        private object MakeGlobal(string name)
        {
            if (!AllowedGlobals.Contains(name))
                throw Fail($"the pickle asks for the Python object '{name.Replace(' ', '.')}'; only tensor data is accepted (refused for safety)");
            return new Global(name);
        }

        private object PersistentLoad(object? pid)
        {
            if (pid is object?[] { Length: 5 } t && t[0] as string == "storage" && t[1] is Global g && t[2] is string key)
                return storage(new StorageRef(g.Name.Split(' ')[1], key));
            throw Fail("unsupported persistent id (expected ('storage', type, key, location, size))");
        }

        private object Reduce(object? fn, object? args)
        {
            if (fn is not Global g || args is not object?[] a) throw Fail("REDUCE of something that is not an allowed callable");
            switch (g.Name)
            {
                case "collections OrderedDict":
                    return new Dictionary<object, object?>();
                case "torch._utils _rebuild_tensor_v2":
                {
                    if (a.Length < 4 || a[0] is not Tensor storageTensor) throw Fail("malformed _rebuild_tensor_v2 arguments");
                    long offset = NonNegative(a[1], "storage offset");
                    long[] size = Longs(a[2], "size"), stride = Longs(a[3], "stride");
                    if (size.Length != stride.Length || size.Length > 16) throw Fail($"a tensor with {size.Length} sizes and {stride.Length} strides");
                    long available = storageTensor.shape[0], elements = 1, last = offset;
                    for (int i = 0; i < size.Length; i++)
                    {
                        if (size[i] == 0) { elements = 0; break; }
                        // A tensor may not hold more elements than its storage (stride 0 would let a few bytes expand into gigabytes).
                        if (elements > available / size[i] || (size[i] > 1 && stride[i] > available))
                            throw Fail($"a tensor of size [{string.Join(", ", size)}], strides [{string.Join(", ", stride)}] does not fit its storage of {available} elements");
                        elements *= size[i];
                        last += (size[i] - 1) * stride[i];
                    }
                    if (elements > 0 && last >= available) throw Fail($"a tensor needs element {last} of a storage that has {available}");
                    // A view, not a copy: it shares the storage's memory, which lives until the last tensor over it is disposed.
                    return storageTensor.as_strided(size, stride, offset);
                }
                case "torch._utils _rebuild_parameter":
                    return a.Length > 0 && a[0] is Tensor p ? p : throw Fail("malformed _rebuild_parameter arguments");
                default:
                    throw Fail($"'{g.Name}' cannot be called here");
            }
        }

        private long NonNegative(object? value, string what) => value switch
        {
            int i when i >= 0 => i,
            long l when l >= 0 => l,
            _ => throw Fail($"the {what} is {value ?? "None"}, not a non-negative integer"),
        };

        private long[] Longs(object? value, string what) =>
            value is object?[] items ? items.Select(v => NonNegative(v, what)).ToArray() : throw Fail($"the {what} is not a tuple");

        private static object Key(object? k) => k ?? throw new CheckpointException("a dictionary key is None");

        private Dictionary<object, object?> ToDict(List<object?> items)
        {
            var d = new Dictionary<object, object?>();
            for (int i = 0; i + 1 < items.Count; i += 2) d[Key(items[i])] = items[i + 1];
            return d;
        }

        private Dictionary<object, object?> AsDict(object? o) => o as Dictionary<object, object?> ?? throw Fail("SETITEM on something that is not a dict");

        private List<object?> AsList(object? o) => o as List<object?> ?? throw Fail("APPEND on something that is not a list");

        private object? Memo(long i) => memo.TryGetValue(i, out var v) ? v : throw Fail($"memo entry {i} is missing");

        private object? Top() => stack.Count > 0 ? stack[^1] : throw Fail("stack underflow");

        private object? Pop()
        {
            var v = Top();
            stack.RemoveAt(stack.Count - 1);
            return v;
        }

        private List<object?> PopMark()
        {
            int i = stack.FindLastIndex(o => ReferenceEquals(o, Mark.Instance));
            if (i < 0) throw Fail("MARK missing");
            var items = stack.GetRange(i + 1, stack.Count - i - 1);
            stack.RemoveRange(i, stack.Count - i);
            return items;
        }

        private byte Byte() => pos < data.Length ? data[pos++] : throw Fail("the pickle is truncated");

        private ReadOnlySpan<byte> Take(int n)
        {
            if (n < 0) throw Fail($"a length of {n}");
            if ((long)pos + n > data.Length) throw Fail("the pickle is truncated");
            var s = data.AsSpan(pos, n);
            pos += n;
            return s;
        }

        private uint ReadU32() => BinaryPrimitives.ReadUInt32LittleEndian(Take(4));

        private long ReadI64() => BinaryPrimitives.ReadInt64LittleEndian(Take(8));

        private string ReadString(int n) => Encoding.UTF8.GetString(Take(n));

        private long ReadLong1()
        {
            int n = Byte();
            var bytes = Take(n);
            if (n > 8) throw Fail("integer too large");
            long v = 0;
            for (int i = n - 1; i >= 0; i--) v = (v << 8) | bytes[i];
            if (n > 0 && n < 8 && (bytes[n - 1] & 0x80) != 0) v -= 1L << (8 * n);
            return v;
        }

        private string ReadLine()
        {
            int end = Array.IndexOf(data, (byte)'\n', pos);
            if (end < 0) throw Fail("the pickle is truncated");
            var s = Encoding.ASCII.GetString(data, pos, end - pos);
            pos = end + 1;
            return s;
        }

        private CheckpointException Fail(string message) => new($"{path}: {message}");
    }
}
