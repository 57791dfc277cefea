using Bcm.Data;
using Bcm.Editing;
using Bcm.Metrics;
using Bcm.Plans;
using Bcm.Reports;
using Bcm.Training;
using Xunit;
using static TorchSharp.torch;

namespace Bcm.Tests;

/// <summary>Black-box attacks and adversarial purification (issue 14, part 4).</summary>
[Collection(TestModels.SharedModels)]
public sealed class PurificationTests
{
    private static Lazy<(Classifier Net, ImageDataset Test)> Digits => TestModels.DigitsClassifier;
    private static Lazy<Model.BcmModel> TinyBcm => TestModels.TrainedTiny;

    private static (Tensor Images, Tensor Labels) Correct(int n)
    {
        var (net, test) = Digits.Value;
        var idx = Enumerable.Range(0, test.Count).ToArray();
        using var all = test.Batch(idx, 8);
        using var labels = test.LabelBatch(idx)!;
        using var _ = no_grad();
        var correct = net.forward(all).argmax(1).eq(labels).nonzero().squeeze(1)[..n];
        return (all.index_select(0, correct), labels.index_select(0, correct));
    }

    [Fact]
    public void AttacksLowerAnUndefendedClassifiersAccuracyWithinTheirBudgets()
    {
        var (net, _) = Digits.Value;
        var (images, labels) = Correct(48);
        int calls = 0;
        BlackBox box = (x, _) => { calls++; using var g = no_grad(); return net.forward(x); };

        using var square = Attacks.SquareLinf(box, images, labels, epsilon: 0.3, queries: 200, seed: 1);
        using (var d = (square.Adversarial - images).abs().max()) Assert.True(d.item<float>() <= 2 * 0.3 + 1e-5, "L∞ budget (0.3 on [0, 1] = 0.6 on [−1, 1])");
        Assert.True(square.Adversarial.min().item<float>() >= -1 - 1e-6 && square.Adversarial.max().item<float>() <= 1 + 1e-6, "valid images");
        Assert.All(square.Queries, q => Assert.InRange(q, 1, 200));
        double squareAccuracy = Accuracy(net, square.Adversarial, labels);
        Assert.True(squareAccuracy < 0.5, $"Square Attack left {squareAccuracy:P0} of 48 correctly classified images correct");
        Assert.Equal(square.Fooled.Count(f => f) / 48.0, 1 - squareAccuracy, 6); // the attacker's view equals the truth without a defence

        using var simba = Attacks.SimBaL2(box, images, labels, budget: 1.5, step: 0.25, queries: 200, seed: 1);
        using (var norms = ((simba.Adversarial - images) / 2).flatten(1).norm(1))
            Assert.True(norms.max().item<float>() <= 1.5 + 1e-4, "L2 budget on [0, 1]");
        Assert.All(simba.Queries, q => Assert.InRange(q, 1, 200));
        double simbaAccuracy = Accuracy(net, simba.Adversarial, labels);
        Assert.True(simbaAccuracy < 0.8, $"SimBA left {simbaAccuracy:P0} correct");
        Assert.True(calls > 0);
    }

    [Fact]
    public void AnAttacksSnapshotsAreTheImagesAsTheyStoodAfterEachBudget()
    {
        var (net, _) = Digits.Value;
        var (images, labels) = Correct(24);
        BlackBox box = (x, _) => { using var g = no_grad(); return net.forward(x); };
        int[] budgets = [1, 2, 5, 10, 20, 50, 100, 120];
        using var square = Attacks.SquareLinf(box, images, labels, epsilon: 0.3, queries: 120, seed: 2, snapshots: budgets);
        using var simba = Attacks.SimBaL2(box, images, labels, budget: 1.5, step: 0.25, queries: 120, seed: 2, snapshots: budgets);
        using var plain = Attacks.SimBaL2(box, images, labels, budget: 1.5, step: 0.25, queries: 120, seed: 2);
        Assert.Null(plain.Snapshots);
        Assertions.Close(plain.Adversarial, simba.Adversarial, rtol: 0, what: "taking snapshots changes nothing of the attack");
        Assert.Equal(plain.Queries, simba.Queries);
        Assertions.Close(images, simba.Snapshots![0], rtol: 1e-6, what: "SimBA after its first query (the clean image)");
        foreach (var result in new[] { square, simba })
        {
            Assert.Equal(budgets.Length, result.Snapshots!.Length);
            Assertions.Close(result.Adversarial, result.Snapshots[^1], rtol: 0, what: "the last budget's images are the final ones");
            // Without a defence the attacker's view is the truth: at every budget, the snapshot is misclassified exactly
            // when the attack had seen it misclassified within that budget.
            var seen = Attacks.AccuracyOverQueries(result, budgets);
            for (int k = 0; k < budgets.Length; k++)
                Assert.Equal(seen[k], Accuracy(net, result.Snapshots[k], labels), 9);
        }
        Assert.True(Accuracy(net, simba.Snapshots![3], labels) > Accuracy(net, simba.Snapshots[^1], labels), "the attack makes progress between budgets");
    }

