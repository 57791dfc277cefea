using Bcm.Model;
using Bcm.Networks;
using static TorchSharp.torch;

namespace Bcm.Tests;

/// <summary>
/// The test classes that share <see cref="TestModels.DigitsClassifier"/> and <see cref="TestModels.TrainedTiny"/>: one
/// collection, so that they never run at once should test parallelization (off for this assembly, TestPaths.cs) be
/// turned on: one module must not serve two threads' forward passes.
/// </summary>
[Xunit.CollectionDefinition(TestModels.SharedModels)]
public sealed class SharedModelsCollection;

internal static class TestModels
{
    /// <summary>The name of the collection of tests that use the shared trained models.</summary>
    public const string SharedModels = "shared trained models";

    public static UNetConfig TinyConfig(int channels = 1, int size = 8, int classes = 0) => new()
    {
        ImageSize = size, InChannels = channels, OutChannels = channels, ModelChannels = 32, ChannelMult = [1, 2],
        NumResBlocks = 1, AttentionResolutions = [2], NumHeadChannels = 32, NumClasses = classes,
    };

    /// <summary>A tiny UNet whose every parameter is random (also the zero-initialised ones), so outputs depend on x, t and u.</summary>
    public static BcmModel RandomTiny(long seed = 0, int channels = 1, int size = 8, int classes = 0)
    {
        var net = new UNet(TinyConfig(channels, size, classes));
        manual_seed(seed);
        using (no_grad())
            foreach (var p in net.parameters())
                p.copy_(randn_like(p) / Math.Sqrt(Math.Max(1, p.numel() / p.shape[0])));
        net.eval();
        return new BcmModel(net);
    }

    /// <summary>A small classifier of the 8x8 digits, trained on the first 1,500, with the other 297 as its test set.</summary>
    public static readonly Lazy<(Metrics.Classifier Net, Data.ImageDataset Test)> DigitsClassifier = new(() =>
    {
        var all = Data.DataReaders.BuiltInDigits();
        var test = new Data.ImageDataset("digits 1500..", all.Pixels[(1500 * 64)..], all.Count - 1500, 1, 8, 8, all.Labels![1500..], 10, all.MaxValue);
        return (Metrics.Classifier.Train(all.Take(1500), test, 8, epochs: 3, seed: 1), test);
    });

    /// <summary>
    /// A run folder of the tiny preset trained for 2 steps, shared by the tests that only read it (CLI commands, the studio):
    /// a checkpoint with its options, not a useful model.
    /// </summary>
    public static readonly Lazy<string> TinyRun = new(() =>
    {
        var dir = TestPaths.NewTempDir();
        using (var t = Training.Trainer.OpenOrResume(Training.Presets.Get("tiny") with { Steps = 2, CheckpointEvery = 2, SampleEvery = 0 }, dir)) t.Run();
        return dir;
    });

    /// <summary>A tiny BCM of the digits (200 steps), shared by the tests that need a trained model but not a good one.</summary>
    public static readonly Lazy<BcmModel> TrainedTiny = new(() =>
    {
        var dir = TestPaths.NewTempDir();
        using (var t = Training.Trainer.OpenOrResume(Training.Presets.Get("tiny") with { Steps = 200, CheckpointEvery = 200, SampleEvery = 0, Seed = 5 }, dir)) t.Run();
        return Training.ModelLoader.Load(dir).Model;
    });
}

/// <summary>An IProgress that reports on the calling thread (Progress&lt;T&gt; posts to the thread pool).</summary>
internal sealed class SyncProgress<T>(Action<T> action) : IProgress<T>
{
    public void Report(T value) => action(value);
}
