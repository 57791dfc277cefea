using System.Globalization;
using System.Text;
using Bcm.Data;
using Bcm.Imaging;
using Bcm.Metrics;
using Bcm.Model;
using Bcm.Oracle;
using Bcm.Plans;
using static TorchSharp.torch;
using Bcm.Tensors;

namespace Bcm.Reports;

/// <summary>
/// The ground-truth report for models of a Gaussian mixture (issue: measured claims): generation quality against the
/// exact density and fresh samples for BCM plans and the EDM baseline over NFE, jump errors against the exact ODE over
/// (t, u) in both directions, inversion against exact latents, and drift over zigzag rounds. Writes report.md,
/// results.json, CSV files and PNG plots.
/// </summary>
public static class MixtureReport
{
    /// <summary>What to measure.</summary>
    public sealed record Options
    {
        /// <summary>Generated samples per method.</summary>
        public int Samples { get; init; } = 2000;
        /// <summary>Real points for the inversion round trips.</summary>
        public int InversionSamples { get; init; } = 500;
        /// <summary>Points per (t, u) cell of the jump-error map.</summary>
        public int JumpSamples { get; init; } = 256;
        /// <summary>Seed of the first sample.</summary>
        public long Seed { get; init; }
        /// <summary>BCM plans to measure (names or text).</summary>
        public string[] BcmPlans { get; init; } = ["onestep", "ancestral2", "zigzag3", "mixed4"];
        /// <summary>NFE budgets of the baseline's samplers (Heun takes the most steps within each).</summary>
        public int[] BaselineNfe { get; init; } = [2, 4, 6, 10, 20, 40, 80];
        /// <summary>The ODE solvers the baseline generates and inverts with (keys of <see cref="BaselineSolver.All"/>).</summary>
        public string[] BaselineSolvers { get; init; } = ["heun"];
        /// <summary>The BCM's inversion plans of the round trips (each followed by one-step generation).</summary>
        public string[] InversionPlans { get; init; } = ["invert1", "invert2"];
        /// <summary>NFE budgets of the inversion round trips.</summary>
        public int[] InversionNfe { get; init; } = [2, 4, 10, 20, 50, 100];
        /// <summary>Noise levels of the jump-error map.</summary>
        public double[] Levels { get; init; } = [0.002, 0.01, 0.05, 0.2, 0.5, 1, 2, 5, 10, 20, 40, 80];
        /// <summary>Levels of the zigzag-drift rounds.</summary>
        public double[] ZigzagLevels { get; init; } = [0.5, 2, 10];
        /// <summary>Rounds per zigzag-drift run.</summary>
        public int ZigzagRounds { get; init; } = 10;
        /// <summary>Levels of the per-sample zigzag study against the exact ODE (<see cref="ZigzagStudy"/>); none: not run.</summary>
        public double[] ZigzagStudyLevels { get; init; } = [];

        /// <summary>Refuses values out of range, naming the option, the value and the range allowed.</summary>
        public void Validate() => EvalOptions.Validate(Samples, BcmPlans, BaselineNfe, InversionNfe, BaselineSolvers, InversionPlans);
    }

    /// <summary>Everything the report holds, as written to results.json.</summary>
    /// <param name="Mixture">The mixture measured against.</param>
    /// <param name="Model">The checkpoint measured.</param>
    /// <param name="Baseline">The EDM baseline's checkpoint, if any.</param>
    /// <param name="DataLogLikelihood">Mean log p₀ of exact samples.</param>
    /// <param name="Floor">Exact samples against the reference: the floor of every metric.</param>
    /// <param name="Generation">One row per method and NFE.</param>
    /// <param name="Inversion">Inversion against the exact latents, per method and NFE.</param>
    /// <param name="Levels">The levels of the jump-error maps.</param>
    /// <param name="JumpErrorNormalised">RMS error of f(x, t, u) against the exact jump, over the RMS size of the exact move, per (t, u).</param>
    /// <param name="JumpErrorAbsolute">RMS error of f(x, t, u) against the exact jump, per (t, u).</param>
    /// <param name="ZigzagLogLikelihood">Mean log p₀ after each zigzag round, per level.</param>
    /// <param name="ZigzagInMode">Share of points inside a mode after each zigzag round, per level.</param>
    /// <param name="Seconds">Wall time of the whole report.</param>
    public sealed record Results(string Mixture, string Model, string? Baseline, double DataLogLikelihood, GenerationQuality Floor,
        List<GenerationQuality> Generation, List<InversionQuality> Inversion, double[] Levels, double[,] JumpErrorNormalised,
        double[,] JumpErrorAbsolute, Dictionary<string, double[]> ZigzagLogLikelihood, Dictionary<string, double[]> ZigzagInMode, double Seconds);

