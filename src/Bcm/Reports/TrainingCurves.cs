using System.Text.Json;
using Bcm.Imaging;
using Bcm.IO;
using Bcm.Training;

namespace Bcm.Reports;

/// <summary>
/// Training curves of a run folder from its stats.jsonl: <c>curves.png</c> (loss with its two terms, gradient norm,
/// the curriculum's N(k), throughput and resident memory against step) and <c>stats.csv</c> (one row per step, for any other tool).
/// </summary>
public static class TrainingCurves
{
    /// <summary>What was written.</summary>
    /// <param name="Png">The curves picture.</param>
    /// <param name="Csv">The table of every step.</param>
    /// <param name="Steps">How many steps the stats hold.</param>
    /// <param name="Skipped">Lines left out: torn by a kill, not JSON, or without a step and a finite loss (never drawn as 0).</param>
    public sealed record Result(string Png, string Csv, int Steps, int Skipped = 0);

    /// <summary>Reads <paramref name="runDir"/>/stats.jsonl and writes curves.png and stats.csv into <paramref name="outDir"/> (default the run's report/).</summary>
    /// <exception cref="FileNotFoundException">The folder has no stats.jsonl (not a run folder, or no step finished yet).</exception>
    /// <exception cref="InvalidDataException">stats.jsonl holds no readable step.</exception>
    public static Result Write(string runDir, string? outDir = null)
    {
        string stats = Path.Combine(runDir, "stats.jsonl");
        if (!File.Exists(stats)) throw new FileNotFoundException($"{runDir} has no stats.jsonl: give a run folder of bcm train with at least one step done");
        IO.InputFile.RequireRegular(stats, "stats file");
        var steps = Read(stats, out int skipped);
        if (steps.Count == 0) throw new InvalidDataException($"{stats} holds no readable step (a line needs at least \"step\" and a finite \"loss\"; {skipped} lines skipped)");
        outDir ??= Path.Combine(runDir, "report");
        Directory.CreateDirectory(outDir);
        string csv = Path.Combine(outDir, "stats.csv"), png = Path.Combine(outDir, "curves.png");
        var table = new CsvTable(["step", "total_steps", "scales", "loss", "ct", "soft", "grad_norm", "images_per_second", "elapsed_seconds", "all_reduce_seconds", "resident_mb", "event"], "G7");
        foreach (var s in steps)
            table.Row(s.Step, s.TotalSteps, s.Scales, s.Loss, s.Ct, s.Soft, s.GradNorm, s.ImagesPerSecond, s.ElapsedSeconds, s.AllReduceSeconds, s.ResidentMegabytes, s.Event ?? "");
        table.Write(csv);
        Plot.SavePanels(Panels(steps), png);
        return new Result(png, csv, steps.Count, skipped);
    }

    /// <summary>Every readable line of a stats.jsonl, the last one for a step (a run resumed by an older version may repeat steps), in step order.</summary>
    internal static List<TrainProgress> Read(string path) => Read(path, out _);

    // A line counts only when it has a step and a finite loss: a missing field would otherwise read as 0 and be drawn.
    private static List<TrainProgress> Read(string path, out int skipped)
    {
        var byStep = new SortedDictionary<long, TrainProgress>();
        skipped = 0;
        foreach (var line in File.ReadLines(path))
        {
            if (line.Length == 0) continue;
            try
            {
                using var doc = JsonDocument.Parse(line);
                var root = doc.RootElement;
                if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("step", out var s) && s.ValueKind == JsonValueKind.Number &&
                    root.TryGetProperty("loss", out var l) && l.ValueKind == JsonValueKind.Number && double.IsFinite(l.GetDouble()) &&
                    root.Deserialize<TrainProgress>(JsonFormat.Lines) is { } p)
                {
                    byStep[p.Step] = p;
                    continue;
                }
            }
            catch (Exception e) when (e is JsonException or FormatException or InvalidOperationException)
            {
                // a line torn by a kill, or not a stats line
            }
            skipped++;
        }
        return [.. byStep.Values];
    }

    private static List<Plot> Panels(List<TrainProgress> steps)
    {
        int window = Math.Max(1, steps.Count / 100);
        double[] x = steps.Select(s => (double)s.Step).ToArray();
        double[] Smooth(Func<TrainProgress, double> f) => MovingAverage(steps.Select(f).ToArray(), window);
        string smoothed = window > 1 ? $" (moving average of {window} steps)" : "";
        var loss = new Plot { Title = "loss" + smoothed, XLabel = "step", YLabel = "per-sample loss", LogY = true }
            .Add(new Series("total", x, Smooth(s => s.Loss), Markers: false))
            .Add(new Series("consistency (ct)", x, Smooth(s => s.Ct), Markers: false))
            .Add(new Series("soft (bidirectional)", x, Smooth(s => s.Soft), Markers: false));
        var grad = new Plot { Title = "gradient norm before clipping" + smoothed, XLabel = "step", YLabel = "‖g‖", LogY = true }
            .Add(new Series("", x, Smooth(s => s.GradNorm), Markers: false));
        var scales = new Plot { Title = "curriculum: discretisation steps N(k)", XLabel = "step", YLabel = "N" }
            .Add(new Series("", x, steps.Select(s => (double)s.Scales).ToArray(), Markers: false));
        var speed = new Plot { Title = "throughput (mean since the run started or resumed)", XLabel = "step", YLabel = "images/s" }
            .Add(new Series("", x, steps.Select(s => s.ImagesPerSecond).ToArray(), Markers: false));
        var withMemory = steps.Where(s => s.ResidentMegabytes is not null).ToList();
        if (withMemory.Count == 0) return [loss, grad, scales, speed];
        var memory = new Plot { Title = "resident memory of the process after each step", XLabel = "step", YLabel = "MB" }
            .Add(new Series("", withMemory.Select(s => (double)s.Step).ToArray(), withMemory.Select(s => s.ResidentMegabytes!.Value).ToArray(), Markers: false));
        return [loss, grad, scales, speed, memory];
    }

    private static double[] MovingAverage(double[] values, int window)
    {
        var result = new double[values.Length];
        double sum = 0;
        for (int i = 0; i < values.Length; i++)
        {
            sum += values[i];
            if (i >= window) sum -= values[i - window];
            result[i] = sum / Math.Min(i + 1, window);
        }
        return result;
    }
}
