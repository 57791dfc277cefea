using TorchSharp;
using Bcm.Networks;
using Xunit;
using static TorchSharp.torch;

namespace Bcm.Tests;

/// <summary>The network's gradients, against the same network in float64.</summary>
public sealed class NetworkTests
{
    /// <summary>
    /// The BCT soft term backpropagates through the frozen target network into its input. oneDNN 3.7 (libtorch 2.10,
    /// CPU) computes that input gradient wrongly, often as NaN, when a convolution's output channels are not a
    /// multiple of 16 (the UNet's last convolution, to 1 or 3 image channels): <see cref="OutputConv"/> avoids the case.
    /// Checked against float64 for both image channel counts, several times (the wrong values are not deterministic).
    /// </summary>
    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void InputGradientThroughAFrozenNetworkMatchesFloat64(int channels)
    {
        var config = TestModels.TinyConfig(channels, size: 16);
        using var net32 = new UNet(config);
        using var net64 = new UNet(config);
        using (no_grad())
        {
            manual_seed(7);
            // Random weights everywhere, including the zero-initialised output layers, so every path carries gradient.
            foreach (var p in net32.parameters()) p.copy_(randn_like(p) * 0.2);
        }
        Checkpoints.StateDict.Load(net64, Checkpoints.StateDict.Get(net32), "net32");
        net64.to(ScalarType.Float64);
        foreach (var p in net32.parameters().Concat(net64.parameters())) p.requires_grad = false;
        net32.train();
        net64.train();
        for (int repeat = 0; repeat < 3; repeat++)
        {
            using var scope = NewDisposeScope();
            var x = randn(6, channels, 16, 16);
            var t = rand(6) * 2;
            var weights = randn(6, channels, 16, 16);
            var x32 = x.clone().requires_grad_(true);
            var x64 = x.to(ScalarType.Float64).requires_grad_(true);
            (net32.forward(x32, t, t, null) * weights).sum().backward();
            (net64.forward(x64, t.to(ScalarType.Float64), t.to(ScalarType.Float64), null) * weights.to(ScalarType.Float64)).sum().backward();
            Assertions.Close(x64.grad!, x32.grad!, 1e-4, what: $"input gradient, repeat {repeat}");
        }
    }
}
