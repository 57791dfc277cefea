using Bcm.Inference;
using Bcm.Model;
using Bcm.Onnx;
using Bcm.Plans;
using Bcm.Training;
using Xunit;
using static TorchSharp.torch;

namespace Bcm.Tests;

/// <summary>
/// The inference package (ONNX Runtime, no libtorch) against the libtorch engine: for the same export, plan, seed and
/// labels, the same samples, latents and paths within 1e-5 of their scale; and every bad input a clear error.
/// </summary>
public sealed class InferenceTests
{
    // An export folder (model.onnx + config.json, as bcm export --format onnx writes them) of a random tiny UNet.
    internal static (string Folder, BcmModel Model) Export(int classes = 0, ModelKind kind = ModelKind.Bcm, int channels = 1, long seed = 0)
    {
        var model = TestModels.RandomTiny(seed, channels: channels, classes: classes);
        string dir = TestPaths.NewTempDir();
        OnnxExport.Write(model.Network, Path.Combine(dir, "model.onnx"));
        var loaded = new ModelLoader.Loaded(model, model.Network.Config, "random.safetensors", null, null, kind);
        File.WriteAllText(Path.Combine(dir, "config.json"), ModelCard.Config(loaded, "random", "model.onnx"));
        return (dir, model);
    }

    private static Tensor AsTensor(SampleBatch b) => tensor(b.Values, [b.Count, .. b.SampleShape.Select(v => (long)v)]);

    [Theory]
    [InlineData("onestep")]
    [InlineData("ancestral2")]
    [InlineData("zigzag3")]
    [InlineData("mixed4")]
    [InlineData("cm-multistep")]
    [InlineData("heun:3")]
    [InlineData("euler:2")]
    [InlineData("dpmpp2m:4")]
    public async Task ASeedGivesTheLibtorchEnginesSampleForEveryPlanFamily(string plan)
    {
        var (folder, model) = Export(seed: 2);
        using var _ = model;
        using var session = InferenceModel.Open(folder, new InferenceOptions(Threads: 1));
        var ours = await session.SampleAsync(new SampleOptions(Count: 5, Plan: plan, Seed: 11, BatchSize: 2));
        using var expected = PlanRunner.Generate(model, PlanPresets.Resolve(plan), 5, seed: 11, batchSize: 3);
        using var actual = AsTensor(ours);
        Assertions.Close(expected, actual, rtol: 1e-5, what: plan);
    }

    [Fact]
    public async Task InversionRegenerationAndInterpolationAreTheLibrarysOnAConditionalModel()
    {
        var (folder, model) = Export(classes: 3, channels: 3, seed: 4);
        using var _ = model;
        using var session = InferenceModel.Open(folder, new InferenceOptions(Threads: 1));
        Assert.Equal([3, 8, 8], session.Config.SampleShape);
        Assert.Equal(3, session.Config.NumClasses);
        Assert.Null(session.Config.ClassNames); // a random model has no class names; indices name its classes
        Assert.Equal(2, session.Config.ClassLabel("2"));
        Assert.Contains("index in 0..2", Assert.Throws<InferenceException>(() => session.Config.ClassLabel("cat")).Message);

        var images = await session.SampleAsync(new SampleOptions(Count: 4, Seed: 0, Label: 2));
        using var expectedImages = PlanRunner.Generate(model, PlanPresets.Resolve("onestep"), 4, seed: 0, label: 2);
        using var imagesT = AsTensor(images);
        Assertions.Close(expectedImages, imagesT, 1e-5, what: "class-conditional sample");

        int[] labels = [2, 0, 1, 2];
        using var y = tensor(labels.Select(l => (long)l).ToArray());
        var latents = await session.InvertAsync(images, new InvertOptions("invert2", Seed: 7, Labels: labels));
        using var expectedLatents = Sampling.Invert(model, imagesT, "invert2", seed: 7, labels: y);
        using var latentsT = AsTensor(latents);
        Assertions.Close(expectedLatents, latentsT, 1e-5, what: "invert2");
        var again = await session.RegenerateAsync(latents, new RegenerateOptions("80>2.4>0.002", Seed: 7, Labels: labels));
        using var expectedAgain = Sampling.Regenerate(model, latentsT, "80>2.4>0.002", seed: 7, labels: y);
        using var againT = AsTensor(again);
        Assertions.Close(expectedAgain, againT, 1e-5, what: "regeneration");

        var path = await session.InterpolateAsync(images.Slice(0, 1), images.Slice(1, 1), new InterpolateOptions(Count: 5, Seed: 3, Label: 1));
        using var one = tensor([1L]);
        var (_, _, expectedPath) = Editing.Interpolation.BetweenImages(model, imagesT[0..1], imagesT[1..2], 5,
            PlanPresets.Resolve("invert1"), PlanPresets.Resolve("onestep"), seed: 3, labels: one);
        using var pathT = AsTensor(path);
        Assertions.Close(expectedPath, pathT, 1e-5, what: "interpolation");
        expectedPath.Dispose();
    }

