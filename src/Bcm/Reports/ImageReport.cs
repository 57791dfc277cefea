using System.Diagnostics;
using System.Globalization;
using System.Text;
using Bcm.Data;
using Bcm.Distributed;
using Bcm.Imaging;
using Bcm.Metrics;
using Bcm.Model;
using Bcm.Plans;
using static TorchSharp.torch;
using Bcm.Tensors;

namespace Bcm.Reports;

/// <summary>Sample quality of one generation method, on the classifier's features.</summary>
public sealed record SampleQuality(string Method, int Nfe, double Fid, double Kid, double? KidStd, double Precision, double Recall,
    double ClassCoverage, double ClassTv, double ImagesPerSecond, MethodFamily Family, string? SampleGrid = null);

/// <summary>Reconstruction quality of one inversion method (inversion then generation back).</summary>
/// <remarks>
/// <see cref="LatentStd"/> is the standard deviation of the latents divided by T: about 1 for noise-like latents at
/// σ = T, far below 1 when a too-coarse inversion leaves the image nearly unchanged.
/// </remarks>
public sealed record ReconstructionQuality(string Method, int InversionNfe, int GenerationNfe, double Mse, double Psnr, double Ssim, double LatentStd, double ImagesPerSecond,
    MethodFamily Family);

/// <summary>
/// The measured-claims report for image models: FID/KID/precision/recall/class coverage on a classifier's features versus
/// NFE for BCM plans and the EDM baseline (Heun), with the real-versus-real floor; reconstruction MSE/PSNR/SSIM versus
/// NFE for BCM inversion and ODE inversion; throughput. Writes report.md, results.json, CSV, plots and sample grids.
/// </summary>
public static class ImageReport
{
    /// <summary>What to measure.</summary>
    public sealed record Options
    {
        /// <summary>Generated samples per method.</summary>
        public int Samples { get; init; } = 1000;
        /// <summary>Real held-out images for the round trips.</summary>
        public int InversionImages { get; init; } = 256;
        /// <summary>Seed of the first sample and image.</summary>
        public long Seed { get; init; }
        /// <summary>Images per forward pass (results do not depend on it).</summary>
        public int BatchSize { get; init; } = 250;
        /// <summary>BCM plans to measure (names or text).</summary>
        public string[] BcmPlans { get; init; } = ["onestep", "ancestral2", "zigzag3", "mixed4"];
        /// <summary>NFE budgets of the baseline's samplers (Heun takes the most steps within each).</summary>
        public int[] BaselineNfe { get; init; } = [2, 4, 10, 20, 40, 80];
        /// <summary>The ODE solvers the baseline generates and inverts with (keys of <see cref="BaselineSolver.All"/>).</summary>
        public string[] BaselineSolvers { get; init; } = ["heun"];
        /// <summary>The BCM's inversion plans of the round trips (each followed by one-step generation).</summary>
        public string[] InversionPlans { get; init; } = ["invert1", "invert2"];
        /// <summary>NFE budgets of the inversion round trips.</summary>
        public int[] InversionNfe { get; init; } = [2, 4, 10, 20, 50, 100];

        /// <summary>Refuses values out of range, naming the option, the value and the range allowed.</summary>
        public void Validate() => EvalOptions.Validate(Samples, BcmPlans, BaselineNfe, InversionNfe, BaselineSolvers, InversionPlans);
    }

    /// <summary>Everything the report holds, as written to results.json.</summary>
    /// <param name="Model">The checkpoint measured.</param>
    /// <param name="Baseline">The EDM baseline's checkpoint, if any.</param>
    /// <param name="Classifier">The feature classifier's file.</param>
    /// <param name="ClassifierSha256">Its SHA-256 (numbers are tied to it).</param>
    /// <param name="ClassifierAccuracy">Its accuracy, as stored with it.</param>
    /// <param name="RealData">The real images compared against.</param>
    /// <param name="Floor">Real against real: the floor of every metric.</param>
    /// <param name="Generation">One row per method and NFE.</param>
    /// <param name="Reconstruction">Inversion round trips per method and NFE.</param>
    /// <param name="Seconds">Wall time of the whole report.</param>
    public sealed record Results(string Model, string? Baseline, string Classifier, string ClassifierSha256, string ClassifierAccuracy, string RealData,
        SampleQuality Floor, List<SampleQuality> Generation, List<ReconstructionQuality> Reconstruction, double Seconds);

