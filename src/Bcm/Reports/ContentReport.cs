using System.Text;
using Bcm.Data;
using Bcm.Editing;
using Bcm.IO;
using Bcm.Metrics;
using Bcm.Model;
using Bcm.Plans;
using static TorchSharp.torch;

namespace Bcm.Reports;

/// <summary>
/// Two claims about content, measured on a classifier's features (issue 14, part 5):
/// <list type="bullet">
/// <item><b>Interpolation between real images</b>, with the same initial noise for both inversions (the paper's choice)
/// and with independent noise: how evenly the path moves (the feature distance between consecutive frames, over the
/// distance between the ends; and the largest step over the mean step, 1 for an even path) and how well its ends
/// reconstruct the two images (MSE on [0, 1]).</item>
/// <item><b>Zigzag keeps a sample's content</b> (the second arXiv version: "a sampling strategy that can enhance FID while
/// preserving the generated image content"): after each round, the distance of the sample to the one-step sample of
/// the same seed, and the FID of all samples, for BCM zigzag (<c>zigzag:R</c>, 2 NFE a round) against
/// consistency-model multistep sampling (<c>cm:K</c>, 1 NFE a round).</item>
/// </list>
/// Writes content.md, content.json and two CSV files.
/// </summary>
public static class ContentReport
{
    /// <summary>What to measure.</summary>
    public sealed record Options
    {
        /// <summary>Pairs of real images to interpolate between.</summary>
        public int Pairs { get; init; } = 50;
        /// <summary>Frames per path, both ends included.</summary>
        public int Frames { get; init; } = 9;
        /// <summary>The inversion plan of the interpolation.</summary>
        public string Invert { get; init; } = "invert1";
        /// <summary>The plan that regenerates each mix.</summary>
        public string Generate { get; init; } = "onestep";
        /// <summary>Samples for the rounds study.</summary>
        public int Samples { get; init; } = 500;
        /// <summary>Rounds after the one-step sample.</summary>
        public int Rounds { get; init; } = 4;
        /// <summary>Seed of the first pair and sample.</summary>
        public long Seed { get; init; }

        /// <summary>Checks every option against its range (and the plans), naming the option; call it before loading anything.</summary>
        /// <exception cref="ArgumentException">An option is out of its range.</exception>
        /// <exception cref="Plans.PlanException">A plan is malformed or goes the wrong way.</exception>
        public void Validate()
        {
            static void Range(string name, int value, int min, int max)
            {
                if (value < min || value > max) throw new ArgumentException($"{name}: {value} is outside {min}..{max:N0}");
            }
            Range("--pairs", Pairs, 1, 10_000);
            Range("frames", Frames, 3, 1_000);
            Range("--count", Samples, 2, 100_000);
            Range("--rounds", Rounds, 1, 50);
            if (!PlanPresets.Resolve(Invert).IsInversion) throw new Plans.PlanException($"--plan '{Invert}' is not an inversion plan (e.g. invert1)");
            PlanPresets.Resolve(Generate).CheckGenerates();
        }
    }

    /// <summary>The interpolation paths with one choice of initial noise.</summary>
    /// <param name="Noise"><c>same</c> or <c>independent</c>.</param>
    /// <param name="Pairs">Pairs measured.</param>
    /// <param name="MeanStep">Mean feature distance between consecutive frames, over the feature distance between the two images.</param>
    /// <param name="MaxOverMeanStep">Mean over the paths of the largest step over the mean step (1: an even path).</param>
    /// <param name="EndpointMse">Mean MSE on [0, 1] of the path's two ends against the two images.</param>
    public sealed record PathRow(string Noise, int Pairs, double MeanStep, double MaxOverMeanStep, double EndpointMse);

