using System.Globalization;
using System.Text;
using Bcm.IO;
using Bcm.Plans;
using Bcm.Training;
using static TorchSharp.torch;

namespace Bcm.Reports;

/// <summary>
/// What each method costs on the same network and machine (issue 14, part 6): images/s and peak resident memory of
/// sampling with each plan — BCM at 1-4 NFE, the EDM baseline's Heun sampler at 9-79 NFE, iCT at 1-4 NFE — and of one
/// training step of each run's own objective, with the training time each run took (from its stats.jsonl); given the
/// quality `bcm eval` measured for each plan, the sampling time each run needs to reach a quality. Writes cost.md,
/// cost.csv and, with quality, time-to-quality.csv.
/// </summary>
public static class CostReport
{
    /// <summary>The plans measured for a BCM.</summary>
    public static readonly string[] BcmPlans = ["onestep", "ancestral2", "zigzag3", "mixed4"];

    /// <summary>The plans measured for a consistency model (iCT).</summary>
    public static readonly string[] ConsistencyPlans = ["onestep", "cm-multistep", "cm:3", "cm:4"];

    /// <summary>The NFE budgets of the baseline's Heun sampler.</summary>
    public static readonly int[] HeunNfe = [3, 9, 19, 39, 79];

    /// <summary>One measurement.</summary>
    /// <param name="Model">The run measured.</param>
    /// <param name="Kind"><c>sampling</c> or <c>training step</c>.</param>
    /// <param name="What">The plan's name (<c>heun:K</c> for K Heun steps), or the objective.</param>
    /// <param name="Nfe">Network evaluations per image (for a training step, forward passes' worth per image).</param>
    /// <param name="ImagesPerSecond">Images (or vectors) per second.</param>
    /// <param name="PeakMegabytes">Peak resident memory of the process during the measurement (null where the OS cannot say).</param>
    /// <param name="TrainingSeconds">The run's own training time, summed over its stats.jsonl (null without one).</param>
    /// <param name="Family">The family of the rows `bcm eval` wrote for this plan (what the quality tables are joined on, with the NFE).</param>
    public sealed record Row(string Model, string Kind, string What, int Nfe, double ImagesPerSecond, double? PeakMegabytes, double? TrainingSeconds,
        Metrics.MethodFamily Family = Metrics.MethodFamily.Bcm);

    /// <summary>The quality `bcm eval` measured for one run's plans: the run's name and its generation.csv.</summary>
    public sealed record Quality(string Model, string GenerationCsv);

    /// <summary>
    /// Time to quality: the run's cheapest sampling plan whose measured <paramref name="Metric"/> is at most
    /// <paramref name="Target"/> (lower is better), and its seconds per 1,000 samples at the measured images/s; plan,
    /// value and seconds are null when no measured plan reaches the target.
    /// </summary>
    public sealed record QualityRow(string Metric, double Target, string Model, string? What, int? Nfe, double? Value, double? SecondsPerThousand);

    /// <summary>The default targets: multiples of the FID floor (real against real), or absolute MMD² values.</summary>
    public static readonly double[] FloorMultiples = [2, 1.5, 1.25, 1.1];

    /// <summary>The default MMD² targets (mixtures, whose floor is about zero).</summary>
    public static readonly double[] MmdTargets = [0.03, 0.01, 0.003, 0.001];