    /// <summary>
    /// Measures and writes the report. Under MPI (<paramref name="comm"/> of N ranks, all calling it) each rank generates,
    /// embeds and round-trips its share of the samples and images; features, predictions and per-image errors are
    /// gathered to rank 0, which alone computes the metrics and writes files (sample grids show rank 0's share) and gets
    /// the results; other ranks get null.
    /// </summary>
    public static Results? Write(BcmModel bcm, string modelName, BcmModel? baseline, string? baselineName, Classifier classifier, string classifierPath,
        ImageDataset reference, ImageDataset otherReal, string outDir, Options? options = null, IProgress<string>? log = null, ICommunicator? comm = null)
    {
        options ??= new Options();
        comm ??= SingleProcess.Instance;
        bool lead = comm.Rank == 0;
        if (!lead) log = null;
        var clock = Stopwatch.StartNew();
        if (lead) Directory.CreateDirectory(outDir);
        var shape = bcm.Network.SampleShape;
        int size = (int)shape[^1], n = Math.Min(options.Samples, Math.Min(reference.Count, otherReal.Count));
        if (classifier.Size != size || classifier.Channels != shape[0])
            throw new ArgumentException($"the classifier takes {classifier.Channels}x{classifier.Size}x{classifier.Size} images, the model makes {string.Join("x", shape)}");
        var device = bcm.Device;

        double[] refFeatures = [];
        SampleQuality? floor = null;
        if (lead)
        {
            log?.Report($"features of {n} real images (reference) and {n} others (floor)");
            using var refImages = reference.Batch(Enumerable.Range(0, n).ToArray(), size);
            (refFeatures, _) = classifier.Embed(refImages);
            var otherIdx = Enumerable.Range(0, otherReal.Count).ToArray();
            new Random(1).Shuffle(otherIdx);
            using var otherImages = otherReal.Batch(otherIdx[..n], size);
            var (otherFeatures, otherPredictions) = classifier.Embed(otherImages);
            floor = Quality("real vs real (floor)", MethodFamily.Reference, 0, otherFeatures, otherPredictions, refFeatures, classifier.Classes, 0);
        }

        var generation = new List<SampleQuality>();
        var (first, share) = Sharded.Share(n, comm.Rank, comm.Size);
        SampleQuality? Measure(string method, MethodFamily family, BcmModel model, Plan plan, string grid)
        {
            log?.Report($"{method} ({plan.Nfe} NFE) on {n} samples{(comm.Size > 1 ? $" over {comm.Size} ranks" : "")}");
            var watch = Stopwatch.StartNew();
            // Samples first..first+share−1 of the run: seeds Seed + i, labels i mod classes, as bcm sample makes them.
            using var images = PlanRunner.Generate(model, plan, share, options.Seed, options.BatchSize, first: first);
            double seconds = watch.Elapsed.TotalSeconds;
            if (lead) ImageIO.SaveGrid(images[..Math.Min(64, share)], Path.Combine(outDir, grid));
            var (features, predictions) = classifier.Embed(images.Clamped(-1, 1));
            var all = GatherEmbedding(comm, features, predictions, seconds);
            return all is var (f, p, slowest) ? Quality(method, family, plan.Nfe, f, p, refFeatures, classifier.Classes, n / slowest) with { SampleGrid = grid } : null;
        }
        foreach (var name in options.BcmPlans)
            if (Measure($"BCM {name}", MethodFamily.Bcm, bcm, PlanPresets.Resolve(name), $"samples-bcm-{FileSafe(name)}.png") is { } q) generation.Add(q);
        if (baseline is not null)
            foreach (var solver in options.BaselineSolvers.Select(BaselineSolver.Get))
                foreach (var nfe in solver.Budgets(options.BaselineNfe))
                {
                    var plan = solver.Within(nfe);
                    string grid = solver.Method == OdeMethod.Heun ? $"samples-edm-{plan.Nfe}.png" : $"samples-edm-{solver.Key}-{plan.Nfe}.png";
                    if (Measure($"EDM {solver.Name}", solver.Family, baseline, plan, grid) is { } q) generation.Add(q);
                }

        var reconstruction = Reconstructions(bcm, baseline, reference, size, options, device, outDir, log, comm);
        if (!lead) return null;
        var meta = classifier.Metadata;
        var results = new Results(modelName, baselineName, classifierPath, meta.GetValueOrDefault("sha256", "?"), meta.TryGetValue("test_accuracy", out var heldOut) ? heldOut : $"{meta.GetValueOrDefault("training_accuracy", "?")} on its training images (no test split)",
            reference.Name, floor!, generation, reconstruction, clock.Elapsed.TotalSeconds);
        WriteOutputs(results, outDir, options);
        return results;
    }