    /// <summary>The points one method generated (row-major [n, d]), kept for the scatter plots.</summary>
    private sealed record PointSet(string Name, MethodFamily Family, int Nfe, double[] Values);

    /// <summary>Measures <paramref name="bcm"/> (and <paramref name="baseline"/>) against <paramref name="mixture"/>'s exact ODE and writes the report into <paramref name="outDir"/>.</summary>
    public static Results Write(BcmModel bcm, string modelName, BcmModel? baseline, string? baselineName, GaussianMixture mixture, string outDir,
        Options? options = null, IProgress<string>? log = null)
    {
        options ??= new Options();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        Directory.CreateDirectory(outDir);
        var eval = new MixtureEvaluation(mixture);
        int d = mixture.Dim, n = options.Samples;
        var device = bcm.Device;
        var seeds = PlanRunner.SeedRange(options.Seed, n);
        var zeros = TorchSharp.torch.zeros([n, d], device: device);
        var generated = new List<PointSet>();
        var generation = new List<GenerationQuality>();

        log?.Report($"exact floor and data log-likelihood ({n} points)");
        var floor = eval.Floor(n);
        double dataLl = floor.LogLikelihood;
        // The exact ODE from the same T·z as the models: the best any deterministic sampler can do from these latents.
        using (var z = PlanRunner.Noise(seeds, zeros, 0))
        {
            var exact = eval.Flow.Jump(MixtureEvaluation.ToDoubles(z).Select(v => v * bcm.SigmaMax).ToArray(), bcm.SigmaMax, bcm.SigmaMin);
            generation.Add(eval.Quality("exact ODE from T·z", 0, exact));
            generated.Add(new("exact ODE", MethodFamily.Reference, 0, exact));
            if (baseline is not null)
                foreach (var solver in options.BaselineSolvers.Select(BaselineSolver.Get))
                    foreach (var nfe in solver.Budgets(options.BaselineNfe))
                    {
                        var plan = solver.Within(nfe);
                        log?.Report($"baseline {solver.Name}, {plan.Steps.Count} steps");
                        using var x = PlanRunner.Run(baseline, zeros, plan, seeds);
                        var values = MixtureEvaluation.ToDoubles(x);
                        generation.Add(eval.Quality($"EDM {solver.Name}", plan.Nfe, values, solver.Family));
                        generated.Add(new($"EDM {solver.Name} {plan.Nfe} NFE", solver.Family, plan.Nfe, values));
                    }
        }
        foreach (var name in options.BcmPlans)
        {
            var plan = PlanPresets.Resolve(name);
            log?.Report($"BCM {name} ({plan.Nfe} NFE)");
            using var x = PlanRunner.Run(bcm, zeros, plan, seeds);
            var values = MixtureEvaluation.ToDoubles(x);
            generation.Add(eval.Quality($"BCM {name}", plan.Nfe, values, MethodFamily.Bcm));
            generated.Add(new($"BCM {name} ({plan.Nfe} NFE)", MethodFamily.Bcm, plan.Nfe, values));
        }

        log?.Report("trajectories");
        Trajectories(bcm, eval, options, device, outDir);
        log?.Report("inversion against the exact ODE");
        var inversion = Inversions(bcm, baseline, eval, options, device);
        log?.Report($"jump errors over {options.Levels.Length}x{options.Levels.Length} (t, u) pairs");
        var (jumpAbs, jumpRel) = eval.JumpErrors(bcm, options.Levels, options.JumpSamples, options.Seed + 99);
        log?.Report($"zigzag drift over {options.ZigzagRounds} rounds");
        var (zigLl, zigIn) = Zigzag(bcm, eval, options, device);
        if (options.ZigzagStudyLevels.Length > 0)
        {
            log?.Report($"zigzag error per sample against the exact ODE at τ = {string.Join(", ", options.ZigzagStudyLevels)}");
            ZigzagStudy.Write(ZigzagStudy.Run(bcm, baseline, eval, options.ZigzagStudyLevels, options.ZigzagRounds, options.InversionSamples, options.Seed + 313),
                outDir, options.InversionSamples);
        }

        var results = new Results(mixture.Name, modelName, baselineName, dataLl, floor, generation, inversion, options.Levels, jumpRel, jumpAbs,
            zigLl, zigIn, clock.Elapsed.TotalSeconds);
        WriteOutputs(results, generated, mixture, outDir, options);
        return results;
    }

