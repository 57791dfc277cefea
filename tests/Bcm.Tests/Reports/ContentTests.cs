using Bcm.Data;
using Bcm.Editing;
using Bcm.Plans;
using Bcm.Reports;
using Xunit;
using static TorchSharp.torch;

namespace Bcm.Tests;

/// <summary>Interpolation with shared initial noise, and the content study (issue 14, part 5).</summary>
[Collection(TestModels.SharedModels)]
public sealed class ContentTests
{
    [Trait("Category", "Slow")] // the shared trained model and classifier take about a minute to make
    [Fact]
    public void SharedInitialNoiseMakesTheSameImageInvertToTheSameLatent()
    {
        var model = TestModels.TrainedTiny.Value;
        using var image = DataReaders.BuiltInDigits().Batch([3], 8);
        var invert = PlanPresets.Resolve("invert1");
        var generate = PlanPresets.Resolve("onestep");
        var (za, zb, path) = Interpolation.BetweenImages(model, image, image, 5, invert, generate, seed: 4);
        Assert.True(za.equal(zb).all().item<bool>(), "one image, one noise: one latent");
        using (var spread = (path - path[..1]).abs().max()) Assert.True(spread.item<float>() < 1e-5, "a path between a latent and itself stays put");
        var (ia, ib, _) = Interpolation.BetweenImages(model, image, image, 5, invert, generate, seed: 4, sameNoise: false);
        Assert.False(ia.equal(ib).all().item<bool>(), "independent noise gives two latents");
    }

    [Trait("Category", "Slow")] // the shared trained model and classifier take about a minute to make
    [Fact]
    public void TheContentReportMeasuresPathsAndRounds()
    {
        var (net, test) = TestModels.DigitsClassifier.Value;
        var dir = TestPaths.NewTempDir();
        var r = ContentReport.Write(TestModels.TrainedTiny.Value, net, test, 0, dir,
            new ContentReport.Options { Pairs = 3, Frames = 5, Samples = 40, Rounds = 2 });
        Assert.Equal(["same", "independent"], r.Interpolation.Select(p => p.Noise));
        Assert.All(r.Interpolation, p => Assert.True(p.MaxOverMeanStep >= 1 - 1e-9 && p.MeanStep > 0 && p.EndpointMse >= 0));
        Assert.Equal([1, 3, 5], r.Rounds.Where(x => x.Sampler == "zigzag").Select(x => x.Nfe)); // 2 NFE a round
        Assert.Equal([1, 2, 3], r.Rounds.Where(x => x.Sampler == "cm").Select(x => x.Nfe));     // 1 NFE a round
        Assert.All(r.Rounds.Where(x => x.Round == 0), x => Assert.Equal(0, x.FeatureDistance, 9));
        Assert.All(r.Rounds.Where(x => x.Round > 0), x => Assert.True(x.FeatureDistance > 0 && double.IsFinite(x.Fid)));
        Assert.True(File.Exists(Path.Combine(dir, "content.md")));
        Assert.Equal(7, File.ReadAllLines(Path.Combine(dir, "rounds.csv")).Length);
    }
}
