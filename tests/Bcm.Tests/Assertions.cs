using Xunit;
using static TorchSharp.torch;

namespace Bcm.Tests;

internal static class Assertions
{
    /// <summary>max |a − b| ≤ rtol·max|b| + atol, with a message giving the worst error.</summary>
    public static void Close(Tensor expected, Tensor actual, double rtol, double atol = 0, string what = "")
    {
        Assert.Equal(expected.shape, actual.shape);
        using var e = expected.to(ScalarType.Float64).cpu();
        using var a = actual.detach().to(ScalarType.Float64).cpu();
        double err = (a - e).abs().max().item<double>();
        double scale = e.abs().max().item<double>();
        Assert.True(double.IsFinite(err), $"{what}: non-finite values");
        Assert.True(err <= rtol * scale + atol, $"{what}: max abs error {err:g4} > {rtol:g2}·{scale:g4} + {atol:g2}");
    }
}