    [Trait("Category", "Slow")] // the shared trained model and classifier take about a minute to make
    [Fact]
    public void PurificationKeepsCleanPredictionsAtLowLevelsAndErasesThemAtTheTop()
    {
        var (net, _) = Digits.Value;
        var (images, _) = Correct(64);
        var model = TinyBcm.Value;
        using var _ = no_grad();
        var clean = net.forward(images).argmax(1);
        var seeds = PlanRunner.SeedRange(0, 64);
        foreach (var method in new[] { "bcm2", "bcm1", "noise-blur" })
        {
            using var low = Purification.Run(model, images, method, 0.1, seeds);
            double kept = net.forward(low).argmax(1).eq(clean).to(ScalarType.Float64).mean().item<double>();
            Assert.True(kept >= 0.85, $"{method} at σ* = 0.1 kept {kept:P0} of the clean predictions");
        }
        using var top = Purification.Run(model, images, "bcm1", 80, seeds); // pure noise, then one jump: the image is gone
        double left = net.forward(top).argmax(1).eq(clean).to(ScalarType.Float64).mean().item<double>();
        Assert.True(left < 0.5, $"purifying at σ* = 80 kept {left:P0} of the predictions: it should not know the image");
        Assert.Equal(2, Purification.PlanFor("bcm2", 0.5)!.Nfe);
        Assert.Equal(1, Purification.PlanFor("bcm1", 0.5)!.Nfe);
        Assert.Equal(2, Purification.PlanFor("ode2", 0.5)!.Nfe);
        Assert.Throws<ArgumentException>(() => Purification.PlanFor("bcm2", 0.001));
        Assert.Throws<ArgumentException>(() => Purification.PlanFor("magic", 0.5));
    }

    [Trait("Category", "Slow")]
    [Fact]
    public void TheReportMeasuresEveryDefenceUnderBothAttacks()
    {
        var (net, _) = Digits.Value;
        var (images, labels) = Correct(12);
        var dir = TestPaths.NewTempDir();
        var rows = PurificationReport.Write(TinyBcm.Value, net, images, labels, dir,
            new PurificationReport.Options { Sigmas = [0.3], Methods = ["bcm1", "noise-blur"], Queries = 6 });
        Assert.Equal(6, rows.Count); // (none, bcm1, noise-blur) × (Square, SimBA)
        var none = rows.Where(r => r.Method == "none").ToArray();
        Assert.All(none, r => Assert.Equal(1.0, r.CleanAccuracy)); // the images were chosen correctly classified
        Assert.All(rows, r => Assert.InRange(r.MeanQueries, 1, 6));
        Assert.Equal(7, File.ReadAllLines(Path.Combine(dir, "purification.csv")).Length);
        Assert.Contains("| bcm1@0.3 | 1 |", File.ReadAllText(Path.Combine(dir, "report.md")));
    }

