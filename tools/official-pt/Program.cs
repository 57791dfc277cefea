// Writes a state_dict in the layout torch.save uses (a zip of archive/data.pkl and one uncompressed file per storage),
// with the key names and shapes of a preset's network and its freshly initialised weights stored as float16 (as the
// official ImageNet-64 checkpoints are) or float32. The pickle is the one torch.save writes for a dict of tensors:
// each value is torch._utils._rebuild_tensor_v2((persistent id 'storage', HalfStorage, key, 'cpu', numel), 0, size, stride).
//   dotnet run -c Release -- imagenet64 /tmp/imagenet64-f16.pt f16
using System.IO.Compression;
using System.Text;
using Bcm.Networks;
using Bcm.Training;
using static TorchSharp.torch;

if (args.Length < 2) { Console.Error.WriteLine("usage: official-pt PRESET OUT.pt [f16|f32]"); return 2; }
bool half = args.Length < 3 || args[2] == "f16";
var net = NetworkFactory.Create(Presets.Get(args[0]).Network);
var state = net.Module.state_dict();
var pickle = new List<byte> { 0x80, 0x02, (byte)'}' };
void Text(string t) { var b = Encoding.UTF8.GetBytes(t); pickle.Add((byte)'X'); pickle.AddRange(BitConverter.GetBytes(b.Length)); pickle.AddRange(b); }
void Int(long v) { pickle.Add((byte)'J'); pickle.AddRange(BitConverter.GetBytes(checked((int)v))); }
void Tuple(IEnumerable<long> values) { pickle.Add((byte)'('); foreach (var v in values) Int(v); pickle.Add((byte)'t'); }
string tmp = args[1] + ".tmp";
using (var zip = ZipFile.Open(tmp, ZipArchiveMode.Create))
{
    int index = 0;
    long parameters = 0;
    foreach (var (name, value) in state)
    {
        string key = (index++).ToString();
        bool floating = value.is_floating_point();
        Text(name);
        pickle.AddRange(Encoding.ASCII.GetBytes("ctorch._utils\n_rebuild_tensor_v2\n(("));
        Text("storage");
        pickle.AddRange(Encoding.ASCII.GetBytes(floating ? (half ? "ctorch\nHalfStorage\n" : "ctorch\nFloatStorage\n") : "ctorch\nLongStorage\n"));
        Text(key);
        Text("cpu");
        Int(value.numel());
        pickle.AddRange("tQ"u8.ToArray());
        Int(0);
        Tuple(value.shape);
        Tuple(value.stride());
        pickle.AddRange("tRs"u8.ToArray());
        using var stored = floating ? value.detach().to(half ? ScalarType.Float16 : ScalarType.Float32).contiguous() : value.detach().to(ScalarType.Int64).contiguous();
        using (var s = zip.CreateEntry("archive/data/" + key, CompressionLevel.NoCompression).Open()) s.Write(stored.bytes);
        parameters += value.numel();
    }
    pickle.Add((byte)'.');
    using (var s = zip.CreateEntry("archive/data.pkl", CompressionLevel.NoCompression).Open()) s.Write(pickle.ToArray());
    Console.WriteLine($"{state.Count} tensors, {parameters:N0} numbers, stored as {(half ? "float16" : "float32")}");
}
File.Move(tmp, args[1], overwrite: true);
Console.WriteLine($"{args[1]}: {new FileInfo(args[1]).Length:N0} bytes");
return 0;