    // Exact ODE trajectories from T·z down to ε (lines) against the BCM's one-jump predictions f(x_T, T, u) (dots), for
    // the first coordinate normalised by the spread sqrt(s² + σ²) of x_σ so every level fits one axis.
    private static void Trajectories(BcmModel bcm, MixtureEvaluation eval, Options options, Device device, string outDir)
    {
        const int count = 6;
        int d = eval.Dim;
        using var z = PlanRunner.Noise(PlanRunner.SeedRange(options.Seed + 5, count), TorchSharp.torch.zeros([count, d], device: device), 0);
        var start = MixtureEvaluation.ToDoubles(z).Select(v => v * bcm.SigmaMax).ToArray();
        double s2 = eval.DataVariance();
        double Norm(double x, double sigma) => x / Math.Sqrt(s2 + sigma * sigma);
        var plot = new Plot { Title = $"{eval.Mixture.Name}: PF-ODE trajectories (lines) vs BCM jumps f(x_T, T, u) (dots)",
            XLabel = "noise level σ", YLabel = "x₁ / sqrt(s² + σ²)", LogX = true };
        var levels = options.Levels.Where(l => l < bcm.SigmaMax).ToArray();
        using var xT = MixtureEvaluation.ToTensor(start, d, device);
        for (int i = 0; i < count; i++)
        {
            var path = new List<(double Sigma, double X)>();
            var end = new double[d];
            eval.Flow.Jump(start.AsSpan(i * d, d), bcm.SigmaMax, bcm.SigmaMin, end, (sigma, x) => path.Add((sigma, Norm(x[0], sigma))));
            plot.Add(new Series(i == 0 ? "exact ODE" : "", path.Select(p => p.Sigma).ToArray(), path.Select(p => p.X).ToArray(), Markers: false, Color: i));
        }
        var jumpX = new List<double>[count];
        for (int i = 0; i < count; i++) jumpX[i] = [];
        foreach (var u in levels)
        {
            using var scope = NewDisposeScope();
            var jumped = MixtureEvaluation.ToDoubles(bcm.Jump(xT, bcm.SigmaMax, u));
            for (int i = 0; i < count; i++) jumpX[i].Add(Norm(jumped[i * d], u));
        }
        for (int i = 0; i < count; i++)
            plot.Add(new Series(i == 0 ? "BCM f(x_T, T, u)" : "", levels, jumpX[i].ToArray(), Line: false, MarkerSize: 4, Color: i));
        plot.Save(Path.Combine(outDir, "trajectories.png"), 820, 500);
    }

    private static List<InversionQuality> Inversions(BcmModel bcm, BcmModel? baseline, MixtureEvaluation eval, Options options, Device device)
    {
        int n = options.InversionSamples, d = eval.Dim;
        var list = new List<InversionQuality>();
        var (clean, _) = eval.Mixture.Sample(n, options.Seed + 31);
        using var cleanT = MixtureEvaluation.ToTensor(clean, d, device);
        var seeds = PlanRunner.SeedRange(options.Seed + 31, n);
        var generate = PlanPresets.Resolve("onestep");
        foreach (var name in options.InversionPlans)
        {
            var plan = PlanPresets.Resolve(name);
            using var scope = NewDisposeScope();
            // The start point x₀ + t₀·z is made here so the exact ODE starts from the same point.
            var start = cleanT.Plus(PlanRunner.Noise(seeds, cleanT, 0).Times(plan.Start));
            var (latents, recon) = PlanRunner.RoundTrip(bcm, start, plan.FromGiven(), generate, seeds);
            list.Add(eval.Inversion($"BCM {name} + onestep", MethodFamily.Bcm, plan.Nfe, clean, MixtureEvaluation.ToDoubles(start), plan.Start,
                MixtureEvaluation.ToDoubles(latents), MixtureEvaluation.ToDoubles(recon), bcm.SigmaMax));
        }
        if (baseline is not null)
            foreach (var solver in options.BaselineSolvers.Select(BaselineSolver.Get))
                foreach (var nfe in solver.Budgets(options.InversionNfe))
                {
                    var (invert, generateOde) = (solver.Within(nfe, invert: true), solver.Within(nfe));
                    using var scope = NewDisposeScope();
                    var (latents, recon) = PlanRunner.RoundTrip(baseline, cleanT, invert.FromGiven(), generateOde, seeds);
                    list.Add(eval.Inversion($"EDM {solver.Name} ODE inversion + {solver.Name}", solver.Family, invert.Nfe, clean, clean, baseline.SigmaMin,
                        MixtureEvaluation.ToDoubles(latents), MixtureEvaluation.ToDoubles(recon), baseline.SigmaMax));
                }
        return list;
    }

