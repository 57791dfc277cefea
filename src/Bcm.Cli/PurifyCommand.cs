using System.CommandLine;
using Bcm.Data;
using Bcm.Editing;
using Bcm.Evaluation;
using Bcm.Imaging;
using Bcm.Metrics;
using Bcm.Plans;
using Bcm.Reports;

namespace Bcm.Cli;

/// <summary><c>bcm purify</c>: adversarial purification of images, or its measurement under black-box attacks.</summary>
internal static class PurifyCommand
{
    public static Command Create()
    {
        var images = new Argument<string[]>("images") { Description = "Images to purify (the model's size and channels); omit them with --data", Arity = ArgumentArity.ZeroOrMore };
        var method = new Option<string>("--method") { Description = "Purifier: bcm2 (invert to σ* and regenerate, 2 NFE), bcm1 (noise to σ*, jump down, 1 NFE), ode2 (one Euler ODE step up and one down, 2 NFE), noise-blur (no network); for an EDM baseline also diffpure1 and diffpure2 (noise to σ*, then its ODE down in 1 or 2 DPM-Solver++(2M) steps)", DefaultValueFactory = _ => "bcm2" };
        method.AcceptOnlyFromAmong([.. Purification.AllMethods]);
        var sigma = new Option<double>("--sigma") { Description = "Purification level σ* on the [−1, 1] scale of the images", DefaultValueFactory = _ => 0.5 };
        var data = Common.DataToMeasure("Measure under attack on a data set instead (use its test split, e.g. mnist:DIR@test)");
        var count = Common.Count("With --data: images to attack", 500);
        var offset = Common.Offset();
        var sigmas = new Option<string>("--levels") { Description = "With --data: the σ* sweep, comma-separated", DefaultValueFactory = _ => "0.25,0.5,1" };
        var methods = new Option<string>("--methods") { Description = "With --data: purifiers to measure, comma-separated (no defence is always measured)", DefaultValueFactory = _ => string.Join(",", Purification.Methods) };
        var queries = new Option<int>("--queries") { Description = "With --data: query budget per image and attack", DefaultValueFactory = _ => 100 };
        var linf = new Option<double>("--linf") { Description = "With --data: Square Attack's L∞ budget on the [0, 1] scale", DefaultValueFactory = _ => 0.3 };
        var eot = new Option<int>("--eot-draws") { Description = "With --data: the attacker averages the defence over K draws of its noise per query (expectation over transformation, Athalye et al. 2018)", DefaultValueFactory = _ => 1 };
        var l2 = new Option<double>("--l2") { Description = "With --data: SimBA's L2 budget on the [0, 1] scale", DefaultValueFactory = _ => 1.5 };
        var cmd = new Command("purify", "Adversarial purification: take images to a middle noise level σ* and back to data, so that small adversarial " +
                                        "perturbations are washed out before a classifier sees them; writes NAME.purified.png. With --data, a measurement instead: " +
                                        "Square Attack (L∞) and SimBA (L2) query the defended classifier (purifier + classifier) for every defence and σ*, and " +
                                        "clean and robust accuracy go to purification.csv and report.md.")
        {
            images, Common.Checkpoint, Common.Weights, Common.Preset, Common.Out, Common.Seed, Common.Device, Common.Threads, Common.Engine,
            method, sigma, data, Common.Classifier, count, offset, sigmas, methods, queries, linf, l2, eot,
        };
        cmd.SetAction(parse => Common.Guard(() =>
        {
            Common.ApplyThreads(parse);
            var loaded = Common.LoadImageModel(parse);
            var device = Common.ParseDevice(parse.GetValue(Common.Device)!);
            var shape = loaded.Model.Network.SampleShape;
            int channels = (int)shape[0], size = (int)shape[^1];
            EvaluationSet.RequireUnconditional(loaded.Model.Network.NumClasses, "purification", "the class is what the defence must not be told");
            var paths = parse.GetValue(images) ?? [];
            string? spec = parse.GetValue(data);
            if (spec is null)
            {
                if (paths.Length == 0) throw new BadInputException("give images to purify, or --data SPEC to measure purification under attack");
                string m = parse.GetValue(method)!;
                double s = parse.GetValue(sigma);
                Purification.PlanFor(m, s); // checks σ* before any image is read
                var inputs = ImageInputs.FromFiles(paths, channels, size).To(device);
                using var purified = Purification.Run(loaded.Model, inputs.Images, m, s, PlanRunner.SeedRange(parse.GetValue(Common.Seed), inputs.Count));
                string outDir = Common.OutDir(parse.GetValue(Common.Out), "purified");
                EditOutputs.Purified(outDir, inputs.Names, purified);
                Console.WriteLine($"{inputs.Count} image(s) purified ({m} at σ* = {s}) → {Path.GetFullPath(outDir)}");
                return 0;
            }
            if (paths.Length > 0) throw new BadInputException("give images or --data, not both");
            var attacked = new EvaluationSetOptions { Data = spec, Count = parse.GetValue(count), Offset = parse.GetValue(offset), Classifier = parse.GetValue(Common.Classifier), NeedsLabels = true };
            return Measure(parse, loaded.Model, attacked, new PurificationReport.Options
            {
                Sigmas = Common.Numbers(parse.GetValue(sigmas)!, "--levels"),
                Methods = parse.GetValue(methods)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                Queries = parse.GetValue(queries),
                LinfEpsilon = parse.GetValue(linf),
                L2Budget = parse.GetValue(l2),
                SimBaStep = Math.Min(0.25, parse.GetValue(l2)),
                Seed = parse.GetValue(Common.Seed),
                EotDraws = parse.GetValue(eot),
            }, device);
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
            Console.WriteLine($"{r.Defence,-16} {r.Attack,-36} clean {r.CleanAccuracy,7:P1}  robust {r.RobustAccuracy,7:P1}  queries {r.MeanQueries,6:F1}  {r.Seconds,5:F0} s")));
        Console.WriteLine($"→ {Path.GetFullPath(Path.Combine(outDir, "report.md"))}");
        return 0;
    }
}
