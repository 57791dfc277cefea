using System.CommandLine;
using Bcm.Data;
using Bcm.Distributed;
using Bcm.Evaluation;
using Bcm.Metrics;
using Bcm.Plans;
using Bcm.Reports;
using Bcm.Training;
using static Bcm.Cli.EvalOptionsParser;

namespace Bcm.Cli;

/// <summary><c>bcm eval</c>: measured claims. Mixture models against the exact ODE; image models with classifier metrics.</summary>
internal static class EvalCommand
{
    public static Command Create()
    {
        var cmd = new Command("eval", "Measure a model and write a report (report.md with PNG plots, results.json, CSV). For a model of a Gaussian mixture: " +
                                      "generation quality against the exact density and fresh samples, jump errors against the exact probability-flow ODE " +
                                      "over (t, u), inversion against exact latents and zigzag drift. For an image model: FID, KID, precision/recall and class " +
                                      "coverage on a classifier's features (with the real-versus-real floor), reconstruction MSE/PSNR/SSIM of inversion " +
                                      "round trips, throughput. With --baseline, the EDM baseline's Heun sampler and ODE inversion over NFE beside the BCM.")
        {
            Common.Checkpoint, Common.Weights, Baseline, Samples, PlanNames, Common.Classifier, Inversions, BaselineNfe, InversionNfe, Solvers, InversionPlans, ZigzagLevels, Common.Data, Mixture, Common.Out, Common.Seed, Common.Device, Common.Threads, Common.Engine,
        };
        cmd.SetAction(parse => Common.Guard(() =>
        {
            Common.ApplyThreads(parse);
            var (mixtureOptions, imageOptions) = ReportOptions(parse); // both validated before any work: the model's kind decides which runs
            string device = parse.GetValue(Common.Device)!;
            var loaded = Common.OnEngine(parse, Common.LoadModel(parse.GetValue(Common.Checkpoint), null, device, parse.GetValue(Common.Weights) != "online"));
            var baseline = parse.GetValue(Baseline) is string b ? Common.OnEngine(parse, Common.LoadModel(b, null, device)) : null;
            if (baseline is not null && baseline.Kind != ModelKind.Denoiser)
                throw new BadInputException($"--baseline {baseline.Source}: not an EDM baseline run (train one with: bcm train --objective edm)");
            if (baseline is not null && !baseline.Config.SampleShape.SequenceEqual(loaded.Config.SampleShape))
                throw new BadInputException("the baseline's samples have another shape than the model's");
            RefuseOptionsOfTheOtherKind(parse, vectorModel: loaded.Config.SampleShape.Length == 1);
            return loaded.Config.SampleShape.Length == 1
                ? Mixtures(parse, loaded, baseline, mixtureOptions)
                : Images(parse, loaded, baseline, imageOptions, device);
        }));
        return cmd;
    }

    private static int Mixtures(ParseResult parse, ModelLoader.Loaded loaded, ModelLoader.Loaded? baseline, MixtureReport.Options options)
    {
        if (World.LaunchedSize > 1) throw new BadInputException("the mixture report runs as one process (it takes a minute or two): run bcm eval without mpirun");
        var gm = GaussianMixture.ForModel(parse.GetValue(Mixture), loaded.Options?.Data, loaded.Config.SampleShape[0]);
        string outDir = Common.OutDir(parse.GetValue(Common.Out), "eval");
        var r = MixtureReport.Write(loaded.Model, loaded.Source, baseline?.Model, baseline?.Source, gm, outDir, options, new ProgressPrinter());
        Console.WriteLine($"report: {Path.GetFullPath(Path.Combine(outDir, "report.md"))}");
        foreach (var g in r.Generation.Prepend(r.Floor))
            Console.WriteLine($"{g.Method,-28} NFE {g.Nfe,3}  log p0 {g.LogLikelihood,8:F3}  MMD² {g.Mmd2,9:G3}  SW2 {g.SlicedW2,8:G3}  modes {g.ModeCoverage:P0}");
        return 0;
    }

    private static int Images(ParseResult parse, ModelLoader.Loaded loaded, ModelLoader.Loaded? baseline, ImageReport.Options options, string device)
    {
        string spec = parse.GetValue(Common.Data) ?? loaded.Options?.Data.Replace("@test", "", StringComparison.Ordinal)
            ?? throw new BadInputException("this checkpoint does not say its data: pass --data (e.g. mnist)");
        var job = World.Current; // under mpirun each rank measures its share of the samples and images
        var printer = new ProgressPrinter();
        // The whole training set and its test split (no test split: reference and floor both from the training set).
        using var set = EvaluationSet.Open(new EvaluationSetOptions { Data = spec, WholeSet = true, WithTestSplit = true, Classifier = parse.GetValue(Common.Classifier) },
            loaded.Config.SampleShape, Common.ParseDevice(device), job, printer);
        string outDir = Common.OutDir(parse.GetValue(Common.Out), "eval", create: job.Rank == 0);
        var r = ImageReport.Write(loaded.Model, loaded.Source, baseline?.Model, baseline?.Source, set.Classifier!, set.ClassifierPath, set.Test!, set.Data, outDir, options, printer, job);
        if (r is null) return 0; // not rank 0
        Console.WriteLine($"report: {Path.GetFullPath(Path.Combine(outDir, "report.md"))}");
        foreach (var g in r.Generation.Prepend(r.Floor))
            Console.WriteLine($"{g.Method,-24} NFE {g.Nfe,3}  FID {g.Fid,8:F2}  KID {g.Kid,9:F5}  precision {g.Precision:F3}  recall {g.Recall:F3}");
        if (r.Reconstruction.Count > 0) Console.WriteLine("reconstruction (pixels on [0, 1]):");
        foreach (var q in r.Reconstruction)
            Console.WriteLine($"{q.Method,-44} NFE {q.InversionNfe,3}+{q.GenerationNfe,-3}  MSE {q.Mse:F4}  PSNR {q.Psnr:F2}  SSIM {q.Ssim:F3}");
        return 0;
    }
}