    /// <summary>One round of a multistep sampler.</summary>
    /// <param name="Sampler"><c>zigzag</c> or <c>cm</c>.</param>
    /// <param name="Round">Rounds after the one-step sample (0: the one-step sample itself).</param>
    /// <param name="Nfe">Network evaluations so far.</param>
    /// <param name="FeatureDistance">Mean feature distance to the one-step sample of the same seed.</param>
    /// <param name="PixelMse">Mean MSE on [0, 1] to that sample.</param>
    /// <param name="Fid">FID of all samples at this round against the real images.</param>
    public sealed record RoundRow(string Sampler, int Round, int Nfe, double FeatureDistance, double PixelMse, double Fid);

    /// <summary>Both studies.</summary>
    /// <param name="Interpolation">One row per choice of initial noise.</param>
    /// <param name="Rounds">One row per sampler and round.</param>
    public sealed record Results(List<PathRow> Interpolation, List<RoundRow> Rounds);

    /// <summary>
    /// Measures <paramref name="model"/> with <paramref name="classifier"/>'s features: paths between pairs of
    /// <paramref name="real"/> images from <paramref name="offset"/> on, and the rounds study against all of
    /// <paramref name="real"/> for FID; writes the report into <paramref name="outDir"/>.
    /// </summary>
    public static Results Write(BcmModel model, Classifier classifier, ImageDataset real, int offset, string outDir, Options? options = null,
        IProgress<string>? log = null)
    {
        options ??= new Options();
        options.Validate();
        if (offset < 0 || offset + 2L * options.Pairs > real.Count)
            throw new ArgumentException($"{real.Name} has {real.Count} images: {options.Pairs} pairs from {offset} go past the end");
        int size = (int)model.Network.SampleShape[^1];
        var interpolation = new List<PathRow>();
        foreach (bool same in new[] { true, false })
        {
            log?.Report($"interpolating {options.Pairs} pairs with {(same ? "the same" : "independent")} initial noise");
            interpolation.Add(Paths(model, classifier, real, offset, size, same, options));
        }
        var reference = RealFeatures(classifier, real, size);
        var rounds = new List<RoundRow>();
        foreach (var sampler in new[] { "zigzag", "cm" })
        {
            log?.Report($"{sampler}: {options.Rounds} rounds on {options.Samples} samples");
            rounds.AddRange(Rounds(model, classifier, reference, sampler, options));
        }
        var results = new Results(interpolation, rounds);
        WriteFiles(results, options, outDir);
        return results;
    }

    private static PathRow Paths(BcmModel model, Classifier classifier, ImageDataset real, int offset, int size, bool sameNoise, Options o)
    {
        var invert = PlanPresets.Resolve(o.Invert);
        var generate = PlanPresets.Resolve(o.Generate);
        double meanStep = 0, maxOverMean = 0, endpoint = 0;
        for (int p = 0; p < o.Pairs; p++)
        {
            using var scope = NewDisposeScope();
            var images = real.Batch([offset + 2 * p, offset + 2 * p + 1], size, device: model.Device);
            var (_, _, path) = Interpolation.BetweenImages(model, images[..1], images[1..], o.Frames, invert, generate, o.Seed + p, sameNoise: sameNoise);
            var (features, _) = classifier.Embed(path.cpu());
            var (ends, _) = classifier.Embed(images.cpu());
            int dim = Classifier.FeatureDim;
            var steps = Enumerable.Range(0, o.Frames - 1).Select(k => Math.Sqrt(SampleDistance.Sq(features, k, features, k + 1, dim))).ToArray();
            double span = Math.Max(Math.Sqrt(SampleDistance.Sq(ends, 0, ends, 1, dim)), 1e-12);
            meanStep += steps.Average() / span;
            maxOverMean += steps.Max() / Math.Max(steps.Average(), 1e-12);
            var (mse, _) = RoundTrip.Metrics(images.cpu(), cat([path[..1], path[^1..]], 0).cpu());
            endpoint += mse.Average();
        }
        return new PathRow(sameNoise ? "same" : "independent", o.Pairs, meanStep / o.Pairs, maxOverMean / o.Pairs, endpoint / o.Pairs);
    }

    private static double[] RealFeatures(Classifier classifier, ImageDataset real, int size)
    {
        using var images = real.Batch(Enumerable.Range(0, real.Count).ToArray(), size);
        return classifier.Embed(images).Features;
    }