    [Fact]
    public void TheAttackerAveragesOverTheDefencesNoiseAndDiffPureIsNoiseThenTheOde()
    {
        // A randomised "defence": query q answers logits (q mod 2 == 0 ? [2, 0] : [0, 2]): a single draw flips, the
        // expectation over two draws is the even mixture, whose log-probabilities are log 0.5 for both classes.
        Metrics.BlackBox flip = (x, q) => tensor(q % 2 == 0 ? new float[] { 2, 0 } : [0, 2]).expand(x.shape[0], 2).clone();
        var eot = Attacks.ExpectationOverDraws(flip, 2);
        using (var x = zeros(3, 1, 2, 2))
        using (var mean = eot(x, 5))
        {
            double p = (Math.Exp(2) / (Math.Exp(2) + 1) + 1 / (Math.Exp(2) + 1)) / 2;
            Assert.Equal(Math.Log(p), mean[0, 0].item<float>(), 5);
            Assert.Equal(Math.Log(p), mean[0, 1].item<float>(), 5);
        }
        Assert.Same(flip, Attacks.ExpectationOverDraws(flip, 1));

        // The attacker's view over queries: an image fooled at its 3rd query counts as robust at budgets 1-2 only.
        using var result = new AttackResult(zeros(4, 1, 2, 2), [3, 10, 1, 10], [true, false, true, false]);
        Assert.Equal([0.75, 0.5, 0.5], Attacks.AccuracyOverQueries(result, [2, 3, 10]));
        Assert.Equal([1, 2, 5, 10, 20, 50, 100, 200, 500, 1000], PurificationReport.CurveBudgets(1000));
        Assert.Equal([1, 2, 4], PurificationReport.CurveBudgets(4));
        // The DiffPure-style purifiers: noise to σ*, then the ODE down in 1 or 2 DPM-Solver++(2M) steps.
        Assert.Equal(1, Purification.PlanFor("diffpure1", 0.5)!.Nfe);
        var two = Purification.PlanFor("diffpure2", 0.5)!;
        Assert.Equal(2, two.Nfe);
        Assert.Equal(0.5, two.Start);
        Assert.True(two.StartsWithNoise); // x + σ*·z first, as DiffPure noises the input
        Assert.StartsWith("dpmpp2m:0.5>", two.ToString());
    }

    [Trait("Category", "Slow")] // the shared trained model and classifier
    [Fact]
    public void TheReportUnderExpectationOverDrawsWritesCurvesAndRunsTheDiffusionPurifier()
    {
        // The report with EOT: every row's curve ends at its budget, and the curve file and plots are written.
        var (net, _) = Digits.Value;
        var (images, labels) = Correct(6);
        var dir = TestPaths.NewTempDir();
        var rows = PurificationReport.Write(TinyBcm.Value, net, images, labels, dir,
            new PurificationReport.Options { Sigmas = [0.3], Methods = ["bcm1"], Queries = 4, EotDraws = 3 });
        Assert.All(rows, r => Assert.Equal(4, r.Curve![^1].Queries));
        Assert.All(rows, r => Assert.Contains("EOT over 3 draws", r.Attack));
        Assert.Equal(1 + rows.Count * 3, File.ReadAllLines(Path.Combine(dir, "purification-curve.csv")).Length);
        Assert.True(File.Exists(Path.Combine(dir, "curve-square-linf.png")) && File.Exists(Path.Combine(dir, "curve-simba-l2.png")));
        Assert.True(File.Exists(Path.Combine(dir, "curve-square-linf-attacker.png")) && File.Exists(Path.Combine(dir, "curve-simba-l2-attacker.png")));
        using var x = zeros(2, 1, 8, 8);
        using var purified = Purification.Run(TinyBcm.Value, x, "diffpure2", 0.5, [1, 2]);
        Assert.Equal(x.shape, purified.shape);
    }

