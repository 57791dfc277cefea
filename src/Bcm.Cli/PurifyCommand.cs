using System.CommandLine;
using Bcm.Data;
using Bcm.Editing;
using Bcm.Evaluation;
using Bcm.Imaging;
using Bcm.Metrics;
using Bcm.Plans;
using Bcm.Reports;
using static Bcm.Cli.PurifyOptionsParser;

namespace Bcm.Cli;

/// <summary><c>bcm purify</c>: adversarial purification of images, or its measurement under black-box attacks.</summary>
internal static class PurifyCommand
{
    public static Command Create()
    {
        var cmd = new Command("purify", "Adversarial purification: take images to a middle noise level σ* and back to data, so that small adversarial " +
                                        "perturbations are washed out before a classifier sees them; writes NAME.purified.png. With --data, a measurement instead: " +
                                        "Square Attack (L∞) and SimBA (L2) query the defended classifier (purifier + classifier) for every defence and σ*, and " +
                                        "clean and robust accuracy go to purification.csv and report.md.")
        {
            Images, Common.Checkpoint, Common.Weights, Common.Preset, Common.Out, Common.Seed, Common.Device, Common.Threads, Common.Engine,
            Method, Sigma, DataSpec, Common.Classifier, Count, Offset, Sigmas, Methods, Queries, Linf, L2, Eot, Chunk,
        };
        cmd.SetAction(parse => Common.Guard(() =>
        {
            Common.ApplyThreads(parse);
            var loaded = Common.LoadImageModel(parse);
            var device = Common.ParseDevice(parse.GetValue(Common.Device)!);
            var shape = loaded.Model.Network.SampleShape;
            int channels = (int)shape[0], size = (int)shape[^1];
            EvaluationSet.RequireUnconditional(loaded.Model.Network.NumClasses, "purification", "the class is what the defence must not be told");
            var paths = parse.GetValue(Images) ?? [];
            string? spec = parse.GetValue(DataSpec);
            if (spec is null)
            {
                if (paths.Length == 0) throw new BadInputException("give images to purify, or --data SPEC to measure purification under attack");
                string m = parse.GetValue(Method)!;
                double s = parse.GetValue(Sigma);
                Purification.PlanFor(m, s); // checks σ* before any image is read
                var inputs = ImageInputs.FromFiles(paths, channels, size).To(device);
                using var purified = Purification.Run(loaded.Model, inputs.Images, m, s, PlanRunner.SeedRange(parse.GetValue(Common.Seed), inputs.Count));
                string outDir = Common.OutDir(parse.GetValue(Common.Out), "purified");
                EditOutputs.Purified(outDir, inputs.Names, purified);
                Console.WriteLine($"{inputs.Count} image(s) purified ({m} at σ* = {s}) → {Path.GetFullPath(outDir)}");
                return 0;
            }
            if (paths.Length > 0) throw new BadInputException("give images or --data, not both");
            var attacked = new EvaluationSetOptions { Data = spec, Count = parse.GetValue(Count), Offset = parse.GetValue(Offset), Classifier = parse.GetValue(Common.Classifier), NeedsLabels = true };
            return Measure(parse, loaded.Model, attacked, PurifyOptionsParser.Measurement(parse), device);
        }));
        return cmd;
    }

    private static int Measure(ParseResult parse, Model.BcmModel model, EvaluationSetOptions images, PurificationReport.Options options, TorchSharp.torch.Device device)
    {
        images.Validate();
        options.Validate();
        using var set = EvaluationSet.Open(images, model.Network.SampleShape, device);
        var net = set.Classifier!;
        string outDir = Common.OutDir(parse.GetValue(Common.Out), "purification");
        Console.WriteLine($"{set.Description}; classifier {Path.GetFileName(set.ClassifierPath)} ({net.Metadata.GetValueOrDefault("test_accuracy") ?? net.Metadata.GetValueOrDefault("training_accuracy") ?? "accuracy not recorded"})");
        PurificationReport.Write(model, net, set.Images!, set.Labels!, outDir, options, new SyncProgress<PurificationReport.Row>(r =>
            Console.WriteLine($"{r.Defence,-16} {r.Attack,-36} clean {r.CleanAccuracy,7:P1}  robust {r.RobustAccuracy,7:P1}  queries {r.MeanQueries,6:F1}  {r.Seconds,5:F0} s")),
            new SyncProgress<string>(Console.Error.WriteLine));
        Console.WriteLine($"→ {Path.GetFullPath(Path.Combine(outDir, "report.md"))}");
        return 0;
    }
}
