using System.CommandLine;
using Bcm.Data;
using Bcm.Reports;
using Bcm.Training;

namespace Bcm.Cli;

/// <summary><c>bcm eval</c>: measured claims. Mixture models against the exact ODE; image models with classifier metrics.</summary>
internal static class EvalCommand
{
    public static Command Create()
    {
        var baseline = new Option<string?>("--baseline") { Description = "An EDM baseline run (bcm train --objective edm) on the same data: Heun sampling and ODE inversion over NFE beside the BCM" };
        var samples = new Option<int?>("--samples", "-n") { Description = "Generated samples per method (default 2000 for mixtures, 1000 for images)" };
        var classifier = new Option<string?>("--classifier") { Description = "Classifier for image metrics (bcm classifier); default classifiers/DATA-SIZE.safetensors" };
        var inversions = new Option<int?>("--inversion-images") { Description = "Real images for the inversion round trips (default 256)" };
        var plans = new Option<string?>("--plans") { Description = "Generation plans to measure, comma-separated names (default onestep,ancestral2,zigzag3,mixed4; e.g. onestep,cm-multistep for an iCT model)" };
        var mixture = new Option<string?>("--mixture") { Description = "Mixture to evaluate against (default: the one the model was trained on): " + GaussianMixture.Help };
        var cmd = new Command("eval", "Measure a model and write a report (report.md with PNG plots, results.json, CSV). For a model of a Gaussian mixture: " +
                                      "generation quality against the exact density and fresh samples, jump errors against the exact probability-flow ODE " +
                                      "over (t, u), inversion against exact latents and zigzag drift. For an image model: FID, KID, precision/recall and class " +
                                      "coverage on a classifier's features (with the real-versus-real floor), reconstruction MSE/PSNR/SSIM of inversion " +
                                      "round trips, throughput. With --baseline, the EDM baseline's Heun sampler and ODE inversion over NFE beside the BCM.")
        {
            Common.Checkpoint, baseline, samples, plans, classifier, inversions, Common.Data, mixture, Common.Out, Common.Seed, Common.Device, Common.Threads,
        };
        cmd.SetAction(parse => Common.Guard(() =>
        {
            Common.ApplyThreads(parse);
            string device = parse.GetValue(Common.Device)!;
            var loaded = Common.LoadModel(parse.GetValue(Common.Checkpoint), null, device);
            var printer = new ProgressPrinter();
            var base_ = parse.GetValue(baseline) is string b ? Common.LoadModel(b, null, device) : null;
            if (base_ is not null && (base_.Options is null || TrainingObjectives.For(base_.Options).TrainsU))
                throw new CliError($"--baseline {base_.Source}: not an EDM baseline run (train one with: bcm train --objective edm)");
            if (base_ is not null && !base_.Config.SampleShape.SequenceEqual(loaded.Config.SampleShape))
                throw new CliError("the baseline's samples have another shape than the model's");
            string? data = loaded.Options?.Data;
            string[]? planNames = parse.GetValue(plans)?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (planNames is { Length: 0 }) throw new CliError("--plans: give at least one plan name");
            foreach (var p in planNames ?? [])
            {
                var plan = Bcm.Plans.PlanPresets.Resolve(p);
                plan.Validate();
                if (plan.IsInversion) throw new CliError($"--plans: '{p}' is an inversion plan; give generation plans (e.g. onestep)");
            }
            if (loaded.Config.SampleShape.Length == 1)
            {
                string name = parse.GetValue(mixture) ?? (data is not null && data.StartsWith("mixture:", StringComparison.Ordinal) ? data
                    : throw new CliError("this vector model does not say which mixture it learnt: pass --mixture NAME"));
                var gm = GaussianMixture.Named(name.StartsWith("mixture:", StringComparison.Ordinal) ? name["mixture:".Length..] : name);
                if (gm.Dim != loaded.Config.SampleShape[0]) throw new CliError($"mixture {name} is {gm.Dim}-dimensional, the model takes {loaded.Config.SampleShape[0]}");
                string outDir = Common.OutDir(parse.GetValue(Common.Out), "eval");
                var options = new MixtureReport.Options { Samples = parse.GetValue(samples) ?? 2000, Seed = parse.GetValue(Common.Seed) };
                if (planNames is not null) options = options with { BcmPlans = planNames };
                var r = MixtureReport.Write(loaded.Model, loaded.Source, base_?.Model, base_?.Source, gm, outDir, options, printer);
                Console.WriteLine($"report: {Path.GetFullPath(Path.Combine(outDir, "report.md"))}");
                foreach (var g in r.Generation.Prepend(r.Floor))
                    Console.WriteLine($"{g.Method,-28} NFE {g.Nfe,3}  log p0 {g.LogLikelihood,8:F3}  MMD² {g.Mmd2,9:G3}  SW2 {g.SlicedW2,8:G3}  modes {g.ModeCoverage:P0}");
                return 0;
            }
            var shape = loaded.Config.SampleShape;
            string spec = parse.GetValue(Common.Data) ?? data?.Replace("@test", "", StringComparison.Ordinal)
                ?? throw new CliError("this checkpoint does not say its data: pass --data (e.g. mnist)");
            string classifierPath = parse.GetValue(classifier) ?? Path.Combine("classifiers", $"{spec.Split(':')[0]}-{shape[^1]}.safetensors");
            if (!File.Exists(classifierPath))
                throw new CliError($"no classifier at {classifierPath}: train one with: bcm classifier --data {spec} --size {shape[^1]} -o {classifierPath}");
            using var net = Bcm.Metrics.Classifier.Load(classifierPath, Common.ParseDevice(device));
            var train = DataSources.Load(spec, (int)shape[0], (int)shape[^1], printer);
            ImageDataset test;
            try { test = DataSources.Load(spec + "@test", (int)shape[0], (int)shape[^1], printer); }
            catch (ArgumentException) { test = train; } // a set without a test split: reference and floor both from it
            string dir = Common.OutDir(parse.GetValue(Common.Out), "eval");
            var opts = new ImageReport.Options { Samples = parse.GetValue(samples) ?? 1000, InversionImages = parse.GetValue(inversions) ?? 256, Seed = parse.GetValue(Common.Seed) };
            if (planNames is not null) opts = opts with { BcmPlans = planNames };
            var res = ImageReport.Write(loaded.Model, loaded.Source, base_?.Model, base_?.Source, net, classifierPath, test, train, dir, opts, printer);
            Console.WriteLine($"report: {Path.GetFullPath(Path.Combine(dir, "report.md"))}");
            foreach (var g in res.Generation.Prepend(res.Floor))
                Console.WriteLine($"{g.Method,-24} NFE {g.Nfe,3}  FID {g.Fid,8:F2}  KID {g.Kid,9:F5}  precision {g.Precision:F3}  recall {g.Recall:F3}");
            foreach (var q in res.Reconstruction)
                Console.WriteLine($"{q.Method,-44} NFE {q.InversionNfe,3}+{q.GenerationNfe,-3}  MSE {q.Mse:F4}  PSNR {q.Psnr:F2}  SSIM {q.Ssim:F3}");
            return 0;
        }));
        return cmd;
    }
}