    [Fact]
    public void AChunkedMeasurementResumesWhereItStoppedAndRefusesAnotherMeasurementsProgress()
    {
        using var net = Classifier.Load(Path.Combine(TestPaths.Root, "classifiers", "digits-8.safetensors"));
        using var model = TestModels.RandomTiny(4);
        var test = DataSources.Load("digits", 1, 8);
        var idx = Enumerable.Range(1700, 7).ToArray();
        using var images = test.Batch(idx, 8);
        using var labels = test.LabelBatch(idx)!;
        var options = new PurificationReport.Options { Sigmas = [0.3], Methods = ["bcm1"], Queries = 5, EotDraws = 2, Chunk = 3 };
        var dir = TestPaths.NewTempDir();
        var first = PurificationReport.Write(model, net, images, labels, dir, options);
        // The robust curve ends at the robust accuracy; without a defence it is the attacker's view, budget by budget.
        Assert.All(first, r => Assert.Equal(r.RobustAccuracy, r.RobustCurve![^1].Accuracy));
        Assert.All(first.Where(r => r.Defence == "none"), r => Assert.Equal(r.Curve, r.RobustCurve));
        var progress = Path.Combine(dir, "progress");
        var chunks = Directory.GetFiles(progress, "*_*_*.json");
        Assert.Equal(2 * 2 * 3, chunks.Length); // 2 defences × 2 attacks × chunks of images 0-2, 3-5, 6
        var written = chunks.ToDictionary(f => f, File.GetLastWriteTimeUtc);

        // An interruption: one chunk's result and the report are gone; the same call measures that chunk again and reads the rest.
        string lost = Path.Combine(progress, "bcm1_0.3_square-linf_3.json");
        File.Delete(lost);
        File.Delete(Path.Combine(dir, "purification.csv"));
        var second = PurificationReport.Write(model, net, images, labels, dir, options);
        static object Numbers(PurificationReport.Row r) => (r.Defence, r.Attack, r.CleanAccuracy, r.RobustAccuracy, r.AttackerSuccess, r.MeanQueries, string.Join(";", r.Curve!), string.Join(";", r.RobustCurve!));
        Assert.Equal(first.Select(Numbers), second.Select(Numbers));
        Assert.True(File.Exists(lost) && File.Exists(Path.Combine(dir, "purification.csv")));
        var bcm1Lines = File.ReadAllLines(Path.Combine(dir, "purification.csv")).Where(l => l.StartsWith("\"bcm1@0.3\"", StringComparison.Ordinal)).ToArray();
        Assert.Equal(2, bcm1Lines.Length);
        Assert.All(written.Where(w => w.Key != lost), w => Assert.Equal(w.Value, File.GetLastWriteTimeUtc(w.Key)));
        Assert.All(first, r => Assert.InRange(r.RobustAccuracy * 7, -1e-9, 7 + 1e-9));
        Assert.All(first, r => Assert.Equal(Math.Round(r.CleanAccuracy * 7), r.CleanAccuracy * 7, 9));

        // The same weights run by ONNX Runtime are the same model: the saved progress is read, not refused or measured again.
        using (var onnx = new Model.BcmModel(Onnx.OnnxNetwork.From(model.Network, threads: 1)))
            Assert.Equal(first.Select(Numbers), PurificationReport.Write(onnx, net, images, labels, dir, options).Select(Numbers));
        Assert.All(Directory.GetFiles(progress, "*_*_*.json"), f => Assert.True(f == lost || written[f] == File.GetLastWriteTimeUtc(f), f));

        // Another process measuring other defences into the same folder: its own rows are returned, and its report holds
        // every finished row of the folder, the first process's included, with the same numbers.
        var bcm2Rows = PurificationReport.Write(model, net, images, labels, dir, options with { Methods = ["bcm2"] });
        Assert.Equal(["none", "none", "bcm2@0.3", "bcm2@0.3"], bcm2Rows.Select(r => r.Defence));
        var report = File.ReadAllLines(Path.Combine(dir, "purification.csv"));
        Assert.Equal(1 + 6, report.Length);
        Assert.Equal(["\"none\"", "\"none\"", "\"bcm2@0.3\"", "\"bcm2@0.3\"", "\"bcm1@0.3\"", "\"bcm1@0.3\""], report.Skip(1).Select(l => l.Split(',')[0]));
        Assert.Equal(bcm1Lines, report.Where(l => l.StartsWith("\"bcm1@0.3\"", StringComparison.Ordinal)));

        // Progress of another measurement (here: other EOT draws) is refused, not mixed in.
        var e = Assert.Throws<Errors.BadInputException>(() => PurificationReport.Write(model, net, images, labels, dir, options with { EotDraws = 3 }));
        Assert.Contains("another measurement", e.Message);
        // So is another model's: progress carried to another machine resumes only with the weights it was measured with.
        using (var other = TestModels.RandomTiny(5))
            Assert.Contains("another measurement", Assert.Throws<Errors.BadInputException>(() => PurificationReport.Write(other, net, images, labels, dir, options)).Message);
        File.WriteAllText(lost, "{ not json");
        Assert.Contains("delete it", Assert.Throws<Errors.BadInputException>(() => PurificationReport.Write(model, net, images, labels, dir, options)).Message);
        // A well-formed result of the wrong images (one image where the chunk has three) is refused too, not counted.
        File.WriteAllText(lost, "{\"first\": 3, \"clean\": [true], \"robust\": [true], \"fooled\": [false], \"queries\": [1], \"seconds\": 0}");
        Assert.Contains("not the result of images 3..5", Assert.Throws<Errors.BadInputException>(() => PurificationReport.Write(model, net, images, labels, dir, options)).Message);
        // So is the right chunk without its robust curve (or with one of the wrong length).
        File.WriteAllText(lost, "{\"first\": 3, \"clean\": [true, true, true], \"robust\": [true, true, true], \"fooled\": [false, false, false], \"queries\": [5, 5, 5], \"seconds\": 0}");
        Assert.Contains("not the result of images 3..5", Assert.Throws<Errors.BadInputException>(() => PurificationReport.Write(model, net, images, labels, dir, options)).Message);
        File.WriteAllText(lost, "{\"first\": 3, \"clean\": [true, true, true], \"robust\": [true, true, true], \"fooled\": [false, false, false], \"queries\": [5, 5, 5], \"seconds\": 0, " +
                                "\"robust_over_queries\": [[true, true, true], [true, true, true]]}");
        Assert.Contains("not the result of images 3..5", Assert.Throws<Errors.BadInputException>(() => PurificationReport.Write(model, net, images, labels, dir, options)).Message);
    }