    // Rounds "+noise to 0.07, jump to τ, jump to ε" from real points: an exact model keeps the data distribution, so the
    // log-likelihood and the in-mode fraction should stay at the data's values round after round.
    private static (Dictionary<string, double[]>, Dictionary<string, double[]>) Zigzag(BcmModel bcm, MixtureEvaluation eval, Options options, Device device)
    {
        var ll = new Dictionary<string, double[]>();
        var inMode = new Dictionary<string, double[]>();
        var (clean, _) = eval.Mixture.Sample(options.InversionSamples, options.Seed + 57);
        foreach (var tau in options.ZigzagLevels)
        {
            var lls = new double[options.ZigzagRounds + 1];
            var ins = new double[options.ZigzagRounds + 1];
            var first = eval.Quality("", 0, clean);
            (lls[0], ins[0]) = (first.LogLikelihood, first.InModeFraction);
            using var x = MixtureEvaluation.ToTensor(clean, eval.Dim, device);
            Editing.Rounds.Run(bcm, x, Enumerable.Repeat(tau, options.ZigzagRounds).ToArray(), options.Seed + 57, afterRound: (r, current) =>
            {
                var q = eval.Quality("", 0, MixtureEvaluation.ToDoubles(current));
                (lls[r + 1], ins[r + 1]) = (q.LogLikelihood, q.InModeFraction);
            }).Dispose();
            string key = "τ = " + tau.ToString(CultureInfo.InvariantCulture);
            ll[key] = lls;
            inMode[key] = ins;
        }
        return (ll, inMode);
    }

    private static void WriteOutputs(Results r, List<PointSet> generated, GaussianMixture mixture, string outDir, Options options)
    {
        WriteTables(r, outDir);
        var scatterFiles = WritePlots(r, generated, mixture, outDir, options);
        WriteMarkdown(r, scatterFiles, mixture, outDir, options);
    }

    // generation.csv and the report's generation table.
    private static readonly ReportTable<GenerationQuality> GenerationTable = new(
    [
        Column<GenerationQuality>.Of("method", "method", g => g.Method),
        Column<GenerationQuality>.Of("family", null, g => g.Family),
        new("nfe", g => g.Nfe, "NFE", g => g.Nfe == 0 ? "—" : ReportTable.Cell(g.Nfe)),
        Column<GenerationQuality>.Of("log_likelihood", "mean log p0", g => g.LogLikelihood, "F3"),
        Column<GenerationQuality>.Of("mmd2", "MMD²", g => g.Mmd2, "G3"),
        Column<GenerationQuality>.Of("sliced_w2", "sliced W2", g => g.SlicedW2, "G3"),
        Column<GenerationQuality>.Of("mode_coverage", "modes covered", g => g.ModeCoverage, "P0"),
        Column<GenerationQuality>.Of("in_mode_fraction", "in-mode fraction", g => g.InModeFraction, "P1"),
        Column<GenerationQuality>.Of("mode_weight_tv", "mode-weight TV", g => g.ModeWeightTv, "F3"),
    ], "G4");

    // inversion.csv and the report's inversion table.
    private static readonly ReportTable<InversionQuality> InversionTable = new(
    [
        Column<InversionQuality>.Of("method", "method", i => i.Method),
        Column<InversionQuality>.Of("family", null, i => i.Family),
        Column<InversionQuality>.Of("nfe", "NFE (inversion)", i => i.Nfe),
        Column<InversionQuality>.Of("latent_rmse", "latent RMSE", i => i.LatentRmse, "G3"),
        Column<InversionQuality>.Of("latent_relative", "latent RMSE / sqrt(s² + T²)", i => i.LatentRelative, "G3"),
        Column<InversionQuality>.Of("reconstruction_rmse", "reconstruction RMSE", i => i.ReconstructionRmse, "G3"),
    ], "G4");

