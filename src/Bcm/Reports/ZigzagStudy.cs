using System.Globalization;
using Bcm.Model;
using Bcm.Oracle;
using Bcm.Plans;
using static TorchSharp.torch;

namespace Bcm.Reports;

/// <summary>
/// Zigzag error per sample against the exact probability-flow ODE (issue 26 §2; the seed paper's first open question):
/// from each starting noise x_T, the exact endpoint Φ(x_T) and the BCM's one-step sample x₀; then rounds at a level τ,
/// each inverting the current point to τ with f and generating back (ε → τ → ε, 2 NFE). Per round: each sample's
/// distance to Φ(x_T) and to x₀, and the round's two jump errors against the exact ODE from the same points (the
/// inversion jump against Φ_{ε→τ} of the point it started from, the generation jump against Φ_{τ→ε} of the latent it
/// started from). Beside it, the same rounds with the EDM baseline's ODE (Euler, one step up and one down: 2 NFE, equal
/// to the BCM's; DPM-Solver++(2M)'s first step is the same Euler step), started from its DPM-Solver++(2M) sample in 20
/// steps (its best few-step sample on the 8 Gaussians), and the consistency model's multistep rounds (fresh noise to τ,
/// one jump down: 1 NFE) from the BCM's one-step sample. Distances are RMS over the coordinates.
/// </summary>
public static class ZigzagStudy
{
    /// <summary>One sampler at one level after one round: medians and 90th percentiles over the samples.</summary>
    /// <param name="Sampler">bcm-zigzag, ode-euler or cm-multistep.</param>
    /// <param name="Tau">The round's level τ.</param>
    /// <param name="Round">The round (0: the starting sample).</param>
    /// <param name="Nfe">Network evaluations per sample so far, the starting sample's included.</param>
    /// <param name="ToExactMedian">Median distance to Φ(x_T).</param>
    /// <param name="ToExactP90">90th percentile of it.</param>
    /// <param name="ToStartMedian">Median distance to the round-0 sample.</param>
    /// <param name="ToStartP90">90th percentile of it.</param>
    /// <param name="InversionErrorMedian">Median error of this round's jump up against the exact ODE (NaN where the round has none).</param>
    /// <param name="InversionErrorP90">90th percentile of it.</param>
    /// <param name="GenerationErrorMedian">Median error of this round's jump down against the exact ODE from the same latent.</param>
    /// <param name="GenerationErrorP90">90th percentile of it.</param>
    public sealed record Row(string Sampler, double Tau, int Round, int Nfe, double ToExactMedian, double ToExactP90, double ToStartMedian, double ToStartP90,
        double InversionErrorMedian, double InversionErrorP90, double GenerationErrorMedian, double GenerationErrorP90);

    /// <summary>The rows of every sampler at every level in <paramref name="taus"/>, <paramref name="rounds"/> rounds each, from <paramref name="samples"/> starting noises.</summary>
    public static List<Row> Run(BcmModel bcm, BcmModel? baseline, MixtureEvaluation eval, double[] taus, int rounds, int samples, long seed)
    {
        double eps = bcm.SigmaMin, T = bcm.SigmaMax;
        int d = eval.Dim;
        var seeds = PlanRunner.SeedRange(seed, samples);
        using var origin = TorchSharp.torch.zeros(samples, d, device: bcm.Device);
        using var noise = PlanRunner.Noise(seeds, origin, 0);
        var exact = eval.Flow.Jump(MixtureEvaluation.ToDoubles(noise).Select(v => v * T).ToArray(), T, eps);
        var rows = new List<Row>();
        foreach (double tau in taus)
        {
            string e = Fmt(eps), t = Fmt(tau);
            var up = Plan.Parse($"{e}>{t}").FromGiven();
            var down = Plan.Parse($"{t}>{e}").FromGiven();
            rows.AddRange(Rounds("bcm-zigzag", bcm, PlanPresets.Resolve("onestep"), up, down, null, eval, tau, rounds, exact, seeds, origin));
            if (baseline is not null)
                rows.AddRange(Rounds("ode-euler", baseline, PlanPresets.Ode(OdeMethod.DpmSolver2M, 20), Plan.Parse($"euler:{e}>{t}").FromGiven(),
                    Plan.Parse($"euler:{t}>{e}").FromGiven(), null, eval, tau, rounds, exact, seeds, origin));
            rows.AddRange(Rounds("cm-multistep", bcm, PlanPresets.Resolve("onestep"), null, down, new Noise(tau, ReachSigma: true),
                eval, tau, rounds, exact, seeds, origin));
        }
        return rows;
    }

