using Bcm.Model;
using Bcm.Tensors;
using Bcm.Networks;
using Bcm.Onnx;
using Bcm.Training;
using Xunit;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Bcm.Tests;

/// <summary>
/// The ONNX export against libtorch: for the presets and for random configurations (image sizes, channel multipliers,
/// attention resolutions, class conditioning, the MLP), ONNX Runtime's F equals libtorch's within 1e-5 of the output's
/// scale, at several (t, u) pairs including t &lt; u; and a BcmModel over the ONNX network samples what the libtorch one does.
/// </summary>
[Collection(TestModels.SharedModels)]
public sealed class OnnxTests(ITestOutputHelper output)
{
    private static readonly (double T, double U)[] Levels = [(80, 0.002), (2.4, 0.002), (1.0, 0.5), (0.07, 80), (0.5, 10)];

    // Every parameter random (the zero-initialised output layers too), so that every path of the graph counts.
    private static IBcmNetwork Random(NetworkConfig config, long seed)
    {
        manual_seed(seed);
        var net = NetworkFactory.Create(config);
        using (no_grad())
            foreach (var p in net.Module.parameters())
                p.copy_(randn_like(p) / Math.Sqrt(Math.Max(1, p.numel() / p.shape[0])));
        net.Module.eval();
        return net;
    }

    public static TheoryData<string> Presets => ["tiny", "digits", "mnist", "cifar10-cpu", "mixture2d", "mixture64"];

    [Theory]
    [MemberData(nameof(Presets))]
    public void EveryPresetsGraphMatchesLibtorch(string preset) => Check(preset, Training.Presets.Get(preset).Network, seed: 1);

    [Fact]
    public void RandomConfigurationsMatchLibtorch()
    {
        var rng = new Random(7);
        for (int i = 0; i < 6; i++)
        {
            int size = new[] { 8, 16 }[rng.Next(2)];
            int levels = rng.Next(1, 4);
            var mult = Enumerable.Range(0, levels).Select(_ => rng.Next(1, 3)).ToArray();
            int[] attention = rng.Next(3) switch { 0 => [], 1 => [2], _ => [1, 2] };
            var config = new UNetConfig
            {
                ImageSize = size, InChannels = rng.Next(2) == 0 ? 1 : 3, ModelChannels = 32, ChannelMult = mult, NumResBlocks = rng.Next(1, 3),
                AttentionResolutions = attention, NumHeadChannels = rng.Next(2) == 0 ? 32 : 16, NumClasses = rng.Next(2) == 0 ? 0 : 5,
            };
            config = config with { OutChannels = config.InChannels };
            Check($"random UNet {i}", config, seed: 10 + i);
        }
        Check("conditional MLP", new MlpConfig { Dim = 5, Hidden = 64, Blocks = 2, EmbedChannels = 16, NumClasses = 3 }, seed: 20);
    }

    private void Check(string name, NetworkConfig config, long seed)
    {
        var torchNet = Random(config, seed);
        using var onnxNet = new Disposer(OnnxNetwork.From(torchNet, threads: 1));
        double worst = 0;
        foreach (var (t, u) in Levels)
        {
            using var scope = NewDisposeScope();
            manual_seed(seed + 100);
            var x = randn([3, .. torchNet.SampleShape]).Times(Scalings.CIn(t) * Math.Sqrt(t * t + 0.25));
            var cT = full(3, Scalings.CNoise(t));
            var cU = full(3, Scalings.CNoise(u));
            var y = torchNet.NumClasses > 0 ? tensor(new long[] { 0, torchNet.NumClasses - 1, 1 }) : null;
            Tensor expected;
            using (no_grad()) expected = torchNet.Forward(x, cT, cU, y);
            var actual = onnxNet.Network.Forward(x, cT, cU, y);
            double scale = expected.abs().max().item<float>(), err = (actual - expected).abs().max().item<float>();
            Assert.True(double.IsFinite(err) && scale > 0, $"{name} at ({t}, {u}): scale {scale}, error {err}");
            worst = Math.Max(worst, err / scale);
        }
        torchNet.Module.Dispose();
        output.WriteLine($"{name}: largest error {worst:E2} of the output's scale");
        Assert.True(worst <= 1e-5, $"{name}: ONNX Runtime differs from libtorch by {worst:E2} of the output's scale");
    }

