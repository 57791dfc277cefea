using Bcm.Editing;
using Bcm.Plans;
using Xunit;
using static TorchSharp.torch;

namespace Bcm.Tests;

public sealed class InterpolationTests
{
    [Fact]
    public void EndsReproduceTheTwoReconstructions()
    {
        var model = TestModels.RandomTiny(9);
        using var a = rand(1, 1, 8, 8) * 2 - 1;
        using var b = rand(1, 1, 8, 8) * 2 - 1;
        var invert = PlanPresets.Resolve("invert1");
        var generate = PlanPresets.Resolve("onestep");
        var (za, zb, path) = Interpolation.BetweenImages(model, a, b, 5, invert, generate, seed: 3);
        Assert.Equal(new long[] { 5, 1, 8, 8 }, path.shape);
        using var ra = PlanRunner.Run(model, za, generate.FromGiven(), [3]);
        using var rb = PlanRunner.Run(model, zb, generate.FromGiven(), [3]);
        Assertions.Close(ra, path[..1], 1e-5, 1e-6, "α = 0");
        Assertions.Close(rb, path[4..5], 1e-5, 1e-6, "α = 1");
        Assert.True((path[2] - path[0]).abs().max().item<float>() > 1e-3, "the middle differs from the ends");
    }

    [Fact]
    public void SlerpKeepsTheNormOfOrthogonalLatentsAndLerpDoesNot()
    {
        using var a = tensor(new float[] { 1, 0 }).reshape(1, 2);
        using var b = tensor(new float[] { 0, 1 }).reshape(1, 2);
        using var s = Interpolation.Slerp(a, b, 0.5);
        Assert.Equal(1.0, s.norm().item<float>(), 5);
        Assert.Equal(Math.Sqrt(0.5), s[0, 0].item<float>(), 5);
        using var l = Interpolation.Lerp(a, b, 0.5);
        Assert.Equal(Math.Sqrt(0.5), l.norm().item<float>(), 5);
        using var same = Interpolation.Slerp(a, a, 0.3);
        Assertions.Close(a, same, 1e-6, 0, "parallel latents");
    }
}