    /// <summary>
    /// Measures <paramref name="runs"/> (name and run folder, each a BCM, an EDM baseline or an iCT run: the plans follow
    /// its objective) at batch <paramref name="batchSize"/> and writes the report into <paramref name="outDir"/>.
    /// </summary>
    public static List<Row> Write(IReadOnlyList<(string Name, string Run)> runs, int batchSize, int repeats, string outDir, IProgress<Row>? progress = null,
                                  IReadOnlyList<Quality>? quality = null, IReadOnlyList<double>? targets = null)
    {
        if (batchSize < 1 || repeats < 1) throw new ArgumentException("batch size and repeats must be ≥ 1");
        foreach (var q in quality ?? [])
            if (!runs.Any(r => r.Name == q.Model)) throw new ArgumentException($"quality given for '{q.Model}', which is not one of the runs measured ({string.Join(", ", runs.Select(r => r.Name))})");
        var goals = quality is { Count: > 0 } ? Goals.Load(quality, targets) : null; // bad tables are refused before minutes of measuring
        var rows = new List<Row>();
        foreach (var (name, run) in runs)
        {
            using var loaded = ModelLoader.Load(run);
            var options = loaded.Options ?? throw new ArgumentException($"{run}: not a bcm run (its options are needed for the training step)");
            double? trained = TrainingSeconds(run);
            var plans = loaded.Kind == ModelKind.Denoiser ? HeunNfe.Select(n => (Label: $"heun:{(n + 1) / 2}", Plan: PlanPresets.HeunWithin(n))).ToList()
                : (loaded.Kind == ModelKind.ConsistencyModel ? ConsistencyPlans : BcmPlans).Select(p => (Label: p, Plan: PlanPresets.Resolve(p))).ToList();
            foreach (var (label, plan) in plans)
            {
                double seconds = 0;
                double? peak = Throughput.PeakResidentMegabytes(() => seconds = Throughput.Time(repeats, () =>
                {
                    using var scope = NewDisposeScope();
                    PlanRunner.Generate(loaded.Model, plan, batchSize, seed: 0, batchSize: batchSize);
                }));
                Add(new Row(name, "sampling", label, plan.Nfe, batchSize / seconds, peak, trained,
                    loaded.Kind == ModelKind.Denoiser ? Metrics.MethodFamily.EdmBaseline : Metrics.MethodFamily.Bcm));
            }
            Add(Step(name, run, options with { BatchSize = batchSize }, repeats, trained));
        }
        WriteFiles(rows, goals?.Reach(rows), batchSize, outDir);
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
            return new Row(name, "training step", trainer.Objective.Kind == ModelKind.ConsistencyModel ? "ct only (iCT)" : options.Objective, trainer.Objective.PassesPerStep, options.BatchSize / seconds, peak, trained);
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

    // Time to quality: for each target and each run with quality, the cheapest measured sampling plan reaching it. The
    // quality of a plan is the row of the run's generation.csv with its NFE and family: `BCM {plan}` for a BCM or iCT
    // run, `EDM Heun` for the baseline's `heun:K`. The metric is FID where the tables have it, MMD² otherwise (mixtures);
    // the default targets are FloorMultiples of the FID floor row, or MmdTargets. The tables are read and checked
    // before measuring (Load) and reached after (Reach).
    private sealed record Goals(List<(string Model, string Csv, List<Dictionary<string, string>> Rows)> Tables, string Metric, IReadOnlyList<double> Targets)
    {
        public static Goals Load(IReadOnlyList<Quality> quality, IReadOnlyList<double>? targets)
        {
            var tables = quality.Select(q => (q.Model, q.GenerationCsv, Rows: CsvTable.Read(q.GenerationCsv))).ToList();
            string metric = tables.All(t => t.Rows.Count > 0 && t.Rows[0].ContainsKey("fid")) ? "fid"
                : tables.All(t => t.Rows.Count > 0 && t.Rows[0].ContainsKey("mmd2")) ? "mmd2"
                : throw new InvalidDataException("quality tables must all be generation.csv files of `bcm eval` with an fid column (images) or all with an mmd2 column (mixtures)");
            foreach (var (_, csv, rows) in tables)
                if (new[] { "method", "family", "nfe" }.FirstOrDefault(c => !rows[0].ContainsKey(c)) is string missing)
                    throw new InvalidDataException($"{csv}: no '{missing}' column; a generation.csv of `bcm eval` has method, family, nfe and {metric}");
            if (targets is null or { Count: 0 })
            {
                if (metric == "mmd2") targets = MmdTargets;
                else
                {
                    var floor = tables.SelectMany(t => t.Rows).FirstOrDefault(r => r["family"] == "Reference")
                        ?? throw new InvalidDataException("no floor row (family Reference) in the quality tables: give the targets explicitly");
                    double f = Number(floor[metric], "the floor's " + metric);
                    if (f < 0) throw new InvalidDataException($"the floor's {metric} is {f}; an FID is never negative (a damaged table?)");
                    targets = FloorMultiples.Select(m => m * f).ToArray();
                }
            }
            return new Goals(tables, metric, targets);
        }

        public List<QualityRow> Reach(IReadOnlyList<Row> rows)
        {
            var result = new List<QualityRow>();
            foreach (double target in Targets)
                foreach (var (model, csv, table) in Tables)
                {
                    var best = rows.Where(r => r.Model == model && r.Kind == "sampling")
                        .Select(r => (Row: r, Value: PlanQuality(table, r, Metric, csv)))
                        .Where(x => x.Value is double v && v <= target)
                        .OrderByDescending(x => x.Row.ImagesPerSecond).Select(x => ((Row, double)?)(x.Row, x.Value!.Value)).FirstOrDefault();
                    result.Add(best is var (row, value)
                        ? new QualityRow(Metric, target, model, row.What, row.Nfe, value, 1000 / row.ImagesPerSecond)
                        : new QualityRow(Metric, target, model, null, null, null, null));
                }
            return result;
        }
    }

    private static double? PlanQuality(List<Dictionary<string, string>> table, Row row, string metric, string csv)
    {
        // Joined on the family and the NFE, never on a display name.
        var match = table.Where(r => r["family"] == row.Family.ToString() && r["nfe"] == row.Nfe.ToString(CultureInfo.InvariantCulture)).ToList();
        return match.Count switch
        {
            0 => null,
            1 => Number(match[0][metric], $"{csv}: {row.What}'s {metric}"),
            _ => throw new InvalidDataException($"{csv}: {match.Count} rows for {row.What} at {row.Nfe} NFE"),
        };
    }

    private static double Number(string cell, string what) =>
        double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v) ? v
            : throw new InvalidDataException($"{what} is '{cell}', not a finite number");