    [Fact]
    public void AnOnnxNetworkHasTheWeightsFingerprintOfTheNetworkItWasWrittenFrom()
    {
        using var loaded = ModelLoader.Load(TestModels.TinyRun.Value);
        using var onnx = new Disposer(OnnxNetwork.From(loaded.Model.Network, threads: 1));
        string torchPrint = loaded.Model.Network.WeightsFingerprint;
        Assert.Equal(torchPrint, onnx.Network.WeightsFingerprint);
        Assert.Matches("^[0-9A-F]{64}$", torchPrint);
        Assert.NotEqual(Convert.ToHexString(System.Security.Cryptography.SHA256.HashData([])), torchPrint); // not the hash of nothing
        using var other = TestModels.RandomTiny(5);
        Assert.NotEqual(torchPrint, other.Network.WeightsFingerprint);
        // A graph read from a file does not know the weights it was written from: its fingerprint is no libtorch network's.
        using var fromBytes = new Disposer(new OnnxNetwork(OnnxExport.Build(loaded.Model.Network), loaded.Config, threads: 1));
        Assert.StartsWith("ONNX:", fromBytes.Network.WeightsFingerprint);
    }

    [Fact]
    public void ABcmModelOverTheOnnxNetworkSamplesAndInvertsAsTheLibtorchOne()
    {
        using var loaded = ModelLoader.Load(TestModels.TinyRun.Value);
        using var onnx = new BcmModel(OnnxNetwork.From(loaded.Model.Network, threads: 1));
        foreach (var plan in new[] { "onestep", "zigzag3" })
        {
            var p = Plans.PlanPresets.Resolve(plan);
            using var a = Plans.PlanRunner.Generate(loaded.Model, p, 6, seed: 3, batchSize: 4);
            using var b = Plans.PlanRunner.Generate(onnx, p, 6, seed: 3, batchSize: 4);
            Assertions.Close(a, b, rtol: 1e-5, what: plan);
        }
    }

    private sealed class Disposer(OnnxNetwork network) : IDisposable
    {
        public OnnxNetwork Network { get; } = network;
        public void Dispose() => Network.Module.Dispose();
    }

