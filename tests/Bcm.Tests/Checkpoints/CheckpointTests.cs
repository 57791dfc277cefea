using System.Runtime.InteropServices;
using Bcm.Training;
using Bcm.IO;
using System.IO.Compression;
using System.Text;
using Bcm.Checkpoints;
using Bcm.Networks;
using Xunit;
using static TorchSharp.torch;

namespace Bcm.Tests;

public sealed class CheckpointTests
{
    [Fact]
    public void SafeTensorsRoundTripKeepsValuesDtypesAndMetadata()
    {
        var dir = TestPaths.NewTempDir();
        string path = Path.Combine(dir, "t.safetensors");
        using var a = randn(3, 4);
        using var b = arange(5L);
        using var c = tensor(new double[] { 1.5, -2 });
        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["a"] = a, ["b"] = b, ["c"] = c }, new Dictionary<string, string> { ["k"] = "v" });
        var (t, meta) = SafeTensors.Load(path);
        Assert.Equal("v", meta["k"]);
        Assert.True((t["a"] == a).all().item<bool>());
        Assert.Equal(ScalarType.Int64, t["b"].dtype);
        Assert.True((t["b"] == b).all().item<bool>());
        Assert.Equal(ScalarType.Float64, t["c"].dtype);
        Assert.Empty(Directory.GetFiles(dir, "*.tmp"));
    }

    /// <summary>Hand-made headers that a lenient reader would accept: each must be refused with the project's bad-input exception.</summary>
    [Theory]
    [InlineData("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}""", 12, "without gaps or overlaps")]
    [InlineData("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}""", 12, "starts at data byte 4")]
    [InlineData("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}""", 12, "4 bytes after the last tensor")]
    [InlineData("""{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]}}""", 8, "truncated")]
    [InlineData("""{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}""", 4, "not a non-negative integer")]
    [InlineData("""{"a":{"dtype":"F32","shape":["x"],"data_offsets":[0,4]}}""", 4, "not a non-negative integer")]
    [InlineData("""{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}}""", 4, "overflows")]
    [InlineData("""{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}""", 8, "begin ≤ end")]
    [InlineData("""{"a":{"dtype":"Q7","shape":[1],"data_offsets":[0,1]}}""", 1, "unsupported dtype")]
    [InlineData("""{"a":[1,2]}""", 0, "not an object")]
    [InlineData("""{"__metadata__":{"k":[1]}}""", 0, "not a string")]
    [InlineData("""[1,2,3]""", 0, "not a JSON object")]
    public void MalformedSafeTensorsHeadersAreRefused(string header, int dataBytes, string expected)
    {
        string path = Path.Combine(TestPaths.NewTempDir(), "bad.safetensors");
        var json = System.Text.Encoding.UTF8.GetBytes(header);
        using (var f = File.Create(path))
        {
            f.Write(BitConverter.GetBytes((long)json.Length));
            f.Write(json);
            f.Write(new byte[dataBytes]);
        }
        Assert.Contains(expected, Assert.Throws<CheckpointException>(() => SafeTensors.Load(path)).Message);
        Assert.Contains(expected, Assert.Throws<CheckpointException>(() => SafeTensors.Inspect(path)).Message);
    }

    [Theory]
    [InlineData("options", "{", "options in its metadata are malformed")]
    [InlineData("options", "{\"batch_size\": -3}", "options in its metadata are malformed")]
    [InlineData("step", "abc", "metadata step is missing or not a non-negative integer")]
    [InlineData("step", "-5", "metadata step is missing or not a non-negative integer")]
    public void MalformedTrainingMetadataIsBadInput(string key, string value, string expected)
    {
        string bad = WithMetadata(TinyCheckpoint(), meta => meta[key] = value);
        Assert.Contains(expected, Assert.Throws<CheckpointException>(() => Bcm.Training.ModelLoader.Load(bad)).Message);
    }

    // The checkpoint of a one-step tiny run.
    private static string TinyCheckpoint()
    {
        var dir = TestPaths.NewTempDir();
        using (var t = Bcm.Training.Trainer.OpenOrResume(Bcm.Training.Presets.Get("tiny") with { Steps = 1, CheckpointEvery = 1, SampleEvery = 0 }, dir)) t.Run();
        return Bcm.Training.TrainingCheckpoint.List(dir)[^1].Path;
    }

    // A copy of a safetensors file with its metadata edited, in a new folder.
    private static string WithMetadata(string source, Action<Dictionary<string, string>> edit)
    {
        var (tensors, meta) = SafeTensors.Load(source);
        edit(meta);
        string copy = Path.Combine(TestPaths.NewTempDir(), "edited.safetensors");
        SafeTensors.Save(copy, tensors, meta);
        foreach (var t in tensors.Values) t.Dispose();
        return copy;
    }

    [Theory]
    [InlineData("model_channels", "abc", "metadata model_channels is 'abc'")]
    [InlineData("channel_mult", "(1, x)", "metadata channel_mult holds 'x'")]
    [InlineData("image_size", "100000", "unusable architecture: image size must be in 1..1024")]
    [InlineData("dropout", "nan", "metadata dropout is 'nan'")]
    public void MalformedOfficialMetadataIsBadInput(string key, string value, string expected)
    {
        string bad = WithMetadata(TestPaths.Golden("adm-tiny-uncond.safetensors"), meta => meta[key] = value);
        Assert.Contains(expected, Assert.Throws<CheckpointException>(() => Bcm.Training.ModelLoader.Load(bad)).Message);
    }

    [Fact]
    public void AnAbsurdArchitectureInACheckpointIsRefusedBeforeAnyTensorIsMade()
    {
        string bad = WithMetadata(TinyCheckpoint(), meta =>
        {
            Assert.Matches("\"image_size\": ?8", meta["options"]);
            meta["options"] = System.Text.RegularExpressions.Regex.Replace(meta["options"], "\"image_size\": ?8", "\"image_size\": 100000");
        });
        var e = Assert.Throws<CheckpointException>(() => Bcm.Training.ModelLoader.Load(bad));
        Assert.Contains("image size must be in 1..1024, got 100000", e.Message);
    }

    [Fact]
    public void MissingCheckpointIsAClearError() =>
        Assert.Contains("no such", Assert.Throws<CheckpointException>(() => ModelLoader.Load("/nonexistent/ckpt.safetensors")).Message);

    [Fact]
    public void TruncatedCheckpointIsAClearError()
    {
        var dir = TestPaths.NewTempDir();
        string path = Path.Combine(dir, "cut.safetensors");
        var bytes = File.ReadAllBytes(TestPaths.Golden("adm-tiny-cond.safetensors"));
        File.WriteAllBytes(path, bytes.AsSpan(0, bytes.Length / 2).ToArray());
        var e = Assert.Throws<CheckpointException>(() => SafeTensors.Load(path));
        Assert.Contains("truncated", e.Message);
        File.WriteAllBytes(path, bytes.AsSpan(0, 5).ToArray());
        Assert.Contains("truncated", Assert.Throws<CheckpointException>(() => SafeTensors.Load(path)).Message);

        string pt = Path.Combine(dir, "cut.pt");
        var ptBytes = File.ReadAllBytes(TestPaths.Golden("adm-tiny-cond.state_dict.pt"));
        File.WriteAllBytes(pt, ptBytes.AsSpan(0, ptBytes.Length / 2).ToArray());
        Assert.Contains("cut.pt", Assert.Throws<CheckpointException>(() => TorchPickleReader.Load(pt)).Message);
    }

    [Fact]
    public void CheckpointOfAnotherArchitectureNamesTheFirstMismatch()
    {
        // The conditional golden model into the unconditional architecture.
        var (tensors, meta) = SafeTensors.Load(TestPaths.Golden("adm-tiny-uncond.safetensors"));
        using var net = new UNet(ModelLoader.OfficialConfig(meta) with { ChannelMult = [1, 2, 3] });
        var weights = tensors.Where(kv => !ModelLoader.IsReferenceData(kv.Key)).ToDictionary();
        var e = Assert.Throws<CheckpointException>(() => StateDict.Load(net, weights, "uncond"));
        Assert.Contains("another architecture", e.Message);
        Assert.Matches(@"has shape \[\d+(, \d+)*\] in the checkpoint, the model expects \[\d+(, \d+)*\]", e.Message);

        var missing = weights.Where(kv => kv.Key != "out.2.bias").ToDictionary();
        using var same = new UNet(ModelLoader.OfficialConfig(meta));
        Assert.Contains("out.2.bias [3] is missing", Assert.Throws<CheckpointException>(() => StateDict.Load(same, missing, "x")).Message);
    }

    [Fact]
    public void OfficialStateDictLoadsThroughTheModelLoaderWithAPreset()
    {
        // The .pt holds no architecture; the loader asks for a preset, and the golden safetensors metadata works directly.
        var e = Assert.Throws<CheckpointException>(() => ModelLoader.Load(TestPaths.Golden("adm-tiny-cond.state_dict.pt")));
        Assert.Contains("--preset", e.Message);
        var loaded = ModelLoader.Load(TestPaths.Golden("adm-tiny-cond.safetensors"));
        Assert.Equal(10, loaded.Model.Network.NumClasses);
    }

    [Trait("Category", "Slow")]
    [Fact]
    public void ImageNet64PresetHasTheOfficialKeysAndShapes()
    {
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(TestPaths.Golden("imagenet64-bcm.manifest.json")));
        var keys = doc.RootElement.GetProperty("keys");
        using var net = new UNet((UNetConfig)Bcm.Training.Presets.Get("imagenet64").Network);
        var own = net.state_dict();
        Assert.Equal(keys.EnumerateObject().Count(), own.Count);
        foreach (var k in keys.EnumerateObject())
        {
            Assert.True(own.ContainsKey(k.Name), $"missing {k.Name}");
            Assert.Equal(k.Value.EnumerateArray().Select(v => v.GetInt64()).ToArray(), own[k.Name].shape);
        }
        Assert.Equal(doc.RootElement.GetProperty("parameters").GetInt64(), net.parameters().Sum(p => p.numel()));
    }

    [Fact]
    public void PickleThatAsksForCodeIsRefused()
    {
        var dir = TestPaths.NewTempDir();
        string path = Path.Combine(dir, "evil.pt");
        // cos\nsystem\n(S'echo pwned'\ntR. : a classic code-execution pickle, inside the PyTorch zip layout.
        var pickle = new List<byte> { 0x80, 0x02 };
        pickle.AddRange(Encoding.ASCII.GetBytes("cos\nsystem\n"));
        pickle.Add((byte)'X');
        pickle.AddRange(BitConverter.GetBytes(10));
        pickle.AddRange(Encoding.ASCII.GetBytes("echo pwned"));
        pickle.AddRange([0x85, (byte)'R', (byte)'.']);
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Create))
        {
            using var s = zip.CreateEntry("evil/data.pkl").Open();
            s.Write(pickle.ToArray());
        }
        var e = Assert.Throws<CheckpointException>(() => TorchPickleReader.Load(path));
        Assert.Contains("os.system", e.Message);
        Assert.Contains("only tensor data", e.Message);
    }

    // A torch.save archive holding {"w": _rebuild_tensor_v2(storage 0, offset, size, stride)} over a float storage of the given bytes.
    private static string TorchArchive(string dir, int[] size, int[] stride, byte[] storage, CompressionLevel level = CompressionLevel.NoCompression,
        string storageType = "FloatStorage", int width = 4)
    {
        var p = new List<byte> { 0x80, 0x02, (byte)'}' };
        void Text(string t) { p.Add((byte)'X'); p.AddRange(BitConverter.GetBytes(t.Length)); p.AddRange(Encoding.ASCII.GetBytes(t)); }
        void Int(int v) { p.Add((byte)'J'); p.AddRange(BitConverter.GetBytes(v)); }
        void Tuple(int[] values) { p.Add((byte)'('); foreach (var v in values) Int(v); p.Add((byte)'t'); }
        Text("w");
        p.AddRange(Encoding.ASCII.GetBytes("ctorch._utils\n_rebuild_tensor_v2\n"));
        p.Add((byte)'(');
        p.Add((byte)'(');
        Text("storage");
        p.AddRange(Encoding.ASCII.GetBytes($"ctorch\n{storageType}\n"));
        Text("0");
        Text("cpu");
        Int(storage.Length / width);
        p.AddRange([(byte)'t', (byte)'Q']);
        Int(0);
        Tuple(size);
        Tuple(stride);
        p.AddRange([(byte)'t', (byte)'R', (byte)'s', (byte)'.']);
        string path = Path.Combine(dir, "model.pt");
        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        using (var s = zip.CreateEntry("model/data.pkl").Open()) s.Write(p.ToArray());
        using (var s = zip.CreateEntry("model/data/0", level).Open()) s.Write(storage);
        return path;
    }

    [Fact]
    public void TorchStoragesKeepTheirDtypeAndTensorsAreViewsOfThem()
    {
        // 600,000 halves (1.2 MB: more than one read chunk), stored column-major: tensor [i, j] is storage[i + 1000 j].
        var halves = Enumerable.Range(0, 600_000).Select(i => (Half)(i % 2048 - 1024)).ToArray();
        string pt = TorchArchive(TestPaths.NewTempDir(), [1000, 600], [1, 1000], MemoryMarshal.AsBytes(halves.AsSpan()).ToArray(),
            storageType: "HalfStorage", width: 2);
        var loaded = TorchPickleReader.Load(pt);
        using var w = loaded["w"];
        Assert.Equal(ScalarType.Float16, w.dtype); // half stays half: loading holds the file's bytes once
        Assert.Equal(new long[] { 1000, 600 }, w.shape);
        using var expected = tensor(halves.Select(h => (float)h).ToArray(), [600, 1000]).T;
        Assert.True(w.to(ScalarType.Float32).equal(expected).all().item<bool>());
        // Loaded into a float32 parameter, the values arrive exactly.
        using var module = nn.Linear(600, 1000, hasBias: false);
        StateDict.Load(module, new Dictionary<string, Tensor> { ["weight"] = w }, pt);
        Assert.True(module.weight!.equal(expected).all().item<bool>());
    }

    [Fact]
    public void TorchTensorsMustFitTheirStorage()
    {
        var floats = new byte[4 * 6];
        // A well-formed 2x3 tensor over 6 floats loads.
        using (var ok = TorchPickleReader.Load(TorchArchive(TestPaths.NewTempDir(), [2, 3], [3, 1], floats))["w"])
            Assert.Equal(new long[] { 2, 3 }, ok.shape);
        // Stride 0 would expand 4 bytes into 4.3 GB; negative or out-of-range shapes and strides never reach libtorch.
        Assert.Contains("does not fit its storage of 1 elements", Assert.Throws<CheckpointException>(() =>
            TorchPickleReader.Load(TorchArchive(TestPaths.NewTempDir(), [32768, 32768], [0, 0], new byte[4]))).Message);
        Assert.Contains("does not fit its storage of 3 elements", Assert.Throws<CheckpointException>(() =>
            TorchPickleReader.Load(TorchArchive(TestPaths.NewTempDir(), [2, 2], [0, 0], new byte[12]))).Message);
        Assert.Contains("not a non-negative integer", Assert.Throws<CheckpointException>(() =>
            TorchPickleReader.Load(TorchArchive(TestPaths.NewTempDir(), [-1, 3], [3, 1], floats))).Message);
        Assert.Contains("does not fit", Assert.Throws<CheckpointException>(() =>
            TorchPickleReader.Load(TorchArchive(TestPaths.NewTempDir(), [2, 3], [3, int.MaxValue], floats))).Message);
        Assert.Contains("needs element", Assert.Throws<CheckpointException>(() =>
            TorchPickleReader.Load(TorchArchive(TestPaths.NewTempDir(), [2, 3], [4, 1], floats))).Message);
    }

    [Fact]
    public void ATorchArchiveThatInflatesFarBeyondItsSizeIsRefused()
    {
        // 64 MB of zeros compress to a few tens of kilobytes: a zip bomb for a reader that trusts the declared size.
        string path = TorchArchive(TestPaths.NewTempDir(), [16 << 20], [1], new byte[64 << 20], CompressionLevel.SmallestSize);
        Assert.True(new FileInfo(path).Length < 1 << 20);
        long before = GC.GetTotalAllocatedBytes();
        Assert.Contains("refusing to inflate", Assert.Throws<CheckpointException>(() => TorchPickleReader.Load(path)).Message);
        Assert.True(GC.GetTotalAllocatedBytes() - before < 16 << 20);
    }

    [Fact]
    public void FailedWriteLeavesThePreviousFileIntact()
    {
        var dir = TestPaths.NewTempDir();
        string path = Path.Combine(dir, "ckpt.safetensors");
        AtomicFile.WriteAllText(path, "previous");
        // A disk that fills up half way through the write.
        var e = Assert.Throws<IOException>(() => AtomicFile.Write(path, s =>
        {
            s.Write(new byte[1000]);
            throw new IOException("No space left on device");
        }));
        Assert.Contains("No space", e.Message);
        Assert.Equal("previous", File.ReadAllText(path));
        Assert.Single(Directory.GetFiles(dir));
    }
}
