using System.CommandLine;
using Bcm.Data;
using Bcm.Reports;

namespace Bcm.Cli;

/// <summary>The options of <c>bcm eval</c>, and the report options they make.</summary>
internal static class EvalOptionsParser
{
    public static readonly Option<string?> Baseline = new("--baseline") { Description = "An EDM baseline run (bcm train --objective edm) on the same data: Heun sampling and ODE inversion over NFE beside the BCM" };
    public static readonly Option<int?> Samples = Common.CountOrDefault("Generated samples per method (default 2000 for mixtures, 1000 for images)");
    public static readonly Option<int?> Inversions = new("--inversion-images") { Description = "Real images for the inversion round trips (default 256)" };
    public static readonly Option<string?> PlanNames = new("--plans") { Description = "Generation plans to measure, comma-separated names (default onestep,ancestral2,zigzag3,mixed4; e.g. onestep,cm-multistep for an iCT model)" };
    public static readonly Option<string?> BaselineNfe = new("--baseline-nfe") { Description = "With --baseline: NFE budgets of its Heun sampler, comma-separated (default 2,4,10,20,40,80 for images: 1, 3, 9, 19, 39 and 79 NFE; 2,4,6,10,20,40,80 for mixtures)" };
    public static readonly Option<string?> Solvers = new("--baseline-solvers") { Description = "With --baseline: the ODE solvers it generates and inverts with, comma-separated: heun (EDM's Algorithm 1, the default), euler, dpmpp2m (DPM-Solver++(2M)); each on the Karras grid, at every budget of --baseline-nfe and --inversion-nfe" };
    public static readonly Option<string?> InversionPlans = new("--inversion-plans") { Description = "The BCM's inversion plans of the round trips, comma-separated, each followed by one-step generation (default invert1,invert2; e.g. invert1,invert2,invert4)" };
    public static readonly Option<string?> ZigzagLevels = new("--zigzag-study") { Description = "Mixtures: the levels τ of the per-sample zigzag study against the exact ODE, comma-separated (e.g. 0.5,2,10): 10 rounds from each of 500 starting noises, BCM against the baseline's ODE round trips and consistency-model multistep; writes zigzag-per-sample.csv and .md" };
    public static readonly Option<string?> InversionNfe = new("--inversion-nfe") { Description = "With --baseline: NFE budgets of each direction of its ODE round trips (default 2,4,10,20,50,100)" };
    public static readonly Option<string?> Mixture = new("--mixture") { Description = "Mixture to evaluate against (default: the one the model was trained on): " + GaussianMixture.Help };

    // Options that only one kind of model reads are refused for the other, instead of being silently ignored.
    public static void RefuseOptionsOfTheOtherKind(ParseResult parse, bool vectorModel)
    {
        bool Given(Option option) => parse.GetResult(option) is { Implicit: false };
        if (!vectorModel && Given(Mixture))
            throw new BadInputException("--mixture applies to a model of a Gaussian mixture; this is an image model (give its data with --data)");
        if (vectorModel && (new Option[] { Common.Data, Common.Classifier, Inversions }.FirstOrDefault(Given) is { } imageOption))
            throw new BadInputException($"{imageOption.Name} applies to an image model; this is a model of a Gaussian mixture (give the mixture with --mixture)");
    }

    /// <summary>The options of both reports from the command line (each report's defaults where an option is not given), validated.</summary>
    public static (MixtureReport.Options, ImageReport.Options) ReportOptions(ParseResult parse)
    {
        string? heun = parse.GetValue(BaselineNfe), ode = parse.GetValue(InversionNfe), solvers = parse.GetValue(Solvers);
        if ((heun ?? ode ?? solvers) is not null && parse.GetValue(Baseline) is null)
            throw new BadInputException("--baseline-nfe, --inversion-nfe and --baseline-solvers measure the baseline: give --baseline RUN too");
        string[]? List(string? text) => text?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        string[]? plans = List(parse.GetValue(PlanNames)), keys = List(solvers), inversions = List(parse.GetValue(InversionPlans));
        int[]? heunNfe = heun is null ? null : Common.Integers(heun, "--baseline-nfe", 1, 1000), odeNfe = ode is null ? null : Common.Integers(ode, "--inversion-nfe", 1, 1000);
        long seed = parse.GetValue(Common.Seed);
        var mixture = new MixtureReport.Options { Samples = parse.GetValue(Samples) ?? 2000, Seed = seed };
        mixture = mixture with
        {
            BcmPlans = plans ?? mixture.BcmPlans, BaselineNfe = heunNfe ?? mixture.BaselineNfe, InversionNfe = odeNfe ?? mixture.InversionNfe, BaselineSolvers = keys ?? mixture.BaselineSolvers,
            InversionPlans = inversions ?? mixture.InversionPlans,
            ZigzagStudyLevels = parse.GetValue(ZigzagLevels) is string levels ? Common.Numbers(levels, "--zigzag-study", 0.003, 80) : [],
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
}
