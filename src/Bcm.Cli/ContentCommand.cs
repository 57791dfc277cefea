using System.CommandLine;
using Bcm.Data;
using Bcm.Metrics;
using Bcm.Reports;

namespace Bcm.Cli;

/// <summary><c>bcm content</c>: how interpolation paths move and whether multistep rounds keep a sample's content.</summary>
internal static class ContentCommand
{
    public static Command Create()
    {
        var classifier = new Option<string?>("--classifier") { Description = "Classifier whose features measure content (bcm classifier); default classifiers/DATA-SIZE.safetensors" };
        var pairs = new Option<int>("--pairs") { Description = "Pairs of real images to interpolate between", DefaultValueFactory = _ => 50 };
        var offset = new Option<int>("--offset") { Description = "Index of the first image of the pairs", DefaultValueFactory = _ => 0 };
        var count = new Option<int>("--count", "-n") { Description = "Samples for the rounds study", DefaultValueFactory = _ => 500 };
        var plan = new Option<string>("--plan") { Description = "Inversion plan of the interpolations: " + Bcm.Plans.PlanPresets.Help, DefaultValueFactory = _ => "invert1" };
        var rounds = new Option<int>("--rounds") { Description = "Rounds after the one-step sample (zigzag:R against cm:R+1)", DefaultValueFactory = _ => 4 };
        var cmd = new Command("content", "Measure content on a classifier's features: interpolation between real images with the same initial noise for " +
                                         "both inversions (the paper's choice) against independent noise (path evenness, end-point reconstruction), and " +
                                         "whether BCM zigzag rounds keep a sample's content while consistency-model multistep rounds change it (distance to " +
                                         "the one-step sample of the same seed, and FID, after each round). Writes content.md, content.json and CSV files.")
        {
            Common.Checkpoint, Common.Weights, Common.Preset, Common.Data, Common.Out, Common.Seed, Common.Device, Common.Threads, Common.Engine, classifier, pairs, offset, count, rounds, plan,
        };
        cmd.SetAction(parse => Common.Guard(() =>
        {
            Common.ApplyThreads(parse);
            var options = new ContentReport.Options
            {
                Pairs = parse.GetValue(pairs), Invert = parse.GetValue(plan)!, Samples = parse.GetValue(count), Rounds = parse.GetValue(rounds), Seed = parse.GetValue(Common.Seed),
            };
            options.Validate(); // before the model, the classifier and the data load
            if (parse.GetValue(offset) < 0) throw new BadInputException($"--offset: {parse.GetValue(offset)} is negative");
            var loaded = Common.LoadImageModel(parse);
            if (loaded.Model.Network.NumClasses > 0) throw new BadInputException("bcm content measures unconditional models");
            var device = Common.ParseDevice(parse.GetValue(Common.Device)!);
            string spec = parse.GetValue(Common.Data) ?? throw new BadInputException("give --data: the real images (their test split where there is one, e.g. mnist:DIR@test)");
            int channels = (int)loaded.Config.SampleShape[0], size = (int)loaded.Config.SampleShape[^1];
            using var net = Common.LoadClassifier(parse.GetValue(classifier), spec, channels, size, device);
            var real = DataSources.Load(spec, channels, size);
            string outDir = Common.OutDir(parse.GetValue(Common.Out), "content");
            var r = ContentReport.Write(loaded.Model, net, real, parse.GetValue(offset), outDir, options, new ProgressPrinter());
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