    [Fact]
    public async Task ProgressCountsEveryEvaluationAndCancellationStopsTheCall()
    {
        var (folder, model) = Export();
        model.Dispose();
        using var session = InferenceModel.Open(folder, new InferenceOptions(Threads: 1));
        var seen = new List<InferenceProgress>();
        await session.SampleAsync(new SampleOptions(Count: 5, Plan: "ancestral:3", BatchSize: 2), new SyncProgress<InferenceProgress>(seen.Add));
        Assert.Equal(Enumerable.Range(1, 9), seen.Select(p => p.Done)); // 3 batches × 3 jumps
        Assert.All(seen, p => Assert.Equal(9, p.Total));
        using var cancel = new CancellationTokenSource();
        var progress = new SyncProgress<InferenceProgress>(p => { if (p.Done == 2) cancel.Cancel(); });
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => session.SampleAsync(new SampleOptions(Count: 4, Plan: "ancestral:3", BatchSize: 1), progress, cancel.Token));
    }

    [Fact]
    public async Task PngRoundTripsThroughTheLibrarysPixelConversion()
    {
        var (folder, model) = Export(channels: 3);
        model.Dispose();
        using var session = InferenceModel.Open(folder, new InferenceOptions(Threads: 1));
        var images = await session.SampleAsync(new SampleOptions(Count: 2, Seed: 5));
        string dir = TestPaths.NewTempDir(), png = Path.Combine(dir, "one.png");
        Png.Write(images, 1, png);
        using var tensorImage = AsTensor(images);
        Assert.Equal(Imaging.ImageIO.ToRgba(tensorImage[1]), Imaging.ImageIO.ReadRgba(png, out _, out _)); // the library's bytes
        var back = Png.Read(png, session.Config.SampleShape);
        for (int i = 0; i < back.Values.Length; i++)
            Assert.Equal(Png.ToValue(Png.ToByte(images[1][i])), back.Values[i]);
        Png.WriteGrid(images, Path.Combine(dir, "grid.png"));
        Imaging.ImageIO.ReadRgba(Path.Combine(dir, "grid.png"), out int w, out int h);
        Assert.Equal((17, 8), (w, h));
    }

    [Fact]
    public void NpyHasNumPysHeaderAndTheValues()
    {
        var batch = new SampleBatch([1f, -2.5f, 3f, 0.25f, 5f, 6f], 2, [3]);
        var bytes = Npy.Encode(batch);
        Assert.Equal(0x93, bytes[0]);
        Assert.Equal("NUMPY", System.Text.Encoding.ASCII.GetString(bytes, 1, 5));
        int headerLength = BitConverter.ToUInt16(bytes, 8);
        Assert.Equal(0, (10 + headerLength) % 64);
        string header = System.Text.Encoding.ASCII.GetString(bytes, 10, headerLength);
        Assert.StartsWith("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", header);
        Assert.EndsWith("\n", header);
        Assert.Equal(-2.5f, BitConverter.ToSingle(bytes, 10 + headerLength + 4));
        Assert.Equal(10 + headerLength + 24, bytes.Length);
    }

    [Fact]
    public async Task BadInputIsAClearErrorNamingWhatWasWrong()
    {
        var (folder, model) = Export();
        model.Dispose();
        string Message(Action a) => Assert.Throws<InferenceException>(a).Message;
        async Task<string> MessageAsync(Func<Task> a) => (await Assert.ThrowsAsync<InferenceException>(a)).Message;

        Assert.Contains("no such folder", Message(() => InferenceModel.Open(Path.Combine(folder, "nope"))));
        string empty = TestPaths.NewTempDir();
        Assert.Contains("no config.json", Message(() => InferenceModel.Open(empty)));
        File.WriteAllText(Path.Combine(empty, "config.json"), "{ not json");
        Assert.Contains("not valid JSON", Message(() => InferenceModel.Open(empty)));
        File.WriteAllText(Path.Combine(empty, "config.json"), File.ReadAllText(Path.Combine(folder, "config.json")).Replace("\"model_kind\"", "\"old_kind\""));
        Assert.Contains("'model_kind' is missing", Message(() => InferenceModel.Open(empty)));
        File.WriteAllText(Path.Combine(empty, "config.json"), File.ReadAllText(Path.Combine(folder, "config.json")));
        Assert.Contains("is missing", Message(() => InferenceModel.Open(empty))); // config.json without its model.onnx
        File.WriteAllBytes(Path.Combine(empty, "model.onnx"), [1, 2, 3, 4]);
        Assert.Contains("cannot load it as a model", Message(() => InferenceModel.Open(empty)));
        // A graph of another shape (16x16) under this config (8x8), and a conditional graph under an unconditional config.
        using (var other = TestModels.RandomTiny(size: 16)) OnnxExport.Write(other.Network, Path.Combine(empty, "model.onnx"));
        Assert.Contains("not from the same export", Message(() => InferenceModel.Open(empty)));
        using (var other = TestModels.RandomTiny(classes: 4)) OnnxExport.Write(other.Network, Path.Combine(empty, "model.onnx"));
        Assert.Contains("num_classes 0", Message(() => InferenceModel.Open(empty)));
        Assert.Contains("threads", Message(() => InferenceModel.Open(folder, new InferenceOptions(Threads: -1))));

        using var session = InferenceModel.Open(folder, new InferenceOptions(Threads: 1));
        Assert.Contains("count must be in", await MessageAsync(() => session.SampleAsync(new SampleOptions(Count: 0))));
        Assert.Contains("batch size", await MessageAsync(() => session.SampleAsync(new SampleOptions(BatchSize: 100_000))));
        Assert.Contains("count must be in", await MessageAsync(() => session.SampleAsync(new SampleOptions(Count: 100_001))));
        Assert.Contains("unconditional", await MessageAsync(() => session.SampleAsync(new SampleOptions(Label: 1))));
        Assert.Contains("goes up in noise level", await MessageAsync(() => session.SampleAsync(new SampleOptions(Plan: "invert1"))));
        Assert.Contains("token 1", await MessageAsync(() => session.SampleAsync(new SampleOptions(Plan: "80>zero"))));
        var images = await session.SampleAsync(new SampleOptions(Count: 2));
        Assert.Contains("not an inversion plan", await MessageAsync(() => session.InvertAsync(images, new InvertOptions("onestep"))));
        var wrong = new SampleBatch(new float[3 * 64], 1, [3, 8, 8]);
        Assert.Contains("but the model's are [1, 8, 8]", await MessageAsync(() => session.InvertAsync(wrong)));
        var nan = new SampleBatch(Enumerable.Repeat(float.NaN, 64).ToArray(), 1, [1, 8, 8]);
        Assert.Contains("NaN", await MessageAsync(() => session.InvertAsync(nan)));
        Assert.Contains("single images", await MessageAsync(() => session.InterpolateAsync(images, images.Slice(0, 1))));

        string bad = Path.Combine(empty, "bad.png");
        File.WriteAllBytes(bad, []);
        Assert.Contains("empty file", Message(() => Png.Read(bad, [1, 8, 8])));
        File.WriteAllBytes(bad, Png.Encode(images, 0)[..30]);
        Assert.Contains("bad.png", Message(() => Png.Read(bad, [1, 8, 8])));
        File.WriteAllBytes(bad, "not an image at all"u8.ToArray());
        Assert.Contains("not an image", Message(() => Png.Read(bad, [1, 8, 8])));
        Png.Write(images, 0, bad);
        Assert.Contains("resize the image first", Message(() => Png.Read(bad, [1, 16, 16])));
    }

    [Fact]
    public async Task AnEdmExportSamplesWithTheSolversAndRefusesJumpsItCannotMake()
    {
        var (folder, model) = Export(kind: ModelKind.Denoiser, seed: 3);
        using var _ = model;
        using var session = InferenceModel.Open(folder, new InferenceOptions(Threads: 1));
        Assert.Equal("denoiser", session.Config.Kind);
        var ours = await session.SampleAsync(new SampleOptions(Count: 3, Plan: "heun:2", Seed: 1));
        using var expected = PlanRunner.Generate(model, PlanPresets.Resolve("heun:2"), 3, seed: 1);
        using var actual = AsTensor(ours);
        // An ODE step out of σ = 80 ends in x + h·(x − D)/σ, a difference of two numbers of about 80·|z| that cancel to
        // about 1: in float32 its result is known to 1 unit in the last place of that magnitude (2⁻¹⁶ ≈ 1.5e-5 up to 256),
        // in the libtorch engine as here, and a noise value that differs in its last bit moves it by that much.
        Assertions.Close(expected, actual, 1e-5, atol: 2 * Math.Pow(2, -16), what: "heun:2 on a denoiser");
        var latents = await session.InvertAsync(ours, new InvertOptions("heun-invert:2", Seed: 1));
        Assert.Equal(3, latents.Count);
        var message = (await Assert.ThrowsAsync<InferenceException>(() => session.InvertAsync(ours, new InvertOptions("invert1")))).Message;
        Assert.Contains("EDM denoiser", message);
        Assert.Contains("heun-invert:K", message);
        Assert.Contains("cannot jump", (await Assert.ThrowsAsync<InferenceException>(() => session.SampleAsync(new SampleOptions(Plan: "ancestral2")))).Message);
    }

    [Fact]
    public void TheInferenceAssembliesReferenceNoTensorLibrary()
    {
        foreach (var assembly in new[] { typeof(InferenceModel).Assembly, typeof(Plan).Assembly })
        {
            var names = assembly.GetReferencedAssemblies().Select(a => a.Name!).ToList();
            Assert.DoesNotContain(names, n => n.StartsWith("TorchSharp", StringComparison.Ordinal));
            Assert.DoesNotContain("Bcm", names); // the libtorch library
        }
        Assert.Equal("Bcm.Core", typeof(Plan).Assembly.GetName().Name);
    }
}
