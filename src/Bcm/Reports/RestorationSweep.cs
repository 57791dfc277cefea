using System.Globalization;
using System.Text;
using Bcm.Editing;
using Bcm.Imaging;
using Bcm.IO;
using Bcm.Metrics;
using Bcm.Model;
using Bcm.Plans;
using static TorchSharp.torch;

namespace Bcm.Reports;

/// <summary>
/// Blind JPEG restoration measured as the paper measures it: FID and KID on a classifier's features of the restored
/// images against the clean ones, over a sweep of NFE, beside PSNR. Methods: the JPEG input itself, a Gaussian blur,
/// BCM zigzag rounds (invert to t_r, jump to ε: 2 NFE a round) and consistency-model-style rounds (fresh noise to t_r,
/// jump to ε, no inversion: 1 NFE a round), and with a task-specific restorer (<c>palette</c>: a denoiser conditioned on
/// the JPEG image, solved from noise). Every method's free choice (the blur width, the first level t₁ of the rounds, which
/// then halve down to 0.08, the restorer's ODE solver) is made by FID on one slice of held-out images and reported on another.
/// </summary>
public static class RestorationSweep
{
    /// <summary>First levels t₁ the rounds may choose from.</summary>
    public static readonly double[] FirstLevels = [0.15, 0.3, 0.6, 1.2, 2.4];

    /// <summary>The lowest level of a round (rounds need t_r above the 0.07 of their start).</summary>
    public const double LowestLevel = 0.08;

    /// <summary>One method at one JPEG quality and NFE, measured on the report slice.</summary>
    /// <param name="JpegQuality">The JPEG quality of the inputs.</param>
    /// <param name="Method"><c>jpeg</c>, <c>blur</c>, <c>bcm-zigzag</c>, <c>cm-rounds</c> or <c>palette</c>.</param>
    /// <param name="Nfe">Network evaluations per image.</param>
    /// <param name="Choice">What was chosen on the choice slice (a blur width in pixels, or the levels of the rounds).</param>
    /// <param name="Fid">FID of the restored report images against the clean ones.</param>
    /// <param name="Kid">KID (×1) of the same.</param>
    /// <param name="Psnr">Mean PSNR against the clean images (dB on [0, 1]).</param>
    public sealed record Row(int JpegQuality, string Method, int Nfe, string Choice, double Fid, double Kid, double Psnr);

    /// <summary>The levels of <paramref name="rounds"/> rounds starting at <paramref name="first"/>, halving, at least <see cref="LowestLevel"/>.</summary>
    public static double[] Levels(double first, int rounds) =>
        Enumerable.Range(0, rounds).Select(r => Math.Max(LowestLevel, first * Math.Pow(0.5, r))).ToArray();

