using System.CommandLine;
using Bcm.Reports;

namespace Bcm.Cli;

/// <summary><c>bcm plot</c>: a run's training curves.</summary>
internal static class PlotCommand
{
    public static Command Create()
    {
        var run = new Argument<string>("run") { Description = "A run folder of bcm train" };
        var cmd = new Command("plot", "Draw a run's training curves (loss and its terms, gradient norm, N(k), throughput against step) into report/curves.png " +
                                      "and write report/stats.csv; bcm train does this at the end of every run.")
        {
            run, Common.Out,
        };
        cmd.SetAction(parse => Common.Guard(() =>
        {
            var r = TrainingCurves.Write(parse.GetValue(run)!, parse.GetValue(Common.Out));
            if (r.Skipped > 0) Console.Error.WriteLine($"bcm: warning: {r.Skipped} lines of stats.jsonl skipped (torn by a kill, or without a step and a finite loss)");
            Console.WriteLine($"{r.Steps} steps → {Path.GetFullPath(r.Png)}, {Path.GetFullPath(r.Csv)}");
            return 0;
        }));
        return cmd;
    }
}
