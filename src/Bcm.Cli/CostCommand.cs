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
        var cmd = new Command("cost", "Measure, on this machine and side by side, images/s and peak resident memory of sampling with each run's plans (BCM at 1-4 NFE, " +
                                      "the EDM baseline's Heun sampler at 9-79 NFE, iCT at 1-4 NFE) and of one training step of each run's objective, beside each run's " +
                                      "own training time; writes cost.md and cost.csv. Run it on an otherwise idle machine.")
        {
            runs, batch, repeats, Common.Out, Common.Threads,
        };
        cmd.SetAction(parse => Common.Guard(() =>
        {
            Common.ApplyThreads(parse);
            int b = parse.GetValue(batch), reps = parse.GetValue(repeats);
            if (b is < 1 or > 65_536 || reps is < 1 or > 1000) throw new CliError("--batch-size must be in 1..65536 and --repeats in 1..1000");
            var named = parse.GetValue(runs)!.Select(r => (Path.GetFileName(Path.TrimEndingDirectorySeparator(r)), r)).ToList();
            string outDir = Common.OutDir(parse.GetValue(Common.Out), "cost");
            CostReport.Write(named, b, reps, outDir, new SyncProgress<CostReport.Row>(r =>
                Console.WriteLine($"{r.Model,-18} {r.Kind,-13} {r.What,-14} NFE {r.Nfe,3}  {r.ImagesPerSecond,10:F1} img/s  peak {(r.PeakMegabytes is double p ? $"{p:F0} MB" : "—")}")));
            Console.WriteLine($"→ {Path.GetFullPath(Path.Combine(outDir, "cost.md"))}");
            return 0;
        }));
        return cmd;
    }
}
