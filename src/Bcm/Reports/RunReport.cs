using System.Text;
using Bcm.Data;
using Bcm.Imaging;
using Bcm.Model;
using Bcm.Metrics;
using Bcm.Plans;
using Bcm.Training;
using static TorchSharp.torch;
using Bcm.Tensors;
using static Bcm.Tensors.ScalarMath;

namespace Bcm.Reports;

/// <summary>
/// What a trained model does, as pictures and numbers in a folder: one-step and few-step sample grids, and an inversion
/// round trip on real images with its MSE/PSNR on [0, 1] against the trivial baseline (MSE to an unrelated sample).
/// </summary>
public static class RunReport
{
    /// <summary>The numbers of a run report.</summary>
    /// <param name="Checkpoint">The checkpoint reported on.</param>
    /// <param name="Step">Its training step.</param>
    /// <param name="Images">Real images in the round trip.</param>
    /// <param name="InvertPlan">The inversion plan.</param>
    /// <param name="GeneratePlan">The regeneration plan.</param>
    /// <param name="RoundTripMse">Mean round-trip MSE on [0, 1].</param>
    /// <param name="RoundTripPsnr">Mean round-trip PSNR (dB).</param>
    /// <param name="RandomSampleMse">Mean MSE of the same images to unrelated samples: the trivial baseline.</param>
    /// <param name="SampleNfe">NFE of each sample grid, by plan name.</param>
    /// <param name="OneJumpMse">Mean round-trip MSE with the one-jump inversion <c>invert1</c> (0.07&gt;80), for comparison.</param>
    public sealed record Numbers(string Checkpoint, long? Step, int Images, string InvertPlan, string GeneratePlan,
        double RoundTripMse, double RoundTripPsnr, double RandomSampleMse, Dictionary<string, int> SampleNfe, double OneJumpMse)
    {
        /// <summary>The round trip in one line, beside its trivial baseline and the one-jump inversion.</summary>
        public string Describe() =>
            FormattableString.Invariant($"inversion round trip ({InvertPlan}, then {GeneratePlan}): MSE {RoundTripMse:F4} (PSNR {RoundTripPsnr:F2} dB; pixels on [0, 1]) ") +
            FormattableString.Invariant($"vs {RandomSampleMse:F4} for an unrelated sample; {OneJumpMse:F4} with the one-jump inversion 0.07>80");
    }

    /// <summary>
    /// The inversion plan of the report: <c>invert4</c> (0.07&gt;0.5&gt;2&gt;10&gt;80). At the main job's budget the long inverse
    /// jump is learnt worst; short jumps up, chained, keep the images (chosen on digits 32..199, which the report does not
    /// use: see the README).
    /// </summary>
    public const string InvertPlan = "invert4";

    /// <summary>Writes sample grids of <paramref name="count"/> images per plan and the round trip of <paramref name="realImages"/> into <paramref name="outDir"/> (report.md, report.json, PNGs).</summary>
    public static Numbers Write(BcmModel model, ImageDataset realImages, string outDir, string checkpoint, long? step,
        int count = 64, long seed = 0, IProgress<string>? log = null)
    {
        Directory.CreateDirectory(outDir);
        var device = model.Device;
        int size = (int)model.Network.SampleShape[^1];
        var shape = new long[] { count }.Concat(model.Network.SampleShape).ToArray();
        var labels = model.Network.NumClasses > 0 ? Range(count, device: device).Mod(model.Network.NumClasses) : null;
        var nfe = new Dictionary<string, int>();
        Tensor? firstSamples = null;
        foreach (var name in new[] { "onestep", "ancestral2", "zigzag3", "mixed4" })
        {
            var plan = PlanPresets.Resolve(name);
            log?.Report($"sampling {count} images with {name} ({plan.Nfe} NFE: {plan})");
            using var scope = NewDisposeScope();
            var x = PlanRunner.Run(model, zeros(shape, device: device), plan, PlanRunner.SeedRange(seed, count), labels);
            ImageIO.SaveGrid(x, Path.Combine(outDir, $"samples-{name}.png"));
            nfe[name] = plan.Nfe;
            firstSamples ??= x.cpu().DetachFromDisposeScope();
        }

        int n = Math.Min(count / 2, realImages.Count);
        var indices = Enumerable.Range(0, n).ToArray();
        using var images = realImages.Batch(indices, size, device: device);
        using var realLabels = model.Network.NumClasses > 0 ? realImages.LabelBatch(indices, device) : null;
        var invert = PlanPresets.Resolve(InvertPlan);
        var generate = PlanPresets.Resolve("onestep");
        log?.Report($"inverting {n} real images ({invert}) and regenerating ({generate})");
        using var result = RoundTrip.Run(model, images, invert, generate, seed, realLabels);
        ImageIO.SavePairs(images, result.Reconstructions, Path.Combine(outDir, "inversion-roundtrip.png"));
        double oneJump;
        using (var single = RoundTrip.Run(model, images, PlanPresets.Resolve("invert1"), generate, seed, realLabels)) oneJump = single.MeanMse;
        double baseline = RoundTrip.Metrics(images.cpu(), firstSamples![..n]).Mse.Average();
        firstSamples.Dispose();

        var numbers = new Numbers(checkpoint, step, n, invert.ToString(), generate.ToString(), result.MeanMse, result.MeanPsnr, baseline, nfe, oneJump);
        IO.JsonFormat.Write(Path.Combine(outDir, "report.json"), numbers);
        var md = new StringBuilder();
        md.AppendLine($"# Report for {checkpoint}{(step is null ? "" : $" (step {step})")}\n");
        md.AppendLine("| plan | NFE | grid |\n|---|---|---|");
        foreach (var (name, k) in nfe) md.AppendLine($"| {name} | {k} | ![](samples-{name}.png) |");
        md.AppendLine($"\nInversion round trip on {n} real images ({invert} then {generate}): MSE {numbers.RoundTripMse:F4}, " +
                      $"PSNR {numbers.RoundTripPsnr:F2} dB on [0, 1]; MSE between the images and unrelated samples (trivial baseline) {baseline:F4}; " +
                      $"with the one-jump inversion 0.07>80 instead: MSE {oneJump:F4}.\n");
        md.AppendLine("![](inversion-roundtrip.png)");
        IO.AtomicFile.WriteAllText(Path.Combine(outDir, "report.md"), md.ToString());
        return numbers;
    }

    /// <summary>The run report of a trained image BCM in <c>RUN/report</c>: its EMA model on the held-out split of its data where there is one, else its training data.</summary>
    public static Numbers ForRun(Trainer trainer, string runDir, IProgress<string>? log = null)
    {
        var shape = trainer.Options.Network.SampleShape;
        var real = DataSources.LoadTest(trainer.Options.Data, (int)shape[0], (int)shape[^1], log) ?? (ImageDataset)Trainer.LoadData(trainer.Options);
        return Write(trainer.Ema, real, Path.Combine(runDir, "report"), runDir, trainer.Step, log: log);
    }
}