    // The sample after each return to ε: the one-step sample, then one per round.
    private static List<RoundRow> Rounds(BcmModel model, Classifier classifier, double[] reference, string sampler, Options o)
    {
        var plan = sampler == "zigzag" ? PlanPresets.Zigzag(o.Rounds) : PlanPresets.ConsistencyMultistep(o.Rounds + 1);
        var states = new List<(Tensor X, int Nfe)>();
        int nfe = 0;
        using var start = zeros([o.Samples, .. model.Network.SampleShape], device: model.Device);
        using var final = PlanRunner.Run(model, start, plan, PlanRunner.SeedRange(o.Seed, o.Samples), callback: step =>
        {
            nfe += step.Step.Nfe;
            if (step.Step is Jump j && OdeStep.AtBoundary(j.To, model.SigmaMin)) states.Add((step.X.cpu().DetachFromDisposeScope(), nfe));
        });
        int dim = Classifier.FeatureDim;
        var embedded = states.Select(s => classifier.Embed(s.X).Features).ToList();
        var first = embedded[0];
        var rows = new List<RoundRow>();
        for (int r = 0; r < states.Count; r++)
        {
            var features = embedded[r];
            double distance = Enumerable.Range(0, o.Samples).Average(i => Math.Sqrt(SampleDistance.Sq(features, i, first, i, dim)));
            double mse = RoundTrip.Metrics(states[0].X, states[r].X).Mse.Average();
            rows.Add(new RoundRow(sampler, r, states[r].Nfe, distance, mse, FeatureMetrics.Fid(features, reference, dim)));
        }
        foreach (var (x, _) in states) x.Dispose();
        return rows;
    }

    private static readonly ReportTable<PathRow> PathTable = new(
    [
        Column<PathRow>.Of("noise", "initial noise", p => p.Noise),
        Column<PathRow>.Of("pairs", null, p => p.Pairs),
        Column<PathRow>.Of("mean_step", "mean step / end distance", p => p.MeanStep, "F3"),
        Column<PathRow>.Of("max_over_mean_step", "largest step / mean step", p => p.MaxOverMeanStep, "F2"),
        Column<PathRow>.Of("endpoint_mse", "end-point MSE", p => p.EndpointMse, "F4"),
    ]);

    private static readonly ReportTable<RoundRow> RoundTable = new(
    [
        Column<RoundRow>.Of("sampler", "sampler", x => x.Sampler),
        Column<RoundRow>.Of("round", "round", x => x.Round),
        Column<RoundRow>.Of("nfe", "NFE", x => x.Nfe),
        Column<RoundRow>.Of("feature_distance", "feature distance", x => x.FeatureDistance, "F3"),
        Column<RoundRow>.Of("pixel_mse", "pixel MSE", x => x.PixelMse, "F4"),
        Column<RoundRow>.Of("fid", "FID", x => x.Fid, "F2"),
    ]);

    private static void WriteFiles(Results r, Options o, string outDir)
    {
        Directory.CreateDirectory(outDir);
        PathTable.WriteCsv(r.Interpolation, Path.Combine(outDir, "interpolation.csv"));
        RoundTable.WriteCsv(r.Rounds, Path.Combine(outDir, "rounds.csv"));
        JsonFormat.Write(Path.Combine(outDir, "content.json"), r, JsonFormat.Reports);
        var md = new StringBuilder("# Content: interpolation paths and multistep rounds\n\n");
        md.AppendLine($"Interpolation between {o.Pairs} pairs of real images ({o.Invert}, then {o.Generate} for each of {o.Frames} frames, slerp):\n");
        md.Append(PathTable.Markdown(r.Interpolation));
        md.AppendLine($"\nRounds after the one-step sample ({o.Samples} seeds; distances to the one-step sample of the same seed; FID on the classifier's features):\n");
        md.Append(RoundTable.Markdown(r.Rounds));
        AtomicFile.WriteAllText(Path.Combine(outDir, "content.md"), md.ToString());
    }
}
