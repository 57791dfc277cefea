using System.Text.Json;
using Bcm.Metrics;
using Bcm.Checkpoints;
using Bcm.Data;
using Bcm.Networks;
using Bcm.Plans;
using Bcm.Training;
using Xunit;
using static TorchSharp.torch;

namespace Bcm.Tests;

public sealed class TrainingTests
{
    private static TrainOptions Tiny(long steps, int checkpointEvery = 100) =>
        Presets.Get("tiny") with { Steps = steps, CheckpointEvery = checkpointEvery, SampleEvery = 0, Seed = 7 };

    // The BCT terms and the online network's gradient, with A and E fused into one pass or as two.
    private static (float[] Ct, float[] Soft, float[] Grad) BctStep(Model.BcmModel online, Model.BcmModel target, bool fuse, int classes)
    {
        using var scope = NewDisposeScope();
        manual_seed(3);
        var x0 = rand(4, 1, 8, 8) * 2 - 1;
        var noise = randn(4, 1, 8, 8);
        var labels = classes > 0 ? tensor(new long[] { 0, 1, 2, 1 }) : null;
        var ts = Schedules.KarrasGrid.Ascending(21);
        online.Network.Module.zero_grad();
        using var terms = BctLoss.Compute(online, target, x0, noise, ts, [0, 5, 12, 19], [3, 0, 20, 7], labels, BctLoss.HuberC(64), fuseAE: fuse);
        terms.Total.mean().backward();
        var grad = cat(online.Network.Module.parameters().Select(p => p.grad!.flatten()).ToArray());
        return (terms.Ct.data<float>().ToArray(), terms.Soft.data<float>().ToArray(), grad.data<float>().ToArray());
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    public void OnePassForAAndEGivesTheTermsAndGradientOfTwoPasses(int classes)
    {
        using var online = TestModels.RandomTiny(1, classes: classes);
        using var target = TestModels.RandomTiny(1, classes: classes);
        online.Network.Module.train();
        foreach (var p in target.Network.Module.parameters()) p.requires_grad = false;
        var fused = BctStep(online, target, fuse: true, classes);
        var separate = BctStep(online, target, fuse: false, classes);
        Assert.Equal(separate.Ct.Length, fused.Ct.Length);
        for (int i = 0; i < fused.Ct.Length; i++)
        {
            Assert.Equal(separate.Ct[i], fused.Ct[i], 1e-5);
            Assert.Equal(separate.Soft[i], fused.Soft[i], 1e-5);
        }
        double scale = separate.Grad.Max(Math.Abs);
        Assert.True(scale > 0);
        for (int i = 0; i < fused.Grad.Length; i++) Assert.True(Math.Abs(separate.Grad[i] - fused.Grad[i]) <= 1e-4 * scale, $"gradient {i}: {fused.Grad[i]} vs {separate.Grad[i]}");
    }

    [Trait("Category", "Slow")]
    [Fact]
    public void TinyModelLearnsDigits()
    {
        var dir = TestPaths.NewTempDir();
        var options = Tiny(300) with { DataLimit = 512 };
        using var trainer = Trainer.OpenOrResume(options, dir);
        var losses = new List<TrainProgress>();
        trainer.Run(new SyncProgress<TrainProgress>(losses.Add));
        Assert.Equal(300, losses.Count);
        // The curriculum changes the loss scale at each doubling of N, so compare steps at the same N.
        int lastN = losses[^1].Scales;
        var atLastN = losses.Where(p => p.Scales == lastN).Select(p => p.Loss).ToList();
        Assert.True(atLastN.Count >= 40, $"only {atLastN.Count} steps at N={lastN}");
        double early = losses.Take(20).Average(p => p.Ct + p.Soft), late = losses.TakeLast(20).Average(p => p.Ct + p.Soft);
        Assert.True(late < 0.8 * early, $"loss did not fall: first 20 steps {early:F4}, last 20 {late:F4}");
        Assert.All(losses, p => Assert.True(double.IsFinite(p.Loss)));

        using var samples = PlanRunner.Generate(trainer.Ema, PlanPresets.Resolve("onestep"), 32, seed: 0);
        Assert.True(samples.isfinite().all().item<bool>(), "one-step samples must be finite");
        Assert.InRange(samples.mean().item<float>(), -1.5f, 1.5f);

        // Invert → regenerate beats the trivial baseline (an unrelated sample) and an untrained network by a wide margin.
        // At this CI budget (300 steps of a tiny model) the inverse jump is learnt up to σ ≈ 1; inverting to T = 80 needs
        // far longer training (u is drawn from the log-normal, P(u > 20) ≈ 2 %): the documented MNIST run shows it.
        var data = DataReaders.BuiltInDigits();
        var idx = Enumerable.Range(1000, 32).ToArray(); // not among the 512 training images
        using var images = data.Batch(idx, 8);
        var invert = Plan.Parse("0.07>1");
        var generate = Plan.Parse("1>0.002");
        using var rt = RoundTrip.Run(trainer.Ema, images, invert, generate, 0);
        double baseline = RoundTrip.Metrics(images, samples).Mse.Average();
        using var untrained = new Networks.UNet((Networks.UNetConfig)trainer.Options.Network);
        using var rtUntrained = RoundTrip.Run(new Model.BcmModel(untrained), images, invert, generate, 0);
        Assert.True(rt.MeanMse < 0.4 * baseline, $"round-trip MSE {rt.MeanMse:F4} vs unrelated-sample MSE {baseline:F4}");
        Assert.True(rt.MeanMse < 0.4 * rtUntrained.MeanMse, $"round-trip MSE {rt.MeanMse:F4} vs untrained network {rtUntrained.MeanMse:F4}");

        // The run folder holds what the issue asks for.
        Assert.True(File.Exists(Path.Combine(dir, "options.json")));
        Assert.Equal(300, File.ReadAllLines(Path.Combine(dir, "stats.jsonl")).Length);
        Assert.Equal(3, TrainingCheckpoint.List(dir).Count);
        Assert.Equal(300, TrainingCheckpoint.List(dir)[^1].Step);
    }

    [Trait("Category", "Slow")]
    [Fact]
    public void ResumeIsExact()
    {
        var straight = TestPaths.NewTempDir();
        var options = Tiny(6, checkpointEvery: 3);
        using (var a = Trainer.OpenOrResume(options, straight)) a.Run();

        var interrupted = TestPaths.NewTempDir();
        using (var b = Trainer.OpenOrResume(options, interrupted))
        {
            for (int i = 0; i < 3; i++) b.TrainStep();
            b.SaveCheckpoint();
        }
        using (var c = Trainer.OpenOrResume(options, interrupted))
        {
            Assert.Equal(3, c.Step);
            c.Run();
        }
        var (x, _) = SafeTensors.Load(TrainingCheckpoint.List(straight)[^1].Path);
        var (y, _) = SafeTensors.Load(TrainingCheckpoint.List(interrupted)[^1].Path);
        Assert.Equal(x.Keys.Order(), y.Keys.Order());
        foreach (var k in x.Keys) Assert.True((x[k] == y[k]).all().item<bool>(), $"{k} differs after resume");
    }

    [Fact]
    public void NonFiniteGradientStopsAndKeepsTheLastGoodCheckpoint()
    {
        var dir = TestPaths.NewTempDir();
        using var trainer = Trainer.OpenOrResume(Tiny(10, checkpointEvery: 1), dir);
        trainer.GradientHook = ps =>
        {
            if (trainer.Step == 3) using (no_grad()) ps[0].grad!.fill_(float.NaN);
        };
        var e = Assert.Throws<TrainingDivergedException>(() => trainer.Run());
        Assert.Contains("non-finite", e.Message);
        var last = TrainingCheckpoint.List(dir)[^1];
        Assert.Equal(3, last.Step);
        var loaded = ModelLoader.Load(last.Path);
        Assert.All(loaded.Model.Network.Module.parameters(), p => Assert.True(p.isfinite().all().item<bool>()));
    }

    /// <summary>An absurd learning rate blows the weights up; no checkpoint that samples NaN is ever written, and the error names the newest usable one.</summary>
    [Fact]
    public void ADivergingRunNeverWritesAnUnusableCheckpoint()
    {
        var dir = TestPaths.NewTempDir();
        using var trainer = Trainer.OpenOrResume(Tiny(30, checkpointEvery: 1) with { LearningRate = 1e6 }, dir);
        var e = Assert.Throws<TrainingDivergedException>(() => trainer.Run());
        foreach (var (step, path) in TrainingCheckpoint.List(dir))
        {
            var loaded = ModelLoader.Load(path);
            using var x = randn(4, 1, 8, 8) * 80;
            using var y = loaded.Model.Jump(x, 80, 0.002);
            Assert.True(y.isfinite().all().item<bool>(), $"checkpoint of step {step} samples NaN");
        }
        if (TrainingCheckpoint.List(dir).Count > 0 && e.Message.Contains("newest usable"))
            Assert.Contains(TrainingCheckpoint.List(dir)[^1].Path, e.Message);
    }

    [Fact]
    public void NonFiniteSamplesAreNeverWritten()
    {
        var dir = TestPaths.NewTempDir();
        using var samples = zeros(2, 1, 8, 8);
        samples[1, 0, 3, 3] = tensor(float.NaN);
        var e = Assert.Throws<InvalidDataException>(() => Bcm.Reports.SampleOutputs.Write(dir, samples, PlanPresets.Resolve("onestep"), 0, "model"));
        Assert.Contains("NaN or infinite", e.Message);
        Assert.Contains("NaN or infinite", Assert.Throws<InvalidDataException>(() => Bcm.Reports.SampleOutputs.WriteIndividual(dir, samples, 0)).Message);
        Assert.Empty(Directory.GetFiles(dir));
    }

    [Fact]
    public void CheckpointWithNonFiniteWeightsIsRefusedOnLoad()
    {
        var dir = TestPaths.NewTempDir();
        using (var t = Trainer.OpenOrResume(Tiny(1, checkpointEvery: 1), dir)) t.Run();
        string path = TrainingCheckpoint.List(dir)[^1].Path;
        var (tensors, meta) = SafeTensors.Load(path);
        string key = tensors.Keys.First(k => k.StartsWith("ema.", StringComparison.Ordinal) && tensors[k].is_floating_point());
        tensors[key].view(-1)[0] = tensor(float.NaN);
        string bad = Path.Combine(dir, "nan.safetensors");
        SafeTensors.Save(bad, tensors, meta);
        var error = Assert.Throws<CheckpointException>(() => ModelLoader.Load(bad));
        Assert.Contains("NaN or infinite", error.Message);
        Assert.Contains(key["ema.".Length..], error.Message);
    }

    [Fact]
    public void FineTuningFromAConsistencyModelStartsAsThatModel()
    {
        var dir = TestPaths.NewTempDir();
        // A "consistency model": a random UNet without the u-embedding and align keys, as iCT checkpoints are.
        var cm = TestModels.RandomTiny(11);
        var cmWeights = StateDict.Get(cm.Network.Module).Where(kv => !kv.Key.StartsWith("time_embed_end.") && kv.Key != "time_embed_align.weight").ToDictionary();
        string cmPath = Path.Combine(dir, "cm.safetensors");
        SafeTensors.Save(cmPath, cmWeights);
        var options = Tiny(1) with { InitFrom = cmPath, Network = TestModels.TinyConfig() };
        using var trainer = Trainer.OpenOrResume(options, Path.Combine(dir, "run"));
        trainer.Online.Network.Module.eval();
        using var _ = no_grad();
        using var x = randn(4, 1, 8, 8);
        using var t = tensor(new float[] { 0.5f, 2f, 10f, 80f });
        using var f1 = trainer.Online.Raw(x, t, full(4, 0.002f));
        using var f2 = trainer.Online.Raw(x, t, full(4, 40f));
        Assertions.Close(f1, f2, 1e-6, 0, "with align = [I | 0] the network ignores u");
        var w = StateDict.Get(trainer.Online.Network.Module);
        Assert.True((w["time_embed_end.0.weight"] == cmWeights["time_embed.0.weight"]).all().item<bool>());
    }

    [Fact]
    public void ClassConditionalTrainingUsesTheLabels()
    {
        var dir = TestPaths.NewTempDir();
        var options = Tiny(2) with { Network = TestModels.TinyConfig(classes: 10) };
        using var trainer = Trainer.OpenOrResume(options, dir);
        trainer.Run();
        using var samples = PlanRunner.Generate(trainer.Ema, PlanPresets.Resolve("onestep"), 4, seed: 0);
        Assert.True(samples.isfinite().all().item<bool>());
        // A folder of images has no labels: a conditional network cannot train on it.
        string imgs = Path.Combine(dir, "imgs");
        Directory.CreateDirectory(imgs);
        Imaging.ImageIO.SavePng(samples[0], Path.Combine(imgs, "a.png"));
        var unlabelled = options with { Data = "folder:" + imgs };
        var e = Assert.Throws<ArgumentException>(() => Trainer.OpenOrResume(unlabelled, TestPaths.NewTempDir()));
        Assert.Contains("class-conditional", e.Message);
    }

    [Fact]
    public void OptionsRoundTripThroughJson()
    {
        var o = Presets.Get("imagenet64");
        var back = TrainOptions.FromJson(o.ToJson());
        Assert.Equal(o.ToJson(), back.ToJson());
        Assert.Contains("\"attention_resolutions\"", o.ToJson());
        Assert.Throws<ArgumentException>(() => (o with { BatchSize = 0 }).Validate());
        Assert.Contains("unknown preset", Assert.Throws<ArgumentException>(() => Presets.Get("huge")).Message);
    }
}
