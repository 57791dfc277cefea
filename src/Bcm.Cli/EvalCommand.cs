using System.CommandLine;
using Bcm.Data;
using Bcm.Distributed;
using Bcm.Evaluation;
using Bcm.Metrics;
using Bcm.Plans;
using Bcm.Reports;
using Bcm.Training;

namespace Bcm.Cli;

/// <summary><c>bcm eval</c>: measured claims. Mixture models against the exact ODE; image models with classifier metrics.</summary>
internal static class EvalCommand
{
    private static readonly Option<string?> Baseline = new("--baseline") { Description = "An EDM baseline run (bcm train --objective edm) on the same data: Heun sampling and ODE inversion over NFE beside the BCM" };
    private static readonly Option<int?> Samples = Common.CountOrDefault("Generated samples per method (default 2000 for mixtures, 1000 for images)");
    private static readonly Option<int?> Inversions = new("--inversion-images") { Description = "Real images for the inversion round trips (default 256)" };
    private static readonly Option<string?> Plans = new("--plans") { Description = "Generation plans to measure, comma-separated names (default onestep,ancestral2,zigzag3,mixed4; e.g. onestep,cm-multistep for an iCT model)" };
    private static readonly Option<string?> BaselineNfe = new("--baseline-nfe") { Description = "With --baseline: NFE budgets of its Heun sampler, comma-separated (default 2,4,10,20,40,80 for images: 1, 3, 9, 19, 39 and 79 NFE; 2,4,6,10,20,40,80 for mixtures)" };
    private static readonly Option<string?> Solvers = new("--baseline-solvers") { Description = "With --baseline: the ODE solvers it generates and inverts with, comma-separated: heun (EDM's Algorithm 1, the default), euler, dpmpp2m (DPM-Solver++(2M)); each on the Karras grid, at every budget of --baseline-nfe and --inversion-nfe" };
    private static readonly Option<string?> InversionPlans = new("--inversion-plans") { Description = "The BCM's inversion plans of the round trips, comma-separated, each followed by one-step generation (default invert1,invert2; e.g. invert1,invert2,invert4)" };
    private static readonly Option<string?> ZigzagStudy = new("--zigzag-study") { Description = "Mixtures: the levels τ of the per-sample zigzag study against the exact ODE, comma-separated (e.g. 0.5,2,10): 10 rounds from each of 500 starting noises, BCM against the baseline's ODE round trips and consistency-model multistep; writes zigzag-per-sample.csv and .md" };
    private static readonly Option<string?> InversionNfe = new("--inversion-nfe") { Description = "With --baseline: NFE budgets of each direction of its ODE round trips (default 2,4,10,20,50,100)" };
    private static readonly Option<string?> Mixture = new("--mixture") { Description = "Mixture to evaluate against (default: the one the model was trained on): " + GaussianMixture.Help };

    public static Command Create()
    {
        var cmd = new Command("eval", "Measure a model and write a report (report.md with PNG plots, results.json, CSV). For a model of a Gaussian mixture: " +
                                      "generation quality against the exact density and fresh samples, jump errors against the exact probability-flow ODE " +
                                      "over (t, u), inversion against exact latents and zigzag drift. For an image model: FID, KID, precision/recall and class " +
                                      "coverage on a classifier's features (with the real-versus-real floor), reconstruction MSE/PSNR/SSIM of inversion " +
                                      "round trips, throughput. With --baseline, the EDM baseline's Heun sampler and ODE inversion over NFE beside the BCM.")
        {
            Common.Checkpoint, Common.Weights, Baseline, Samples, Plans, Common.Classifier, Inversions, BaselineNfe, InversionNfe, Solvers, InversionPlans, ZigzagStudy, Common.Data, Mixture, Common.Out, Common.Seed, Common.Device, Common.Threads, Common.Engine,
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

    // Options that only one kind of model reads are refused for the other, instead of being silently ignored.
    private static void RefuseOptionsOfTheOtherKind(ParseResult parse, bool vectorModel)
    {
        bool Given(Option option) => parse.GetResult(option) is { Implicit: false };
        if (!vectorModel && Given(Mixture))
            throw new BadInputException("--mixture applies to a model of a Gaussian mixture; this is an image model (give its data with --data)");
        if (vectorModel && (new Option[] { Common.Data, Common.Classifier, Inversions }.FirstOrDefault(Given) is { } imageOption))
            throw new BadInputException($"{imageOption.Name} applies to an image model; this is a model of a Gaussian mixture (give the mixture with --mixture)");
    }

    /// <summary>The options of both reports from the command line (each report's defaults where an option is not given), validated.</summary>
    private static (MixtureReport.Options, ImageReport.Options) ReportOptions(ParseResult parse)
    {
        string? heun = parse.GetValue(BaselineNfe), ode = parse.GetValue(InversionNfe), solvers = parse.GetValue(Solvers);
        if ((heun ?? ode ?? solvers) is not null && parse.GetValue(Baseline) is null)
            throw new BadInputException("--baseline-nfe, --inversion-nfe and --baseline-solvers measure the baseline: give --baseline RUN too");
        string[]? List(string? text) => text?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        string[]? plans = List(parse.GetValue(Plans)), keys = List(solvers), inversions = List(parse.GetValue(InversionPlans));
        int[]? heunNfe = heun is null ? null : Common.Integers(heun, "--baseline-nfe", 1, 1000), odeNfe = ode is null ? null : Common.Integers(ode, "--inversion-nfe", 1, 1000);
        long seed = parse.GetValue(Common.Seed);
        var mixture = new MixtureReport.Options { Samples = parse.GetValue(Samples) ?? 2000, Seed = seed };
        mixture = mixture with
        {
            BcmPlans = plans ?? mixture.BcmPlans, BaselineNfe = heunNfe ?? mixture.BaselineNfe, InversionNfe = odeNfe ?? mixture.InversionNfe, BaselineSolvers = keys ?? mixture.BaselineSolvers,
            InversionPlans = inversions ?? mixture.InversionPlans,
            ZigzagStudyLevels = parse.GetValue(ZigzagStudy) is string levels ? Common.Numbers(levels, "--zigzag-study", 0.003, 80) : [],
        };
        var image = new ImageReport.Options { Samples = parse.GetValue(Samples) ?? 1000, InversionImages = parse.GetValue(Inversions) ?? 256, Seed = seed };
        image = image with
        {
            BcmPlans = plans ?? image.BcmPlans, BaselineNfe = heunNfe ?? image.BaselineNfe, InversionNfe = odeNfe ?? image.InversionNfe, BaselineSolvers = keys ?? image.BaselineSolvers,
            InversionPlans = inversions ?? image.InversionPlans,
        };
        mixture.Validate();
        image.Validate();
        return (mixture, image);
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