    /// <summary>
    /// Runs the sweep: for each JPEG quality, each method's choice is made on <paramref name="choose"/> and measured on
    /// <paramref name="report"/> (clean images in [−1, 1]); writes restoration-nfe.csv and restoration-nfe.md into
    /// <paramref name="outDir"/>.
    /// </summary>
    public static List<Row> Write(BcmModel model, Classifier classifier, Tensor choose, Tensor report, IReadOnlyList<int> qualities, IReadOnlyList<int> nfes,
        long seed, string outDir, IProgress<Row>? progress = null, BcmModel? restorer = null)
    {
        if (nfes.Count == 0 || nfes.Any(n => n < 1 || n > 200)) throw new ArgumentException("NFE budgets must be in 1..200");
        var rows = new List<Row>();
        var (chooseRef, _) = classifier.Embed(choose.cpu());
        var (reportRef, _) = classifier.Embed(report.cpu());
        foreach (int q in qualities)
        {
            using var chooseJpeg = ImageIO.JpegDegrade(choose, q);
            using var reportJpeg = ImageIO.JpegDegrade(report, q);
            void Add(Row row)
            {
                rows.Add(row);
                progress?.Report(row);
            }
            Add(Score(q, "jpeg", 0, "—", reportJpeg, report, reportRef, classifier));
            double blur = RestorationReport.BlurSigmas.MinBy(s => FidOf(Filters.GaussianBlur(chooseJpeg, s), chooseRef, classifier));
            using (var blurred = Filters.GaussianBlur(reportJpeg, blur))
                Add(Score(q, "blur", 0, $"σ = {F(blur)} px", blurred, report, reportRef, classifier));
            foreach (int nfe in nfes)
            {
                if (nfe % 2 == 0)
                {
                    var levels = Choose(first => Restoration.Run(model, chooseJpeg, Levels(first, nfe / 2), seed), chooseRef, classifier, nfe / 2);
                    using var restored = Restoration.Run(model, reportJpeg, levels, seed);
                    Add(Score(q, "bcm-zigzag", nfe, Text(levels), restored, report, reportRef, classifier));
                }
                var cmLevels = Choose(first => Rounds.ConsistencyRounds(model, chooseJpeg, Levels(first, nfe), seed), chooseRef, classifier, nfe);
                using var cm = Rounds.ConsistencyRounds(model, reportJpeg, cmLevels, seed);
                Add(Score(q, "cm-rounds", nfe, Text(cmLevels), cm, report, reportRef, classifier));
                if (restorer is not null)
                {
                    // The task-specific restorer's free choice is its ODE solver, made on the choice slice like the others'.
                    var solver = BaselineSolver.All.MinBy(s => FidOf(Restoration.WithRestorer(restorer, chooseJpeg, s.Within(nfe), seed), chooseRef, classifier))!;
                    var plan = solver.Within(nfe);
                    using var restored = Restoration.WithRestorer(restorer, reportJpeg, plan, seed);
                    Add(Score(q, "palette", plan.Nfe, $"{solver.Name}, {plan.Steps.Count} step{(plan.Steps.Count == 1 ? "" : "s")}", restored, report, reportRef, classifier));
                }
            }
        }
        WriteFiles(rows, outDir, choose.shape[0], report.shape[0]);
        return rows;
    }

    // The levels (first level t₁, halving) with the lowest FID on the choice slice.
    private static double[] Choose(Func<double, Tensor> restore, double[] reference, Classifier classifier, int rounds) =>
        Levels(FirstLevels.MinBy(first => FidOf(restore(first), reference, classifier)), rounds);

    private static double FidOf(Tensor images, double[] reference, Classifier classifier)
    {
        using (images)
            return FeatureMetrics.Fid(classifier.Embed(images.cpu()).Features, reference, Classifier.FeatureDim);
    }

    private static Row Score(int q, string method, int nfe, string choice, Tensor restored, Tensor clean, double[] reference, Classifier classifier)
    {
        var (features, _) = classifier.Embed(restored.cpu());
        double fid = FeatureMetrics.Fid(features, reference, Classifier.FeatureDim);
        return new Row(q, method, nfe, choice, fid, ImageReport.ClassifierKid(features, reference).Mean, ImageQuality.Psnr(clean, restored).Average());
    }

    private static void WriteFiles(List<Row> rows, string outDir, long chooseCount, long reportCount)
    {
        Directory.CreateDirectory(outDir);
        Table.WriteCsv(rows, Path.Combine(outDir, "restoration-nfe.csv"));
        var md = new StringBuilder("# Blind JPEG restoration over NFE\n\n");
        md.AppendLine($"Choices made by FID on {chooseCount} held-out images, measured on {reportCount} others. FID and KID on the classifier's features " +
                      "of the restored images against the clean ones; PSNR on [0, 1].\n");
        md.Append(Table.Markdown(rows));
        AtomicFile.WriteAllText(Path.Combine(outDir, "restoration-nfe.md"), md.ToString());
    }

    private static string Text(IEnumerable<double> levels) => string.Join(",", levels.Select(F));

    private static string F(double v) => v.ToString("0.####", CultureInfo.InvariantCulture);

    // The table of restoration-nfe.csv and restoration-nfe.md.
    private static readonly ReportTable<Row> Table = new(
    [
        Column<Row>.Of("jpeg_quality", "JPEG quality", r => r.JpegQuality),
        Column<Row>.Of("method", "method", r => r.Method),
        Column<Row>.Of("nfe", "NFE", r => r.Nfe),
        Column<Row>.Of("choice", "chosen", r => r.Choice),
        Column<Row>.Of("fid", "FID", r => r.Fid, "F2"),
        new("kid", r => r.Kid, "KID ×1000", r => ReportTable.Cell(1000 * r.Kid, "F2")),
        Column<Row>.Of("psnr", "PSNR", r => r.Psnr, "F2"),
    ]);
}