    /// <summary>results.json and the CSV files: generation.csv, inversion.csv, jump-error.csv.</summary>
    private static void WriteTables(Results r, string outDir)
    {
        string F(double v) => v.ToString("G4", CultureInfo.InvariantCulture);
        var jsonResults = new
        {
            r.Mixture, r.Model, r.Baseline, r.DataLogLikelihood, r.Floor, r.Generation, r.Inversion, r.Levels,
            JumpErrorNormalised = ToJagged(r.JumpErrorNormalised), JumpErrorAbsolute = ToJagged(r.JumpErrorAbsolute),
            r.ZigzagLogLikelihood, r.ZigzagInMode, r.Seconds,
        };
        IO.JsonFormat.Write(Path.Combine(outDir, "results.json"), jsonResults, IO.JsonFormat.Reports);

        GenerationTable.WriteCsv(r.Generation.Prepend(r.Floor), Path.Combine(outDir, "generation.csv"));
        InversionTable.WriteCsv(r.Inversion, Path.Combine(outDir, "inversion.csv"));
        var jumps = new IO.CsvTable(r.Levels.Select(v => "u=" + F(v)).Prepend("t").ToArray());
        for (int a = 0; a < r.Levels.Length; a++)
            jumps.Row(Enumerable.Range(0, r.Levels.Length).Select(b => (object)r.JumpErrorNormalised[a, b]).Prepend(r.Levels[a]).ToArray());
        jumps.Write(Path.Combine(outDir, "jump-error.csv"));
    }

    /// <summary>The PNG plots; returns the scatter plots of 2-D samples (title, file) for the Markdown.</summary>
    private static List<(string Name, string File)> WritePlots(Results r, List<PointSet> generated, GaussianMixture mixture, string outDir, Options options)
    {
        void Curve(string file, string title, string ylabel, Func<GenerationQuality, double> metric, bool logY) =>
            NfeCurve.Save(Path.Combine(outDir, file), title, ylabel, r.Generation, r.Floor, "exact samples (floor)", g => g.Family, g => g.Nfe, metric, logY);
        Curve("nfe-mmd.png", $"{mixture.Name}: MMD² to exact samples vs NFE", "MMD² (RBF, 4 bandwidths)", g => Math.Max(g.Mmd2, 1e-6), true);
        Curve("nfe-sw.png", $"{mixture.Name}: sliced W2 to exact samples vs NFE", "sliced Wasserstein-2", g => g.SlicedW2, true);
        Curve("nfe-loglik.png", $"{mixture.Name}: mean exact log-likelihood vs NFE", "mean log p0(x)", g => g.LogLikelihood, false);

        var inv = new Plot { Title = $"{mixture.Name}: inversion round trip vs NFE", XLabel = "NFE of the inversion", YLabel = "reconstruction RMSE", LogX = true, LogY = true };
        foreach (var group in r.Inversion.GroupBy(i => i.Family))
            inv.Add(new Series(group.Key == MethodFamily.Bcm ? "BCM invert + 1-step generate" : group.Key == MethodFamily.EdmBaseline ? "EDM ODE inversion + ODE generation"
                : $"{BaselineSolver.Legend(group.Key)} ODE inversion + generation", group.Select(i => (double)i.Nfe).ToArray(), group.Select(i => i.ReconstructionRmse).ToArray()));
        inv.Save(Path.Combine(outDir, "inversion.png"));

        var labels = r.Levels.Select(v => v.ToString("G3", CultureInfo.InvariantCulture)).ToArray();
        Plot.Heatmap(r.JumpErrorNormalised, labels, labels, $"{mixture.Name}: BCM jump error vs exact ODE (normalised RMS)", "from t", "to u",
            Path.Combine(outDir, "jump-error.png"));

        var zig = new Plot { Title = $"{mixture.Name}: zigzag rounds from real points", XLabel = "round", YLabel = "mean log p0(x)" };
        foreach (var (key, values) in r.ZigzagLogLikelihood) zig.Add(new Series(key, Enumerable.Range(0, values.Length).Select(i => (double)i).ToArray(), values));
        zig.Add(new Series("data", [0, options.ZigzagRounds], [r.DataLogLikelihood, r.DataLogLikelihood], Markers: false));
        zig.Save(Path.Combine(outDir, "zigzag.png"));

        var scatterFiles = new List<(string Name, string File)>();
        if (mixture.Dim == 2)
        {
            var reference = mixture.Sample(options.Samples, 424_242).Values;
            int index = 0;
            foreach (var (name, family, nfe, values) in generated.Prepend(new PointSet("data", MethodFamily.Reference, 0, reference)))
            {
                if (family == MethodFamily.EdmBaseline && nfe is not (3 or 19 or 79)) continue; // the baseline's scatter at three NFE, not all
                if (family is MethodFamily.EdmEuler or MethodFamily.EdmDpmSolver2M) continue; // the other solvers: in the tables and curves
                var plot = new Plot { Title = name, XLabel = "x1", YLabel = "x2", XRange = (-1.6, 1.6), YRange = (-1.6, 1.6), EqualAspect = true };
                plot.Add(Series.Points(values, 1.6f));
                string file = $"samples-{index++:D2}.png";
                plot.Save(Path.Combine(outDir, file), 420, 420);
                scatterFiles.Add((name, file));
            }
        }
        return scatterFiles;
    }