    // Plan names may be texts such as 80>0.002 or families such as ancestral:3: keep file names portable.
    private static string FileSafe(string name) => new(name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' ? c : '_').ToArray());

    // Every rank's features and predictions in rank order (the order of one process), and the slowest rank's seconds; null on other ranks.
    private static (double[] Features, int[] Predictions, double Seconds)? GatherEmbedding(ICommunicator comm, double[] features, int[] predictions, double seconds)
    {
        if (comm.Size == 1) return (features, predictions, seconds);
        var allFeatures = comm.Gather(features);
        var allPredictions = comm.Gather(predictions.Select(p => (double)p).ToArray());
        var times = comm.Gather([seconds]);
        return comm.Rank == 0 ? (allFeatures, allPredictions.Select(p => (int)p).ToArray(), times.Max()) : null;
    }

    /// <summary>
    /// KID on the classifier's features (10 subsets of 500). KID's cubic kernel (a·b/d + 1)³ assumes features of order one
    /// (as Inception's are); the classifier's ReLU features are larger, which lets a few huge kernel values dominate. Both
    /// sets are divided by one constant, the reference set's RMS feature value, before the kernel.
    /// </summary>
    internal static KidEstimate ClassifierKid(double[] features, double[] reference)
    {
        double scale = 1 / Math.Sqrt(reference.Average(v => v * v));
        return FeatureMetrics.Kid(features.Select(v => v * scale).ToArray(), reference.Select(v => v * scale).ToArray(), Classifier.FeatureDim,
            subsets: 10, subsetSize: 500);
    }

    private static SampleQuality Quality(string method, MethodFamily family, int nfe, double[] features, int[] predictions, double[] refFeatures, int classes, double ips)
    {
        int dim = Classifier.FeatureDim;
        double fid = FeatureMetrics.Fid(features, refFeatures, dim);
        var kid = ClassifierKid(features, refFeatures);
        var (precision, recall) = FeatureMetrics.PrecisionRecall(refFeatures, features, dim);
        var counts = new int[classes];
        foreach (var p in predictions) counts[p]++;
        double coverage = counts.Count(c => c >= 0.5 * predictions.Length / classes) / (double)classes;
        double tv = 0.5 * counts.Sum(c => Math.Abs(c / (double)predictions.Length - 1.0 / classes));
        return new SampleQuality(method, nfe, fid, kid.Mean, kid.Std, precision, recall, coverage, tv, ips, family);
    }

    private static List<ReconstructionQuality> Reconstructions(BcmModel bcm, BcmModel? baseline, ImageDataset reference, int size, Options options,
        Device device, string outDir, IProgress<string>? log, ICommunicator comm)
    {
        int n = Math.Min(options.InversionImages, reference.Count);
        var (first, share) = Sharded.Share(n, comm.Rank, comm.Size);
        var idx = Enumerable.Range(first, share).ToArray();
        using var images = reference.Batch(idx, size, device: device);
        using var labels = bcm.Network.NumClasses > 0 ? reference.LabelBatch(idx, device) : null;
        long seed = options.Seed + first; // image i of the set has seed Seed + i, whichever rank takes it
        var list = new List<ReconstructionQuality>();
        void Measure(string method, MethodFamily family, int invNfe, int genNfe, Tensor latents, Tensor recon, double seconds)
        {
            using var cpuImages = images.cpu();
            using var cpuRecon = recon.cpu();
            var mse = ImageQuality.Mse(cpuImages, cpuRecon);
            using var l = latents.to(float64);
            var columns = Sharded.GatherColumns(comm, n, mse, ImageQuality.Psnr(mse), ImageQuality.Ssim(cpuImages, cpuRecon));
            var moments = comm.Gather([l.sum().item<double>(), l.Squared().sum().item<double>(), l.numel(), seconds]);
            if (columns is not [var mseAll, var psnrAll, var ssimAll]) return; // not rank 0
            // The latents' standard deviation from the gathered moments.
            double sum = 0, squares = 0, count = 0, slowest = 0;
            for (int r = 0; r < comm.Size; r++)
            {
                sum += moments[4 * r];
                squares += moments[4 * r + 1];
                count += moments[4 * r + 2];
                slowest = Math.Max(slowest, moments[4 * r + 3]);
            }
            double latentStd = Math.Sqrt(Math.Max(0, (squares - sum * sum / count) / (count - 1))) / bcm.SigmaMax;
            list.Add(new ReconstructionQuality(method, invNfe, genNfe, mseAll.Average(), psnrAll.Average(), ssimAll.Average(), latentStd, n / slowest, family));
        }
        var generate = PlanPresets.Resolve("onestep");
        foreach (var name in options.InversionPlans)
        {
            var invert = PlanPresets.Resolve(name);
            log?.Report($"BCM {name} + onestep on {n} real images");
            var watch = Stopwatch.StartNew();
            using var rt = RoundTrip.Run(bcm, images, invert, generate, seed, labels);
            Measure($"BCM {name} + onestep", MethodFamily.Bcm, invert.Nfe, generate.Nfe, rt.Latents, rt.Reconstructions, watch.Elapsed.TotalSeconds);
            if (comm.Rank == 0)
                ImageIO.SavePairs(images[..Math.Min(32, share)], rt.Reconstructions[..Math.Min(32, share)], Path.Combine(outDir, $"roundtrip-bcm-{name}.png"));
        }
        if (baseline is not null)
            foreach (var solver in options.BaselineSolvers.Select(BaselineSolver.Get))
            foreach (var nfe in solver.Budgets(options.InversionNfe))
            {
                var (invert, generateOde) = (solver.Within(nfe, invert: true), solver.Within(nfe));
                int actual = invert.Nfe;
                log?.Report($"EDM ODE inversion + generation, {solver.Name} {invert.Steps.Count} steps each ({actual} + {generateOde.Nfe} NFE)");
                var watch = Stopwatch.StartNew();
                using var scope = NewDisposeScope();
                var odeSeeds = PlanRunner.SeedRange(seed, share);
                var (latents, recon) = PlanRunner.RoundTrip(baseline, images, invert.FromGiven(), generateOde, odeSeeds, labels);
                Measure($"EDM ODE inversion + ODE generation ({solver.Name})", solver.Family, actual, generateOde.Nfe, latents, recon, watch.Elapsed.TotalSeconds);
                if (comm.Rank == 0 && (nfe == options.InversionNfe[^1] || nfe == 20))
                    ImageIO.SavePairs(images[..Math.Min(32, share)], recon[..Math.Min(32, share)],
                        Path.Combine(outDir, solver.Method == OdeMethod.Heun ? $"roundtrip-edm-{actual}.png" : $"roundtrip-edm-{solver.Key}-{actual}.png"));
            }
        return list;
    }

    // generation.csv and the report's sample-quality table.
    private static readonly ReportTable<SampleQuality> GenerationTable = new(
    [
        Column<SampleQuality>.Of("method", "method", g => g.Method),
        Column<SampleQuality>.Of("family", null, g => g.Family),
        new("nfe", g => g.Nfe, "NFE", g => g.Nfe == 0 ? "—" : ReportTable.Cell(g.Nfe)),
        Column<SampleQuality>.Of("fid", "FID", g => g.Fid, "F2"),
        new("kid", g => g.Kid, "KID (×10³)", g => ReportTable.Cell(1000 * g.Kid, "F2") + (g.KidStd is double sd ? $" ± {ReportTable.Cell(1000 * sd, "F2")}" : "")),
        Column<SampleQuality>.Of("kid_std", null, g => g.KidStd),
        Column<SampleQuality>.Of("precision", "precision", g => g.Precision, "F3"),
        Column<SampleQuality>.Of("recall", "recall", g => g.Recall, "F3"),
        Column<SampleQuality>.Of("class_coverage", "classes covered", g => g.ClassCoverage, "P0"),
        Column<SampleQuality>.Of("class_tv", "class TV", g => g.ClassTv, "F3"),
        new("images_per_second", g => g.ImagesPerSecond, "images/s", g => g.ImagesPerSecond > 0 ? ReportTable.Cell(g.ImagesPerSecond, "F0") : "—"),
    ]);

    // reconstruction.csv and the report's round-trip table.
    private static readonly ReportTable<ReconstructionQuality> ReconstructionTable = new(
    [
        Column<ReconstructionQuality>.Of("method", "method", q => q.Method),
        Column<ReconstructionQuality>.Of("family", null, q => q.Family),
        Column<ReconstructionQuality>.Of("inversion_nfe", "NFE invert", q => q.InversionNfe),
        Column<ReconstructionQuality>.Of("generation_nfe", "NFE generate", q => q.GenerationNfe),
        Column<ReconstructionQuality>.Of("mse", "MSE", q => q.Mse, "F4"),
        Column<ReconstructionQuality>.Of("psnr", "PSNR (dB)", q => q.Psnr, "F2"),
        Column<ReconstructionQuality>.Of("ssim", "SSIM", q => q.Ssim, "F3"),
        Column<ReconstructionQuality>.Of("latent_std_over_t", "latent std / T", q => q.LatentStd, "F3"),
        Column<ReconstructionQuality>.Of("images_per_second", "images/s", q => q.ImagesPerSecond, "F0"),
    ]);

    private static void WriteOutputs(Results r, string outDir, Options options)
    {
        IO.JsonFormat.Write(Path.Combine(outDir, "results.json"), r);
        GenerationTable.WriteCsv(r.Generation.Prepend(r.Floor), Path.Combine(outDir, "generation.csv"));
        ReconstructionTable.WriteCsv(r.Reconstruction, Path.Combine(outDir, "reconstruction.csv"));

        void Curve(string file, string title, string ylabel, Func<SampleQuality, double> metric) =>
            NfeCurve.Save(Path.Combine(outDir, file), title, ylabel, r.Generation, r.Floor, "real vs real (floor)", g => g.Family, g => g.Nfe, metric);
        Curve("nfe-fid.png", "FID (classifier features) vs NFE", "FID", g => Math.Max(g.Fid, 1e-3));
        Curve("nfe-kid.png", "KID (classifier features) vs NFE", "KID", g => Math.Max(g.Kid, 1e-6));
        var rec = new Plot { Title = "inversion round trip: reconstruction MSE vs NFE", XLabel = "NFE of the inversion", YLabel = "MSE on [0, 1]", LogX = true, LogY = true };
        foreach (var group in r.Reconstruction.GroupBy(q => q.Family == MethodFamily.Bcm ? "BCM inversion + 1-step generation"
                     : q.Family == MethodFamily.EdmBaseline ? "EDM ODE inversion + ODE generation" : $"{BaselineSolver.Legend(q.Family)} ODE inversion + generation"))
            rec.Add(new Series(group.Key, group.Select(q => (double)q.InversionNfe).ToArray(), group.Select(q => q.Mse).ToArray()));
        rec.Save(Path.Combine(outDir, "nfe-reconstruction.png"));

        var md = new StringBuilder();
        md.AppendLine("# Image evaluation\n");
        md.AppendLine($"Model `{r.Model}`{(r.Baseline is null ? "" : $"; EDM baseline `{r.Baseline}`")}. Reference: {options.Samples} images of {r.RealData}. " +
                      $"Features: classifier `{Path.GetFileName(r.Classifier)}` (sha256 {r.ClassifierSha256[..Math.Min(16, r.ClassifierSha256.Length)]}…, test accuracy {r.ClassifierAccuracy}). " +
                      $"Took {r.Seconds:F0} s.\n");
        md.AppendLine("## Sample quality versus NFE\n");
        md.Append(GenerationTable.Markdown(r.Generation.Prepend(r.Floor)));
        md.AppendLine("\n![](nfe-fid.png) ![](nfe-kid.png)\n");
        md.AppendLine(string.Join(" ", r.Generation.Where(g => g.SampleGrid is not null).Select(g => $"![{g.Method} {g.Nfe} NFE]({g.SampleGrid})")) + "\n");
        md.AppendLine("## Inversion round trips versus NFE\n");
        md.AppendLine($"{options.InversionImages} real images inverted to T = 80 and generated back; MSE/PSNR/SSIM on [0, 1]. " +
                      "Latent std / T is about 1 for noise-like latents; far below 1, the inversion left the image nearly as it was.\n");
        md.Append(ReconstructionTable.Markdown(r.Reconstruction));
        md.AppendLine("\n![](nfe-reconstruction.png)");
        IO.AtomicFile.WriteAllText(Path.Combine(outDir, "report.md"), md.ToString());
    }
}