    // One sampler's rounds: a deterministic round (up, then down) with both jump errors measured, or a stochastic one
    // (fresh noise to τ, then down) whose generation jump is measured from the noised point.
    private static IEnumerable<Row> Rounds(string name, BcmModel model, Plan start, Plan? up, Plan down, Noise? freshNoise, MixtureEvaluation eval,
        double tau, int rounds, double[] exact, IReadOnlyList<long> seeds, Tensor zeros)
    {
        double eps = model.SigmaMin;
        using var first = PlanRunner.Run(model, zeros, start, seeds);
        var x0 = MixtureEvaluation.ToDoubles(first);
        var current = x0;
        int nfe = start.Nfe;
        yield return Summarise(name, tau, 0, nfe, current, exact, x0, null, null, eval.Dim);
        for (int r = 1; r <= rounds; r++)
        {
            var roundSeeds = seeds.Select(s => s + 7_919L * r).ToArray();
            using var x = MixtureEvaluation.ToTensor(current, eval.Dim, model.Device);
            double[] latent, inversionError = [];
            if (up is not null)
            {
                using var z = PlanRunner.Run(model, x, up, roundSeeds);
                latent = MixtureEvaluation.ToDoubles(z);
                inversionError = Distances(latent, eval.Flow.Jump(current, eps, tau), eval.Dim);
                nfe += up.Nfe;
            }
            else
            {
                using var z = PlanRunner.Run(model, x, new Plan(eps, [freshNoise!]).FromGiven(), roundSeeds);
                latent = MixtureEvaluation.ToDoubles(z);
            }
            using var latentT = MixtureEvaluation.ToTensor(latent, eval.Dim, model.Device);
            using var next = PlanRunner.Run(model, latentT, down, roundSeeds);
            current = MixtureEvaluation.ToDoubles(next);
            nfe += down.Nfe;
            var generationError = Distances(current, eval.Flow.Jump(latent, tau, eps), eval.Dim);
            yield return Summarise(name, tau, r, nfe, current, exact, x0, up is null ? null : inversionError, generationError, eval.Dim);
        }
    }

    private static Row Summarise(string name, double tau, int round, int nfe, double[] points, double[] exact, double[] start, double[]? inversion, double[]? generation, int d)
    {
        var toExact = Distances(points, exact, d);
        var toStart = Distances(points, start, d);
        return new Row(name, tau, round, nfe, Percentile(toExact, 0.5), Percentile(toExact, 0.9), Percentile(toStart, 0.5), Percentile(toStart, 0.9),
            inversion is null ? double.NaN : Percentile(inversion, 0.5), inversion is null ? double.NaN : Percentile(inversion, 0.9),
            generation is null ? double.NaN : Percentile(generation, 0.5), generation is null ? double.NaN : Percentile(generation, 0.9));
    }

    /// <summary>zigzag-per-sample.csv and zigzag-per-sample.md in <paramref name="outDir"/>.</summary>
    public static void Write(IReadOnlyList<Row> rows, string outDir, int samples)
    {
        Table.WriteCsv(rows, Path.Combine(outDir, "zigzag-per-sample.csv"));
        IO.AtomicFile.WriteAllText(Path.Combine(outDir, "zigzag-per-sample.md"),
            $"# Zigzag error per sample against the exact ODE\n\n{samples} starting noises; RMS distances per sample, median / 90th percentile. " +
            "bcm-zigzag: ε → τ → ε with f (2 NFE a round); ode-euler: the EDM baseline's Euler step up and down (2 NFE a round) from its " +
            "DPM-Solver++(2M) 20-step sample; cm-multistep: fresh noise to τ and one jump down (1 NFE a round). The jump errors are against " +
            "the exact ODE from the same points, in the units of the level they reach (a latent at τ spreads about sqrt(s² + τ²)).\n\n" + Table.Markdown(rows));
    }

    private static readonly ReportTable<Row> Table = new(
    [
        Column<Row>.Of("sampler", "sampler", r => r.Sampler),
        Column<Row>.Of("tau", "τ", r => r.Tau),
        Column<Row>.Of("round", "round", r => r.Round),
        Column<Row>.Of("nfe", "NFE", r => r.Nfe),
        new("to_exact_median", r => r.ToExactMedian, "to Φ(x_T)", r => Pair(r.ToExactMedian, r.ToExactP90)),
        Column<Row>.Of("to_exact_p90", null, r => r.ToExactP90),
        new("to_start_median", r => r.ToStartMedian, "to round 0", r => Pair(r.ToStartMedian, r.ToStartP90)),
        Column<Row>.Of("to_start_p90", null, r => r.ToStartP90),
        new("inversion_error_median", r => r.InversionErrorMedian, "jump up vs exact", r => Pair(r.InversionErrorMedian, r.InversionErrorP90)),
        Column<Row>.Of("inversion_error_p90", null, r => r.InversionErrorP90),
        new("generation_error_median", r => r.GenerationErrorMedian, "jump down vs exact", r => Pair(r.GenerationErrorMedian, r.GenerationErrorP90)),
        Column<Row>.Of("generation_error_p90", null, r => r.GenerationErrorP90),
    ]);

    private static string Pair(double median, double p90) => double.IsNaN(median) ? "—" : $"{ReportTable.Cell(median, "G3")} / {ReportTable.Cell(p90, "G3")}";

    /// <summary>Per-sample RMS distances between two [n, d] row-major point sets.</summary>
    public static double[] Distances(double[] a, double[] b, int d)
    {
        int n = a.Length / d;
        var result = new double[n];
        for (int i = 0; i < n; i++)
        {
            double s = 0;
            for (int k = 0; k < d; k++) s += (a[i * d + k] - b[i * d + k]) * (a[i * d + k] - b[i * d + k]);
            result[i] = Math.Sqrt(s / d);
        }
        return result;
    }

    /// <summary>The <paramref name="q"/>-quantile of <paramref name="values"/> (linear between order statistics).</summary>
    public static double Percentile(double[] values, double q)
    {
        var sorted = values.Order().ToArray();
        double position = q * (sorted.Length - 1);
        int lo = (int)Math.Floor(position), hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + (position - lo) * (sorted[hi] - sorted[lo]);
    }

    private static string Fmt(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
