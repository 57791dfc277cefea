using Bcm.Editing;
using Bcm.Plans;
using Xunit;
using static TorchSharp.torch;

namespace Bcm.Tests;

public sealed class EditingTests
{
    [Fact]
    public void InpaintingLeavesKnownPixelsBitIdentical()
    {
        var model = TestModels.RandomTiny(21);
        using var image = rand(2, 1, 8, 8) * 2 - 1;
        using var known = Inpainting.BoxMask(8, 8, 2, 1, 4, 3);
        int rounds = 0;
        using var result = Inpainting.Run(model, image, known, [20, 5, 1.2], seed: 4, afterRound: (_, _) => rounds++);
        Assert.Equal(3, rounds);
        using var k = known.expand_as(image);
        Assert.True((result.masked_select(k) == image.masked_select(k)).all().item<bool>(), "known pixels must be unchanged");
        Assert.True((result.masked_select(k.logical_not()) - image.masked_select(k.logical_not())).abs().max().item<float>() > 1e-3, "unknown pixels are filled");
        Assert.Equal(12, known.logical_not().sum().item<long>());
    }

    [Fact]
    public void ConsistencyRoundsInpaintingKeepsKnownPixelsAndCostsOneEvaluationARound()
    {
        var model = TestModels.RandomTiny(24);
        int evaluations = 0;
        var counted = new Model.BcmModel(new CountingNetwork(model.Network, () => evaluations++));
        using var image = rand(2, 1, 8, 8) * 2 - 1;
        using var known = Inpainting.BoxMask(8, 8, 1, 2, 5, 4);
        using var result = Inpainting.ConsistencyRounds(counted, image, known, [20, 5, 1.2], seed: 4);
        Assert.Equal(3, evaluations); // one jump per round, no inversion
        using var k = known.expand_as(image);
        Assert.True((result.masked_select(k) == image.masked_select(k)).all().item<bool>(), "known pixels must be unchanged");
        using var bcm = Inpainting.Run(model, image, known, [20, 5, 1.2], seed: 4);
        Assert.True((result - bcm).abs().max().item<float>() > 1e-3, "without inversion the fill differs from BCM's");
    }

    [Fact]
    public void HarmonicFillSolvesLaplaceInsideTheHole()
    {
        // A plane a·x + b·y + c is harmonic: with the plane's values around the hole, the fill must be the plane.
        using var ys = arange(8, dtype: ScalarType.Float32).view(1, 1, 8, 1);
        using var xs = arange(8, dtype: ScalarType.Float32).view(1, 1, 1, 8);
        using var plane = (xs * 0.1f + ys * -0.05f + 0.2f).expand(2, 3, 8, 8).contiguous();
        using var known = Inpainting.BoxMask(8, 8, 2, 1, 4, 5);
        using var filled = Inpainting.Harmonic(plane, known);
        Assert.True((filled - plane).abs().max().item<float>() < 1e-4, "the harmonic fill of a plane is the plane");
        using var k = known.expand_as(plane);
        Assert.True((filled.masked_select(k) == plane.masked_select(k)).all().item<bool>(), "known pixels must be unchanged");
        // Not a plane: a bump is flattened (the fill is the mean-value interpolation of the border, not the bump).
        using var bump = plane.clone();
        bump[.., .., 3, 4] = tensor(5f);
        using var bumpFilled = Inpainting.Harmonic(bump, known);
        Assert.True((bumpFilled - plane).abs().max().item<float>() < 1e-4, "the hole's content does not leak into the fill");
        Assert.Contains("at least one", Assert.Throws<ArgumentException>(() => Inpainting.Harmonic(plane, known, 0)).Message);
    }

    [Fact]
    public void SuperResolutionDownsamplesExactlyToItsInputAndAddsDetail()
    {
        var model = TestModels.RandomTiny(23);
        using var low = rand(3, 1, 4, 4) * 2 - 1;
        using var result = SuperResolution.Run(model, low, 2, [20, 5], seed: 2);
        Assert.Equal(new long[] { 3, 1, 8, 8 }, result.shape);
        using var back = SuperResolution.Downsample(result, 2);
        Assert.True((back - low).abs().max().item<float>() < 1e-5, "the block averages of the output must equal the input");
        using var flat = SuperResolution.Upsample(low, 2);
        Assert.True((result - flat).abs().max().item<float>() > 1e-2, "the model adds detail inside the blocks");
        // Per-sample seeds: the first image does not depend on the batch it is in.
        using var alone = SuperResolution.Run(model, low[..1], 2, [20, 5], seed: 2);
        Assert.True(alone.allclose(result[..1], atol: 1e-5));
        Assert.Contains("give a 4x4 image", Assert.Throws<ArgumentException>(() => SuperResolution.Run(model, rand(1, 1, 8, 8), 2)).Message);
    }

    [Fact]
    public void RestorationKeepsSizeAndChannels()
    {
        var model = TestModels.RandomTiny(22, channels: 3);
        using var degraded = rand(2, 3, 8, 8) * 2 - 1;
        using var restored = Restoration.Run(model, degraded, seed: 1);
        Assert.Equal(degraded.shape, restored.shape);
        Assert.True(restored.isfinite().all().item<bool>());
        Assert.Equal(2 * Restoration.DefaultLevels.Length, Rounds.Nfe(Restoration.DefaultLevels));
    }

    [Theory]
    [InlineData("", "at least one")]
    [InlineData("20,abc", "round 2 'abc'")]
    [InlineData("90", "(0.07, 80]")]
    [InlineData("0.05", "(0.07, 80]")]
    public void BadRoundLevelsAreNamed(string text, string expected) =>
        Assert.Contains(expected, Assert.Throws<PlanException>(() => Rounds.Parse(text)).Message);

    [Fact]
    public void BoxOutsideTheImageIsAnError() =>
        Assert.Contains("does not fit", Assert.Throws<ArgumentException>(() => Inpainting.BoxMask(8, 8, 6, 0, 4, 2)).Message);

    [Fact]
    public void JpegDegradationKeepsTheSizeAndChangesPixels()
    {
        var rgba = new byte[16 * 16 * 4];
        new Random(1).NextBytes(rgba);
        for (int i = 3; i < rgba.Length; i += 4) rgba[i] = 255;
        var jpeg = Imaging.ImageIO.JpegRoundTrip(rgba, 16, 16, 10);
        Assert.Equal(rgba.Length, jpeg.Length);
        Assert.NotEqual(rgba, jpeg);
    }
}
