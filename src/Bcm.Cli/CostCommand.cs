using System.CommandLine;
using Bcm.Reports;

namespace Bcm.Cli;

/// <summary><c>bcm cost</c>: wall-clock and memory of sampling and training, side by side for several runs.</summary>
internal static class CostCommand
{
    public static Command Create()
    {
        var runs = new Argument<string[]>("runs") { Description = "Run folders on the same network: a BCM, an EDM baseline (--objective edm), an iCT run (--ct-only)", Arity = ArgumentArity.OneOrMore };
        var batch = new Option<int>("--batch-size", "-b") { Description = "Images per sampling batch and per training step", DefaultValueFactory = _ => 256 };
        var repeats = new Option<int>("--repeats") { Description = "Timed repetitions after one warm-up", DefaultValueFactory = _ => 3 };
        var quality = new Option<string[]>("--quality")
        {
            Description = "RUN=CSV: the generation.csv `bcm eval` wrote for that run (RUN is the run folder's name); adds the time each run needs to reach a " +
                          "quality: its fastest plan with FID (or, for mixtures, MMD²) at most each target. Repeat for each run",
            AllowMultipleArgumentsPerToken = true,
        };
        var targets = new Option<string?>("--targets") { Description = "With --quality: the FID or MMD² targets, comma-separated (default 2, 1.5, 1.25 and 1.1 times the FID floor; MMD² 0.03, 0.01, 0.003, 0.001)" };
        var cmd = new Command("cost", "Measure, on this machine and side by side, images/s and peak resident memory of sampling with each run's plans (BCM at 1-4 NFE, " +
                                      "the EDM baseline's Heun sampler at 9-79 NFE, iCT at 1-4 NFE) and of one training step of each run's objective, beside each run's " +
                                      "own training time; writes cost.md and cost.csv. Run it on an otherwise idle machine.")
        {
            runs, batch, repeats, quality, targets, Common.Out, Common.Threads,
        };
        cmd.SetAction(parse => Common.Guard(() =>
        {
            Common.ApplyThreads(parse);
            int b = parse.GetValue(batch), reps = parse.GetValue(repeats);
            if (b is < 1 or > 65_536 || reps is < 1 or > 1000) throw new BadInputException("--batch-size must be in 1..65536 and --repeats in 1..1000");
            var named = parse.GetValue(runs)!.Select(r => (Path.GetFileName(Path.TrimEndingDirectorySeparator(r)), r)).ToList();
            var qualities = (parse.GetValue(quality) ?? []).Select(q => q.Split('=', 2) is [var run, var csv] && run.Length > 0 && csv.Length > 0
                ? new CostReport.Quality(run, csv) : throw new BadInputException($"--quality '{q}': expected RUN=CSV, e.g. mnist=docs/results/mnist-scratch/generation.csv")).ToList();
            foreach (var q in qualities)
                if (!File.Exists(q.GenerationCsv)) throw new BadInputException($"--quality {q.Model}: {q.GenerationCsv} does not exist (it is the generation.csv of `bcm eval --out DIR`)");
            var targetValues = parse.GetValue(targets) is string t ? Common.Numbers(t, "--targets", 0, 1e6) : null;
            if (targetValues is not null && qualities.Count == 0) throw new BadInputException("--targets needs --quality");
            string outDir = Common.OutDir(parse.GetValue(Common.Out), "cost");
            CostReport.Write(named, b, reps, outDir, new SyncProgress<CostReport.Row>(r =>
                Console.WriteLine($"{r.Model,-18} {r.Kind,-13} {r.What,-14} NFE {r.Nfe,3}  {r.ImagesPerSecond,10:F1} img/s  peak {(r.PeakMegabytes is double p ? $"{p:F0} MB" : "—")}")),
                qualities, targetValues);
            Console.WriteLine($"→ {Path.GetFullPath(Path.Combine(outDir, "cost.md"))}");
            return 0;
        }));
        return cmd;
    }
}