    // cost.csv and cost.md's main table.
    private static readonly ReportTable<Row> Table = new(
    [
        Column<Row>.Of("model", "model", r => r.Model),
        Column<Row>.Of("kind", "kind", r => r.Kind),
        new("what", r => r.What, "plan or objective", r => $"`{r.What}`"),
        Column<Row>.Of("nfe", "NFE", r => r.Nfe),
        Column<Row>.Of("images_per_second", "images/s", r => r.ImagesPerSecond, "F1"),
        Column<Row>.Of("peak_megabytes", "peak MB", r => r.PeakMegabytes, "F0"),
        Column<Row>.Of("training_seconds", "the run's training time (s)", r => r.TrainingSeconds, "F0"),
    ]);

    private static void WriteFiles(List<Row> rows, List<QualityRow>? reached, int batchSize, string outDir)
    {
        Directory.CreateDirectory(outDir);
        Table.WriteCsv(rows, Path.Combine(outDir, "cost.csv"));
        var md = new StringBuilder($"# Cost on this machine (batch {batchSize})\n\n");
        md.Append(Table.Markdown(rows));
        var steps = rows.Where(r => r.Kind == "training step").ToList();
        if (steps.FirstOrDefault(r => r.Nfe == Throughput.PassesPerTrainingStep) is { } bct && steps.Count > 1)
        {
            // Equal CPU time: a run whose step costs c BCT steps, trained for S steps, leaves a fine-tuning started
            // from it K − c·S BCT steps of a K-step BCT run's budget.
            md.AppendLine($"\n## Training budgets\n\nOne training step of each run in BCT steps of `{bct.Model}` (measured here, at batch {batchSize}), " +
                          "beside the count of forward passes' worth of FLOPs (BCT 9, iCT 4, EDM 3). For equal CPU time, a run of S steps at cost c " +
                          "leaves a fine-tuning from it K − c·S steps of a K-step BCT run.\n");
            md.AppendLine("| model | objective | step cost, measured | by FLOPs |\n|---|---|---|---|");
            foreach (var r in steps)
                md.AppendLine($"| {r.Model} | {r.What} | {bct.ImagesPerSecond / r.ImagesPerSecond:F3} | {r.Nfe / (double)Throughput.PassesPerTrainingStep:F3} |");
        }
        if (reached is not null)
        {
            var q = new CsvTable(["metric", "target", "model", "plan", "nfe", "value", "seconds_per_1000"], "G5");
            foreach (var r in reached) q.Row(r.Metric, r.Target, r.Model, r.What, r.Nfe, r.Value, r.SecondsPerThousand);
            q.Write(Path.Combine(outDir, "time-to-quality.csv"));
            string name = reached[0].Metric == "fid" ? "FID" : "MMD²";
            md.AppendLine($"\n## Time to quality\n\nThe fastest measured plan of each run whose {name} (from `bcm eval`) is at most the target, and the sampling " +
                          $"time of 1,000 samples at the images/s above; — where no plan measured reaches it.\n");
            var models = reached.Select(r => r.Model).Distinct().ToList();
            md.AppendLine($"| {name} ≤ | {string.Join(" | ", models)} |\n|---|{string.Concat(models.Select(_ => "---|"))}");
            foreach (var g in reached.GroupBy(r => r.Target))
                md.AppendLine($"| {g.Key:G3} | {string.Join(" | ", models.Select(m => g.First(r => r.Model == m) is { What: string w } r ? $"`{w}` ({r.Nfe} NFE, {r.Value:G3}): {r.SecondsPerThousand:F1} s" : "—"))} |");
        }
        AtomicFile.WriteAllText(Path.Combine(outDir, "cost.md"), md.ToString());
    }
}
