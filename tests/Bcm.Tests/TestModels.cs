using Bcm.Model;
using Bcm.Networks;
using static TorchSharp.torch;

namespace Bcm.Tests;

internal static class TestModels
{
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
}

/// <summary>An IProgress that reports on the calling thread (Progress&lt;T&gt; posts to the thread pool).</summary>
internal sealed class SyncProgress<T>(Action<T> action) : IProgress<T>
{
    public void Report(T value) => action(value);
}
