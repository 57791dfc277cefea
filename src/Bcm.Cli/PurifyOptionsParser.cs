using System.CommandLine;
using Bcm.Editing;
using Bcm.Reports;

namespace Bcm.Cli;

/// <summary>The options of <c>bcm purify</c>, and the measurement's options they make.</summary>
internal static class PurifyOptionsParser
{
    public static readonly Argument<string[]> Images = new Argument<string[]>("images") { Description = "Images to purify (the model's size and channels); omit them with --data", Arity = ArgumentArity.ZeroOrMore };
    public static readonly Option<string> Method = new Option<string>("--method") { Description = "Purifier: bcm2 (invert to σ* and regenerate, 2 NFE), bcm1 (noise to σ*, jump down, 1 NFE), ode2 (one Euler ODE step up and one down, 2 NFE), noise-blur (no network); for an EDM baseline also diffpure1 and diffpure2 (noise to σ*, then its ODE down in 1 or 2 DPM-Solver++(2M) steps)", DefaultValueFactory = _ => "bcm2" };
    public static readonly Option<double> Sigma = new Option<double>("--sigma") { Description = "Purification level σ* on the [−1, 1] scale of the images", DefaultValueFactory = _ => 0.5 };
    public static readonly Option<string?> DataSpec = Common.DataToMeasure("Measure under attack on a data set instead (use its test split, e.g. mnist:DIR@test)");
    public static readonly Option<int> Count = Common.Count("With --data: images to attack", 500);
    public static readonly Option<int> Offset = Common.Offset();
    public static readonly Option<string> Sigmas = new Option<string>("--levels") { Description = "With --data: the σ* sweep, comma-separated", DefaultValueFactory = _ => "0.25,0.5,1" };
    public static readonly Option<string> Methods = new Option<string>("--methods") { Description = "With --data: purifiers to measure, comma-separated (no defence is always measured)", DefaultValueFactory = _ => string.Join(",", Purification.Methods) };
    public static readonly Option<int> Queries = new Option<int>("--queries") { Description = "With --data: query budget per image and attack", DefaultValueFactory = _ => 100 };
    public static readonly Option<double> Linf = new Option<double>("--linf") { Description = "With --data: Square Attack's L∞ budget on the [0, 1] scale", DefaultValueFactory = _ => 0.3 };
    public static readonly Option<int> Eot = new Option<int>("--eot-draws") { Description = "With --data: the attacker averages the defence over K draws of its noise per query (expectation over transformation, Athalye et al. 2018)", DefaultValueFactory = _ => 1 };
    public static readonly Option<double> L2 = new Option<double>("--l2") { Description = "With --data: SimBA's L2 budget on the [0, 1] scale", DefaultValueFactory = _ => 1.5 };

    public static readonly Option<int> Chunk = new("--chunk") { Description = "With --data: attack N images at a time and save each chunk's results in OUT/progress/, so that an interrupted measurement resumes at the chunk it was in (run the same command again); processes measuring different --methods may share one --out, and each report holds every row finished there; 0: all at once", DefaultValueFactory = _ => 0 };

    static PurifyOptionsParser() => Method.AcceptOnlyFromAmong([.. Purification.AllMethods]);

    /// <summary>The options of <c>purify --data</c>'s measurement.</summary>
    public static PurificationReport.Options Measurement(ParseResult parse) => new()
    {
        Sigmas = Common.Numbers(parse.GetValue(Sigmas)!, "--levels"),
        Methods = parse.GetValue(Methods)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
        Queries = parse.GetValue(Queries),
        LinfEpsilon = parse.GetValue(Linf),
        L2Budget = parse.GetValue(L2),
        SimBaStep = Math.Min(0.25, parse.GetValue(L2)),
        Seed = parse.GetValue(Common.Seed),
        EotDraws = parse.GetValue(Eot),
        Chunk = parse.GetValue(Chunk),
    };
}