    private static void WriteMarkdown(Results r, List<(string Name, string File)> scatterFiles, GaussianMixture mixture, string outDir, Options options)
    {
        var md = new StringBuilder();
        md.AppendLine($"# Ground-truth evaluation on {mixture.Name}\n");
        md.AppendLine($"Model: `{r.Model}`{(r.Baseline is null ? "" : $"; EDM baseline: `{r.Baseline}`")}. {options.Samples} generated points per method, " +
                      $"reference = an independent exact sample of the same size. Took {r.Seconds:F0} s.\n");
        md.AppendLine("## Generation\n");
        md.Append(GenerationTable.Markdown(r.Generation.Prepend(r.Floor)));
        md.AppendLine("\n![](nfe-mmd.png) ![](nfe-sw.png) ![](nfe-loglik.png)\n");
        if (scatterFiles.Count > 0) md.AppendLine(string.Join(" ", scatterFiles.Select(s => $"![{s.Name}]({s.File})")) + "\n");
        md.AppendLine("## Trajectories\n");
        md.AppendLine("Exact probability-flow trajectories from six points x_T = T·z (lines) and the BCM's single jumps f(x_T, T, u) to each level u (dots): " +
                      "a perfect BCM puts every dot on its line.\n");
        md.AppendLine("![](trajectories.png)\n");
        md.AppendLine("## Inversion\n");
        md.AppendLine("Latent error against the exact ODE from the same start point (BCM starts at x + 0.07·z, the ODE baseline at x, σ = ε); " +
                      "reconstruction error after generating back.\n");
        md.Append(InversionTable.Markdown(r.Inversion));
        md.AppendLine("\n![](inversion.png)\n");
        md.AppendLine("## Jumps against the exact ODE\n");
        md.AppendLine("RMS of f_θ(x, t, u) − f*(x, t, u) over x ~ p_t, divided by sqrt(s² + u²) (the spread of x_u); below the diagonal " +
                      "generates (u < t), above it inverts (u > t). Raw numbers in jump-error.csv.\n");
        md.AppendLine("![](jump-error.png)\n");
        md.AppendLine("## Zigzag rounds\n");
        md.AppendLine("Rounds of +0.07 noise, a jump up to τ and back to ε, from real points: exact jumps keep the data's log-likelihood.\n");
        md.AppendLine("| τ | " + string.Join(" | ", Enumerable.Range(0, options.ZigzagRounds + 1).Select(i => $"round {i}")) + " |");
        md.AppendLine("|---|" + string.Concat(Enumerable.Repeat("---|", options.ZigzagRounds + 1)));
        foreach (var (key, values) in r.ZigzagLogLikelihood) md.AppendLine($"| {key} | " + string.Join(" | ", values.Select(v => v.ToString("F3", CultureInfo.InvariantCulture))) + " |");
        md.AppendLine("\n![](zigzag.png)");
        IO.AtomicFile.WriteAllText(Path.Combine(outDir, "report.md"), md.ToString());
    }

    private static double?[][] ToJagged(double[,] m) =>
        Enumerable.Range(0, m.GetLength(0)).Select(a => Enumerable.Range(0, m.GetLength(1)).Select(b => double.IsFinite(m[a, b]) ? m[a, b] : (double?)null).ToArray()).ToArray();
}
