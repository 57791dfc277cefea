using Bcm.Data;
using Bcm.Editing;
using Bcm.Imaging;
using Bcm.Model;
using Bcm.Networks;
using Bcm.Plans;
using Bcm.Training;
using Xunit;
using static TorchSharp.torch;

namespace Bcm.Tests;

/// <summary>The Palette-style JPEG restorer (issue 26 §6): an EDM denoiser on the UNet with the JPEG image concatenated to its input.</summary>
public sealed class JpegRestorerTests
{
    private static TrainOptions TinyRestorer(long steps) =>
        JpegRestorerObjective.Prepare(Presets.Get("tiny") with { Objective = "palette", Steps = steps, CheckpointEvery = 1000, SampleEvery = 0, Seed = 3 });

    [Fact]
    public void EachImageIsCompressedAtItsOwnQuality()
    {
        manual_seed(1);
        using var images = rand(4, 1, 8, 8) * 2 - 1;
        int[] quality = [10, 90, 10, 90];
        using var degraded = JpegRestorerObjective.Degrade(images, quality);
        for (int i = 0; i < 4; i++)
        {
            using var alone = ImageIO.JpegDegrade(images[i..(i + 1)], quality[i]);
            Assert.True(degraded[i..(i + 1)].equal(alone).all().item<bool>(), $"image {i}");
        }
        using var allAtTen = ImageIO.JpegDegrade(images, 10);
        Assert.False(degraded.equal(allAtTen).all().item<bool>()); // the qualities were not all applied as one
    }

    [Fact]
    public void PrepareConditionsTheUNetOnItsOwnChannelsAndOptionsRefuseMismatches()
    {
        var o = TinyRestorer(10);
        Assert.Equal(1, ((UNetConfig)o.Network).ConditionChannels);
        Assert.Equal(JpegRestorerObjective.DefaultQualities, o.JpegQualities);
        o.Validate();
        Assert.Equal(ModelKind.Denoiser, ModelKinds.Of(o));
        Assert.Equal(o, JpegRestorerObjective.Prepare(o)); // idempotent: a resumed run is already prepared

        var unprepared = Presets.Get("tiny") with { Objective = "palette" };
        Assert.Contains("conditioned on the JPEG image", Assert.Throws<ArgumentException>(unprepared.Validate).Message);
        Assert.Contains("palette objective only", Assert.Throws<ArgumentException>((Presets.Get("tiny") with { Objective = "edm", JpegQualities = [10] }).Validate).Message);
        Assert.Contains("ct-only", Assert.Throws<ArgumentException>((o with { CtOnly = true }).Validate).Message);
        Assert.Contains("1..100", Assert.Throws<ArgumentException>((o with { JpegQualities = [0] }).Validate).Message);
        Assert.Contains("--init-from", Assert.Throws<ArgumentException>((o with { InitFrom = "x" }).Validate).Message);
        Assert.Contains("trained with the palette objective", Assert.Throws<ArgumentException>((o with { Objective = "bct", JpegQualities = null }).Validate).Message);
        Assert.Contains("image UNet", Assert.Throws<ArgumentException>(() => JpegRestorerObjective.Prepare(Presets.Get("mixture2d") with { Objective = "palette" })).Message);
        Assert.Contains("not both", Assert.Throws<ArgumentException>(() => (((UNetConfig)o.Network) with { NumClasses = 3 }).Validate()).Message);
    }

    [Fact]
    public void TheConditionReachesTheNetworkAndIsRequired()
    {
        var config = TestModels.TinyConfig() with { ConditionChannels = 1 };
        using var net = new UNet(config);
        manual_seed(2);
        using (no_grad())
            foreach (var p in net.parameters()) p.copy_(randn_like(p) * 0.1); // the output layer too, which starts at zero
        net.eval();
        var model = new BcmModel(net);
        Assert.Equal([32L, 2, 3, 3], net.named_parameters().First(p => p.name == "input_blocks.0.0.weight").parameter.shape);
        using var x = randn(2, 1, 8, 8);
        using var y1 = rand(2, 1, 8, 8);
        using var y2 = rand(2, 1, 8, 8);
        using var d1 = model.Jump(x, 1.0, model.SigmaMin, y1);
        using var d2 = model.Jump(x, 1.0, model.SigmaMin, y2);
        Assert.True((d1 - d2).abs().max().item<float>() > 1e-3, "the output must depend on the condition");
        Assert.Contains("conditioned on an image", Assert.Throws<ArgumentException>(() => model.Jump(x, 1.0, model.SigmaMin, null)).Message);
        using var wrong = rand(2, 1, 4, 4);
        Assert.Contains("conditioned on an image", Assert.Throws<ArgumentException>(() => model.Jump(x, 1.0, model.SigmaMin, wrong)).Message);
        Assert.Throws<ArgumentException>(() => PlanRunner.Generate(model, PlanPresets.Ode(OdeMethod.Euler, 2), 2, seed: 0));
        Assert.Throws<NotSupportedException>(() => net.WriteGraph(null!, "x", "t", "u", null));
    }

    [Fact]
    public void ARestorerTrainedOnPairsRestoresTheImageItIsGivenNotAnother()
    {
        var dir = TestPaths.NewTempDir();
        using var trainer = Trainer.OpenOrResume(TinyRestorer(150), dir);
        trainer.Run();
        var test = DataSources.Load("digits", 1, 8);
        var idx = Enumerable.Range(1700, 64).ToArray();
        using var clean = test.Batch(idx, 8);
        using var jpeg = ImageIO.JpegDegrade(clean, 10);
        using var others = jpeg.roll(1, 0); // each image conditioned on its neighbour's JPEG instead
        var plan = PlanPresets.Ode(OdeMethod.Euler, 4);
        using var restored = Restoration.WithRestorer(trainer.Ema, jpeg, plan, seed: 5);
        using var mismatched = Restoration.WithRestorer(trainer.Ema, others, plan, seed: 5);
        double own = (restored - clean).square().mean().item<float>(), other = (mismatched - clean).square().mean().item<float>();
        Assert.True(own < 0.5 * other, $"restored from its own JPEG: MSE {own:F4}; from another image's: {other:F4}");
        // The same seed gives the same restoration; the Denoiser kind is what the run folder says.
        using var again = Restoration.WithRestorer(trainer.Ema, jpeg, plan, seed: 5);
        Assert.True(restored.equal(again).all().item<bool>());
        Assert.Equal(ModelKind.Denoiser, ModelKinds.Read(dir));
        using var unconditioned = TestModels.RandomTiny();
        Assert.Contains("condition channels", Assert.Throws<ArgumentException>(() => Restoration.WithRestorer(unconditioned, jpeg, plan)).Message);
    }
}
