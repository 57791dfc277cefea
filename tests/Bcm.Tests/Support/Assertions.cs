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

    /// <summary>
    /// Two training checkpoints are byte-identical except for the id of the run that wrote them (a run's id is new for
    /// every run folder; it appears in the options inside the metadata, and nowhere else).
    /// </summary>
    public static void SameCheckpointExceptRunId(string expectedPath, string actualPath)
    {
        string RunId(string path) => Training.TrainingCheckpoint.ReadOptions(Checkpoints.SafeTensors.Inspect(path).Metadata, path).RunId!;
        string expectedId = RunId(expectedPath), actualId = RunId(actualPath);
        Assert.NotNull(expectedId);
        Assert.Equal(expectedId.Length, actualId.Length);
        var actual = File.ReadAllBytes(actualPath);
        byte[] from = System.Text.Encoding.ASCII.GetBytes(actualId), to = System.Text.Encoding.ASCII.GetBytes(expectedId);
        int replaced = 0;
        for (int i = actual.AsSpan().IndexOf(from); i >= 0; i = actual.AsSpan().IndexOf(from))
        {
            to.CopyTo(actual, i);
            replaced++;
        }
        Assert.Equal(1, replaced);
        Assert.Equal(File.ReadAllBytes(expectedPath), actual);
    }
}