    [Fact]
    public void PurifyRefusesBadOptionsWithExitCode2()
    {
        var dir = TestPaths.NewTempDir();
        var run = Path.Combine(dir, "run");
        using (var t = Trainer.OpenOrResume(Presets.Get("tiny") with { Steps = 1, CheckpointEvery = 1, SampleEvery = 0 }, run)) t.Run();
        var png = Path.Combine(dir, "a.png");
        using (var x = DataReaders.BuiltInDigits().Batch([0], 8)) Imaging.ImageIO.SavePng(x[0], png);
        foreach (var (args, message) in new[]
                 {
                     (new[] { "purify", png, "-c", run, "--sigma", "0" }, "σ* must lie in"),
                     (new[] { "purify", png, "-c", run, "--method", "magic" }, "magic"),
                     (new[] { "purify", "-c", run }, "give images to purify"),
                     (new[] { "purify", "-c", run, "--data", "digits", "--classifier", Path.Combine(dir, "none.safetensors") }, "no classifier at"),
                     (new[] { "purify", "-c", run, "--data", "digits", "--queries", "0" }, "--queries"),
                 })
        {
            var r = CliRunner.Bcm(args);
            Assert.True(r.Code == 2, $"{string.Join(' ', args)}: exit {r.Code}, {r.Err}");
            Assert.Contains(message, r.Err);
        }
        var ok = CliRunner.Bcm("purify", png, "-c", run, "--sigma", "0.5", "--out", Path.Combine(dir, "out"));
        Assert.True(ok.Code == 0, ok.Err);
        Assert.True(File.Exists(Path.Combine(dir, "out", "a.purified.png")));
    }

    private static double Accuracy(Classifier net, Tensor images, Tensor labels)
    {
        using var _ = no_grad();
        return net.forward(images).argmax(1).eq(labels).to(ScalarType.Float64).mean().item<double>();
    }
}

/// <summary>Restoration measured by FID/KID over NFE, with every choice made on a separate slice (issue 14, part 3).</summary>
[Collection(TestModels.SharedModels)]
[Trait("Category", "Slow")]
public sealed class RestorationSweepTests
{
    [Fact]
    public void ChoicesComeFromTheChoiceSliceAloneAndEveryMethodIsScored()
    {
        var (net, test) = TestModels.DigitsClassifier.Value;
        var model = TestModels.TrainedTiny.Value;
        using var choose = test.Batch(Enumerable.Range(0, 24).ToArray(), 8);
        using var reportA = test.Batch(Enumerable.Range(24, 24).ToArray(), 8);
        using var reportB = test.Batch(Enumerable.Range(48, 24).ToArray(), 8);
        var a = RestorationSweep.Write(model, net, choose, reportA, [20], [1, 2], seed: 0, TestPaths.NewTempDir());
        var b = RestorationSweep.Write(model, net, choose, reportB, [20], [1, 2], seed: 0, TestPaths.NewTempDir());
        Assert.Equal(["jpeg", "blur", "cm-rounds", "bcm-zigzag", "cm-rounds"], a.Select(r => r.Method));
        Assert.Equal([0, 0, 1, 2, 2], a.Select(r => r.Nfe));
        Assert.Equal(a.Select(r => r.Choice), b.Select(r => r.Choice)); // the reported images play no part in any choice
        Assert.NotEqual(a.Select(r => r.Fid), b.Select(r => r.Fid));
        Assert.All(a, r => Assert.True(double.IsFinite(r.Fid) && double.IsFinite(r.Kid) && r.Psnr > 5));
        using var jpeg = Imaging.ImageIO.JpegDegrade(reportA, 20);
        Assert.Equal(Metrics.ImageQuality.Psnr(reportA, jpeg).Average(), a[0].Psnr, 9);
        Assert.Equal([0.3, 0.15, 0.08], RestorationSweep.Levels(0.3, 3));
    }
}
