using System.Globalization;
using Bcm.Checkpoints;
using Bcm.Imaging;
using Bcm.IO;
using Bcm.Oracle;
using Bcm.Plans;
using static TorchSharp.torch;

namespace Bcm.Reports;

/// <summary>
/// The files of <c>bcm sample</c>: samples.safetensors (with plan, seed and checkpoint in its metadata), plan.txt, and
/// samples.png (a grid of images, or a scatter plot of 2-D vectors); for vectors samples.csv; optionally each image as
/// sample-SEED.png (named by its seed, so shards written by different processes never collide) and the trajectory.
/// </summary>
public static class SampleOutputs
{
    /// <summary>Writes samples.png (or a scatter plot and samples.csv for vectors), samples.safetensors, plan.txt, and optionally each image and the trajectory.</summary>
    public static void Write(string outDir, Tensor samples, Plan plan, long seed, string checkpoint, bool individual = false, IReadOnlyList<Tensor>? trajectory = null)
    {
        CheckFinite(samples);
        if (individual) WriteIndividual(outDir, samples, seed);
        Directory.CreateDirectory(outDir);
        bool images = samples.dim() == 4;
        if (images) ImageIO.SaveGrid(samples, Path.Combine(outDir, "samples.png"));
        else WriteVectors(samples, outDir);
        SafeTensors.Save(Path.Combine(outDir, "samples.safetensors"), new Dictionary<string, Tensor> { ["samples"] = samples },
            new Dictionary<string, string> { ["plan"] = plan.ToString(), ["seed"] = seed.ToString(CultureInfo.InvariantCulture), ["checkpoint"] = checkpoint });
        AtomicFile.WriteAllText(Path.Combine(outDir, "plan.txt"), $"{plan}\nNFE {plan.Nfe}\nseed {seed}\ncheckpoint {checkpoint}\n");
        if (trajectory is { Count: > 0 } && images)
        {
            using var strip = cat(trajectory.ToArray(), 0);
            ImageIO.SaveGrid(strip, Path.Combine(outDir, "trajectory.png"), columns: (int)trajectory[0].shape[0]);
        }
    }

    /// <summary>Images as sample-SEED.png, where sample i of <paramref name="samples"/> has seed <paramref name="firstSeed"/> + i (vectors: nothing).</summary>
    public static void WriteIndividual(string outDir, Tensor samples, long firstSeed)
    {
        if (samples.dim() != 4) return;
        CheckFinite(samples);
        Directory.CreateDirectory(outDir);
        for (int i = 0; i < samples.shape[0]; i++)
            using (var img = samples[i]) ImageIO.SavePng(img, Path.Combine(outDir, $"sample-{firstSeed + i:D6}.png"));
    }

    private static void CheckFinite(Tensor samples)
    {
        if (!samples.isfinite().all().item<bool>())
            throw new InvalidDataException("the model produced NaN or infinite samples (are its weights finite?); nothing was written");
    }

    /// <summary>Vector samples: samples.csv (one row per sample, columns x1…xd) and, in 2-D, a scatter plot samples.png.</summary>
    private static void WriteVectors(Tensor all, string outDir)
    {
        var values = MixtureEvaluation.ToDoubles(all);
        int d = (int)all.shape[1];
        var csv = new System.Text.StringBuilder(string.Join(",", Enumerable.Range(1, d).Select(j => $"x{j}")) + "\n");
        for (int i = 0; i < values.Length / d; i++)
            csv.AppendLine(string.Join(",", values.Skip(i * d).Take(d).Select(v => v.ToString("R", CultureInfo.InvariantCulture))));
        AtomicFile.WriteAllText(Path.Combine(outDir, "samples.csv"), csv.ToString());
        if (d != 2) return;
        var plot = new Plot { Title = "samples", XLabel = "x1", YLabel = "x2", EqualAspect = true };
        plot.Add(Series.Points(values, 1.8f));
        plot.Save(Path.Combine(outDir, "samples.png"), 480, 480);
    }
}
