using System.Globalization;
using System.Text;
using Bcm.Editing;
using Bcm.Imaging;
using Bcm.IO;
using Bcm.Metrics;
using Bcm.Model;
using Bcm.Tensors;
using static TorchSharp.torch;

namespace Bcm.Reports;

/// <summary>
/// Inpainting measured on a batch of held-out images: one region removed from every image, filled by BCM rounds
/// (invert to t_r, generate, paste the known pixels: 2 NFE a round), by the consistency models' rounds without inversion
/// (fresh noise to t_r, one jump down, paste: 1 NFE a round) on the same levels, and by harmonic (Laplace) filling, the
/// classical method without a model. Nothing is chosen on the measured images: the levels are given. Scores: error in
/// the filled region (RMSE on [0, 1]; known pixels are identical by construction), and with a classifier FID and KID of
/// the completed images against the clean ones and how often the classifier's prediction of the clean image is kept.
/// </summary>
public static class InpaintingReport
{
    /// <summary>One method measured on the batch.</summary>
    /// <param name="Method"><c>bcm</c>, <c>cm-rounds</c> or <c>harmonic</c>.</param>
    /// <param name="Nfe">Network evaluations per image.</param>
    /// <param name="HoleRmse">Root mean square error of the filled pixels against the clean ones, on [0, 1].</param>
    /// <param name="Psnr">Mean PSNR of the whole completed image (dB on [0, 1]).</param>
    /// <param name="Fid">FID of the completed images against the clean ones on the classifier's features (NaN without a classifier).</param>
    /// <param name="Kid">KID of the same (NaN without a classifier).</param>
    /// <param name="PredictionKept">Share of images whose classifier prediction equals that of the clean image (NaN without a classifier).</param>
    public sealed record Row(string Method, int Nfe, double HoleRmse, double Psnr, double Fid, double Kid, double PredictionKept);

    /// <summary>
    /// Fills the region where <paramref name="known"/> ([1,1,H,W]) is false in every image of <paramref name="clean"/>
    /// (in [−1, 1]) with each method and scores it; writes inpainting.csv, inpainting.md and inpainting.png (rows: clean,
    /// masked, BCM, consistency-model rounds, harmonic; first 8 images) into <paramref name="outDir"/>.
    /// </summary>
    public static List<Row> Write(BcmModel model, Classifier? classifier, Tensor clean, Tensor known, IReadOnlyList<double> levels, long seed,
        string outDir, IProgress<Row>? progress = null)
    {
        if (levels.Count == 0) throw new ArgumentException("give at least one round");
        Directory.CreateDirectory(outDir);
        using var mask = known.to(ScalarType.Bool).expand_as(clean).to(clean.device);
        long holePixels = mask.logical_not().sum().item<long>();
        if (holePixels == 0) throw new ArgumentException("the region to fill is empty");
        double[]? reference = null;
        int[]? cleanPredictions = null;
        if (classifier is not null) (reference, cleanPredictions) = classifier.Embed(clean.cpu());
        var rows = new List<Row>();
        var filled = new List<Tensor>();
        try
        {
            foreach (var (method, nfe, fill) in new (string, int, Func<Tensor>)[]
                     {
                         ("bcm", Rounds.Nfe(levels), () => Inpainting.Run(model, clean, known, levels, seed)),
                         ("cm-rounds", levels.Count, () => Inpainting.ConsistencyRounds(model, clean, known, levels, seed)),
                         ("harmonic", 0, () => Inpainting.Harmonic(clean, known)),
                     })
            {
                var result = fill();
                filled.Add(result);
                var row = Score(method, nfe, result, clean, mask, holePixels, classifier, reference, cleanPredictions);
                rows.Add(row);
                progress?.Report(row);
            }
            int k = (int)Math.Min(8, clean.shape[0]);
            using var masked = where(mask, clean, ScalarMath.FullLike(clean, -1));
            using var strip = cat([clean[..k].cpu(), masked[..k].cpu(), .. filled.Select(f => f[..k].cpu())], 0);
            ImageIO.SaveGrid(strip, Path.Combine(outDir, "inpainting.png"), columns: k);
        }
        finally
        {
            foreach (var f in filled) f.Dispose();
        }
        WriteFiles(rows, outDir, clean.shape[0], holePixels / (double)(clean.shape[0] * clean.shape[1]), levels);
        return rows;
    }

    private static Row Score(string method, int nfe, Tensor result, Tensor clean, Tensor mask, long holePixels, Classifier? classifier,
        double[]? reference, int[]? cleanPredictions)
    {
        double holeRmse;
        using (var scope = NewDisposeScope())
        {
            var diff = where(mask, ScalarMath.FullLike(clean, 0), (result - clean).Over(2)); // [0, 1] units
            holeRmse = Math.Sqrt(diff.Squared().sum().item<float>() / holePixels);
        }
        double psnr = ImageQuality.Psnr(clean, result).Average();
        if (classifier is null) return new Row(method, nfe, holeRmse, psnr, double.NaN, double.NaN, double.NaN);
        var (features, predictions) = classifier.Embed(result.cpu());
        double fid = FeatureMetrics.Fid(features, reference!, Classifier.FeatureDim);
        double kept = predictions.Zip(cleanPredictions!, (a, b) => a == b ? 1.0 : 0.0).Average();
        return new Row(method, nfe, holeRmse, psnr, fid, ImageReport.ClassifierKid(features, reference!).Mean, kept);
    }

    private static void WriteFiles(List<Row> rows, string outDir, long images, double holePixelsPerImage, IReadOnlyList<double> levels)
    {
        Table.WriteCsv(rows, Path.Combine(outDir, "inpainting.csv"));
        string levelText = string.Join(",", levels.Select(l => l.ToString("0.####", CultureInfo.InvariantCulture)));
        var md = new StringBuilder("# Inpainting\n\n");
        md.AppendLine($"{images} images, {holePixelsPerImage:F0} unknown pixels each; rounds at levels {levelText} (BCM 2 NFE a round, " +
                      "consistency-model rounds 1 NFE a round), harmonic filling without a model. RMSE of the filled pixels on [0, 1]; " +
                      "FID and KID on the classifier's features of the completed images against the clean ones; \"kept\": the classifier " +
                      "predicts the same class as for the clean image.\n");
        md.Append(Table.Markdown(rows));
        md.AppendLine("\nImage rows: clean, masked, BCM, consistency-model rounds, harmonic.");
        AtomicFile.WriteAllText(Path.Combine(outDir, "inpainting.md"), md.ToString());
    }

    // The table of inpainting.csv and inpainting.md.
    private static readonly ReportTable<Row> Table = new(
    [
        Column<Row>.Of("method", "method", r => r.Method),
        Column<Row>.Of("nfe", "NFE", r => r.Nfe),
        Column<Row>.Of("hole_rmse", "hole RMSE", r => r.HoleRmse, "F4"),
        Column<Row>.Of("psnr", "PSNR", r => r.Psnr, "F2"),
        Column<Row>.Of("fid", "FID", r => r.Fid, "F2"),
        new("kid", r => r.Kid, "KID ×1000", r => ReportTable.Cell(1000 * r.Kid, "F2")),
        Column<Row>.Of("prediction_kept", "prediction kept", r => r.PredictionKept, "P1"),
    ]);
}
