using System.CommandLine;
using Bcm.Evaluation;
using Bcm.Metrics;
using Bcm.Reports;

namespace Bcm.Cli;

/// <summary><c>bcm content</c>: how interpolation paths move and whether multistep rounds keep a sample's content.</summary>
internal static class ContentCommand
{
    public static Command Create()
    {
        var pairs = new Option<int>("--pairs") { Description = "Pairs of real images to interpolate between", DefaultValueFactory = _ => 50 };
        var offset = Common.Offset("Index of the first image of the pairs");
        var count = Common.Count("Samples for the rounds study", 500);
        var plan = new Option<string>("--plan") { Description = "Inversion plan of the interpolations: " + Bcm.Plans.PlanPresets.Help, DefaultValueFactory = _ => "invert1" };
        var rounds = new Option<int>("--rounds") { Description = "Rounds after the one-step sample (zigzag:R against cm:R+1)", DefaultValueFactory = _ => 4 };
        var cmd = new Command("content", "Measure content on a classifier's features: interpolation between real images with the same initial noise for " +
                                         "both inversions (the paper's choice) against independent noise (path evenness, end-point reconstruction), and " +
                                         "whether BCM zigzag rounds keep a sample's content while consistency-model multistep rounds change it (distance to " +
                                         "the one-step sample of the same seed, and FID, after each round). Writes content.md, content.json and CSV files.")
        {
            Common.Checkpoint, Common.Weights, Common.Preset, Common.Data, Common.Out, Common.Seed, Common.Device, Common.Threads, Common.Engine, Common.Classifier, pairs, offset, count, rounds, plan,
        };
        cmd.SetAction(parse => Common.Guard(() =>
        {
            Common.ApplyThreads(parse);
            var options = new ContentReport.Options
            {
                Pairs = parse.GetValue(pairs), Invert = parse.GetValue(plan)!, Samples = parse.GetValue(count), Rounds = parse.GetValue(rounds), Seed = parse.GetValue(Common.Seed),
            };
            options.Validate(); // before the model, the classifier and the data load
            var real = new EvaluationSetOptions
            {
                Data = parse.GetValue(Common.Data) ?? throw new BadInputException("give --data: the real images (their test split where there is one, e.g. mnist:DIR@test)"),
                WholeSet = true, Offset = parse.GetValue(offset), Classifier = parse.GetValue(Common.Classifier),
            };
            real.Validate();
            var loaded = Common.LoadImageModel(parse);
            EvaluationSet.RequireUnconditional(loaded.Model.Network.NumClasses, "bcm content");
            using var set = EvaluationSet.Open(real, loaded.Config.SampleShape, Common.ParseDevice(parse.GetValue(Common.Device)!));
            string outDir = Common.OutDir(parse.GetValue(Common.Out), "content");
            var r = ContentReport.Write(loaded.Model, set.Classifier!, set.Data, set.First, outDir, options, new ProgressPrinter());
            foreach (var p in r.Interpolation)
                Console.WriteLine($"interpolation, {p.Noise,-11} noise: mean step {p.MeanStep:F3} of the end distance, largest/mean step {p.MaxOverMeanStep:F2}, end-point MSE {p.EndpointMse:F4}");
            foreach (var x in r.Rounds)
                Console.WriteLine($"{x.Sampler,-6} round {x.Round} ({x.Nfe} NFE): distance to the one-step sample {x.FeatureDistance:F3} (pixel MSE {x.PixelMse:F4}), FID {x.Fid:F2}");
            Console.WriteLine($"→ {Path.GetFullPath(Path.Combine(outDir, "content.md"))}");
            return 0;
        }));
        return cmd;
    }
}