    [Trait("Category", "Slow")]
    [Fact]
    public void TheCliExportsOnnxWithItsConfigAndSamplesOnEitherEngine()
    {
        string run = TestModels.TinyRun.Value, dir = TestPaths.NewTempDir();
        string path = Path.Combine(dir, "model.onnx");
        var export = CliRunner.Bcm("export", run, "--format", "onnx", "-o", path);
        Assert.True(export.Code == 0, export.Err);
        Assert.True(File.Exists(Path.Combine(dir, "config.json")) && File.Exists(Path.Combine(dir, "README.md")));
        using (var config = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "config.json"))))
            Assert.Equal("model.onnx", config.RootElement.GetProperty("weights_file").GetString());
        // The file on disk is the graph: loaded into a session it gives libtorch's F.
        using var loaded = ModelLoader.Load(run);
        using var fromFile = new BcmModel(new OnnxNetwork(File.ReadAllBytes(path), loaded.Config, threads: 1));
        using var x = randn([2, 1, 8, 8], generator: manual_seed(4)).Times(80);
        using (no_grad())
        using (var a = loaded.Model.Jump(x, 80, 0.002))
        using (var b = fromFile.Jump(x, 80, 0.002))
            Assertions.Close(a, b, rtol: 1e-5, what: "model.onnx");
        Assert.Equal(2, CliRunner.Bcm("export", run, "--format", "onnx", "-o", path).Code); // exists: --force needed

        string torchOut = TestPaths.NewTempDir(), onnxOut = TestPaths.NewTempDir();
        Assert.Equal(0, CliRunner.Bcm("sample", "-c", run, "-n", "6", "--plan", "zigzag3", "--engine", "torch", "--out", torchOut).Code);
        var onnxRun = CliRunner.Bcm("sample", "-c", run, "-n", "6", "--plan", "zigzag3", "--engine", "onnx", "--out", onnxOut);
        Assert.True(onnxRun.Code == 0, onnxRun.Err);
        Assert.Contains("engine: ONNX Runtime", onnxRun.Err);
        using var s1 = Checkpoints.SafeTensors.Load(Path.Combine(torchOut, "samples.safetensors")).Tensors["samples"];
        using var s2 = Checkpoints.SafeTensors.Load(Path.Combine(onnxOut, "samples.safetensors")).Tensors["samples"];
        Assertions.Close(s1, s2, rtol: 1e-5, what: "bcm sample on either engine");
        Assert.Equal(2, CliRunner.Bcm("sample", "-c", run, "--engine", "tensorrt").Code);
    }

    /// <summary>The official implementation's outputs (the golden files), reproduced by the ONNX graph of the official weights on ONNX Runtime.</summary>
    [Theory]
    [InlineData("adm-tiny-cond")]
    [InlineData("adm-tiny-uncond")]
    public void TheOnnxGraphOfTheOfficialWeightsReproducesTheOfficialOutputs(string name)
    {
        var (tensors, _) = Checkpoints.SafeTensors.Load(TestPaths.Golden(name + ".safetensors"));
        try
        {
            using var loaded = ModelLoader.Load(TestPaths.Golden(name + ".safetensors"));
            using var onnx = new BcmModel(OnnxNetwork.From(loaded.Model.Network, threads: 1));
            var labels = tensors.GetValueOrDefault("io.y");
            Assertions.Close(tensors["io.F"], onnx.Raw(tensors["io.xt"], tensors["io.t"], tensors["io.u"], labels), 1e-5, what: $"{name}: io.F");
            Assertions.Close(tensors["io.f"], onnx.Jump(tensors["io.xt"], tensors["io.t"], tensors["io.u"], labels), 1e-5, what: $"{name}: io.f");
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    [Trait("Category", "Slow")]
    [Fact]
    public void WithoutEngineTheCommandRunsWhatBenchMeasuredFasterAndSaysSo()
    {
        string run = TestModels.TinyRun.Value;
        using var loaded = ModelLoader.Load(run);
        Assert.Null(EngineChoice.Ratio(loaded.Config, 1)); // nothing recorded in this test process's cache: libtorch
        var plain = CliRunner.Bcm("sample", "-c", run, "-n", "2", "--threads", "1", "--out", TestPaths.NewTempDir());
        Assert.True(plain.Code == 0, plain.Err);
        Assert.DoesNotContain("engine:", plain.Err);

        // A measurement of this network at one thread, recorded as bench records it.
        EngineChoice.Record(loaded.Config, new OnnxThroughput.Row("tiny", 8, 1, TorchImagesPerSecond: 100, OnnxImagesPerSecond: 180));
        Assert.Equal(1.8, EngineChoice.Ratio(loaded.Config, 1));
        Assert.Null(EngineChoice.Ratio(loaded.Config, 2)); // per thread count
        var chosen = CliRunner.Bcm("sample", "-c", run, "-n", "2", "--threads", "1", "--out", TestPaths.NewTempDir());
        Assert.True(chosen.Code == 0, chosen.Err);
        Assert.Contains("ONNX Runtime chosen by measurement (bcm bench: 1.80×", chosen.Err);
        var forced = CliRunner.Bcm("sample", "-c", run, "-n", "2", "--threads", "1", "--engine", "torch", "--out", TestPaths.NewTempDir());
        Assert.DoesNotContain("engine:", forced.Err);

        EngineChoice.Record(loaded.Config, new OnnxThroughput.Row("tiny", 8, 1, TorchImagesPerSecond: 100, OnnxImagesPerSecond: 90));
        var slower = CliRunner.Bcm("sample", "-c", run, "-n", "2", "--threads", "1", "--out", TestPaths.NewTempDir());
        Assert.Contains("engine: libtorch (bcm bench measured ONNX Runtime at 0.90×", slower.Err);

        File.WriteAllText(EngineChoice.CachePath, "{ not json");
        Assert.Null(EngineChoice.Ratio(loaded.Config, 1)); // a damaged cache is only a lost preference
        File.Delete(EngineChoice.CachePath);
    }
}
