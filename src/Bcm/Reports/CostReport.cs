using System.Text;
using Bcm.IO;
using Bcm.Plans;
using Bcm.Training;
using static TorchSharp.torch;

namespace Bcm.Reports;

/// <summary>
/// What each method costs on the same network and machine (issue 14, part 6): images/s and peak resident memory of
/// sampling with each plan — BCM at 1-4 NFE, the EDM baseline's Heun sampler at 9-79 NFE, iCT at 1-4 NFE — and of one
/// training step of each run's own objective, with the training time each run took (from its stats.jsonl). Writes
/// cost.md and cost.csv.
/// </summary>
public static class CostReport
{
    /// <summary>The plans measured for a BCM.</summary>
    public static readonly string[] BcmPlans = ["onestep", "ancestral2", "zigzag3", "mixed4"];

    /// <summary>The plans measured for a consistency model (iCT).</summary>
    public static readonly string[] ConsistencyPlans = ["onestep", "cm-multistep", "cm:3", "cm:4"];

    /// <summary>The NFE budgets of the baseline's Heun sampler.</summary>
    public static readonly int[] HeunNfe = [9, 19, 39, 79];

    /// <summary>One measurement.</summary>
    /// <param name="Model">The run measured.</param>
    /// <param name="Kind"><c>sampling</c> or <c>training step</c>.</param>
    /// <param name="What">The plan's name (<c>heun:K</c> for K Heun steps), or the objective.</param>
    /// <param name="Nfe">Network evaluations per image (for a training step, forward passes' worth per image).</param>
    /// <param name="ImagesPerSecond">Images (or vectors) per second.</param>
    /// <param name="PeakMegabytes">Peak resident memory of the process during the measurement (null where the OS cannot say).</param>
    /// <param name="TrainingSeconds">The run's own training time, summed over its stats.jsonl (null without one).</param>
    public sealed record Row(string Model, string Kind, string What, int Nfe, double ImagesPerSecond, double? PeakMegabytes, double? TrainingSeconds);

    /// <summary>
    /// Measures <paramref name="runs"/> (name and run folder, each a BCM, an EDM baseline or an iCT run: the plans follow
    /// its objective) at batch <paramref name="batchSize"/> and writes the report into <paramref name="outDir"/>.
    /// </summary>
    public static List<Row> Write(IReadOnlyList<(string Name, string Run)> runs, int batchSize, int repeats, string outDir, IProgress<Row>? progress = null)
    {
        if (batchSize < 1 || repeats < 1) throw new ArgumentException("batch size and repeats must be ≥ 1");
        var rows = new List<Row>();
        foreach (var (name, run) in runs)
        {
            using var loaded = ModelLoader.Load(run);
            var options = loaded.Options ?? throw new ArgumentException($"{run}: not a bcm run (its options are needed for the training step)");
            double? trained = TrainingSeconds(run);
            var objective = TrainingObjectives.For(options);
            var plans = !objective.TrainsU ? HeunNfe.Select(n => (Label: $"heun:{(n + 1) / 2}", Plan: PlanPresets.HeunWithin(n))).ToList()
                : (options.CtOnly ? ConsistencyPlans : BcmPlans).Select(p => (Label: p, Plan: PlanPresets.Resolve(p))).ToList();
            foreach (var (label, plan) in plans)
            {
                double seconds = 0;
                double? peak = Throughput.PeakResidentMegabytes(() => seconds = Throughput.Time(repeats, () =>
                {
                    using var scope = NewDisposeScope();
                    PlanRunner.Generate(loaded.Model, plan, batchSize, seed: 0, batchSize: batchSize);
                }));
                Add(new Row(name, "sampling", label, plan.Nfe, batchSize / seconds, peak, trained));
            }
            Add(Step(name, run, options with { BatchSize = batchSize }, repeats, trained));
        }
        WriteFiles(rows, batchSize, outDir);
        return rows;

        void Add(Row row)
        {
            rows.Add(row);
            progress?.Report(row);
        }
    }

    // One optimiser step of the run's objective on its own data, in a scratch folder.
    private static Row Step(string name, string run, TrainOptions options, int repeats, double? trained)
    {
        var scratch = Path.Combine(Path.GetTempPath(), "bcm-cost-" + Guid.NewGuid().ToString("N"));
        try
        {
            using var trainer = new Trainer(options with { InitFrom = null }, Trainer.LoadData(options), scratch);
            double seconds = 0;
            double? peak = Throughput.PeakResidentMegabytes(() => seconds = Throughput.Time(repeats, () => trainer.TrainStep()));
            int passes = trainer.Objective.TrainsU ? Throughput.PassesPerTrainingStep : 3; // EDM: one forward and its backward
            return new Row(name, "training step", options.CtOnly ? "ct only (iCT)" : options.Objective, passes, options.BatchSize / seconds, peak, trained);
        }
        finally
        {
            if (Directory.Exists(scratch)) Directory.Delete(scratch, recursive: true);
        }
    }

    // The run's training time: the elapsed seconds of its stats.jsonl, summed over the sessions it was resumed in (each
    // session starts its clock again).
    private static double? TrainingSeconds(string run)
    {
        string stats = Path.Combine(run, "stats.jsonl");
        if (!File.Exists(stats)) return null;
        double total = 0, last = 0;
        foreach (var p in TrainingCurves.Read(stats))
        {
            if (p.ElapsedSeconds < last) total += last;
            last = p.ElapsedSeconds;
        }
        return total + last;
    }

    private static void WriteFiles(List<Row> rows, int batchSize, string outDir)
    {
        Directory.CreateDirectory(outDir);
        var csv = new CsvTable(["model", "kind", "what", "nfe", "images_per_second", "peak_megabytes", "training_seconds"], "G5");
        foreach (var r in rows) csv.Row(r.Model, r.Kind, r.What, r.Nfe, r.ImagesPerSecond, r.PeakMegabytes, r.TrainingSeconds);
        csv.Write(Path.Combine(outDir, "cost.csv"));
        var md = new StringBuilder($"# Cost on this machine (batch {batchSize})\n\n");
        md.AppendLine("| model | kind | plan or objective | NFE | images/s | peak MB | the run's training time (s) |\n|---|---|---|---|---|---|---|");
        foreach (var r in rows)
            md.AppendLine($"| {r.Model} | {r.Kind} | `{r.What}` | {r.Nfe} | {r.ImagesPerSecond:F1} | {(r.PeakMegabytes is double p ? p.ToString("F0") : "—")} | {(r.TrainingSeconds is double t ? t.ToString("F0") : "—")} |");
        AtomicFile.WriteAllText(Path.Combine(outDir, "cost.md"), md.ToString());
    }
}
