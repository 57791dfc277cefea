using System.Globalization;
using System.Text;
using Bcm.Distributed;
using Bcm.Editing;
using Bcm.Imaging;
using Bcm.Metrics;
using Bcm.Model;
using static TorchSharp.torch;

namespace Bcm.Reports;

/// <summary>
/// Blind JPEG restoration measured on a batch of clean images (method §6): each is JPEG-compressed at every quality,
/// restored by zigzag rounds without knowing the degradation, and scored by PSNR against the clean image, beside the
/// trivial baseline (a Gaussian blur, given its best width on these very images: generous to it).
/// Writes restoration.csv and, per quality, a strip of clean / JPEG / restored rows.
/// </summary>
public static class RestorationReport
{
    /// <summary>PSNR of each image before and after restoration (dB on [0, 1]), and the statistics of the gain.</summary>
    public sealed record PsnrChange(double[] PsnrBefore, double[] PsnrAfter)
    {
        /// <summary>PSNR after minus before, per image (dB).</summary>
        public double[] Gains => PsnrAfter.Zip(PsnrBefore, (after, before) => after - before).ToArray();
        /// <summary>Mean PSNR gain (dB).</summary>
        public double MeanGain => Gains.Average();
        /// <summary>Standard error of the mean gain.</summary>
        public double GainStandardError
        {
            get
            {
                var gains = Gains;
                double mean = gains.Average();
                return gains.Length < 2 ? 0 : Math.Sqrt(gains.Sum(g => (g - mean) * (g - mean)) / (gains.Length - 1) / gains.Length);
            }
        }
        /// <summary>Share of images whose PSNR went up.</summary>
        public double ImprovedFraction => Gains.Count(g => g > 0) / (double)PsnrAfter.Length;
    }

    /// <summary>PSNR of each image before and after restoration, with the degraded and restored batches.</summary>
    public sealed record Measurement(double[] PsnrBefore, double[] PsnrAfter, Tensor Degraded, Tensor Restored) : IDisposable
    {
        /// <summary>The PSNR change of this measurement.</summary>
        public PsnrChange Change => new(PsnrBefore, PsnrAfter);

        /// <summary>Frees the degraded and restored batches.</summary>
        public void Dispose()
        {
            Degraded.Dispose();
            Restored.Dispose();
        }
    }

    /// <summary>One row of restoration.csv: a JPEG quality, the restoration's PSNR before/after and the blur baseline's best.</summary>
    public sealed record Row(int JpegQuality, int Images, double PsnrBefore, double PsnrAfter, double Gain, double GainStandardError,
        double ImprovedFraction, double BlurSigma, double BlurPsnr);

    /// <summary>Blur widths (pixels) the baseline may choose from.</summary>
    public static readonly double[] BlurSigmas = [0.5, 0.75, 1.0];

    /// <summary>JPEG-degrades clean images at <paramref name="quality"/>, restores them blindly and measures PSNR before and after.</summary>
    public static Measurement Measure(BcmModel model, Tensor clean, int quality, IReadOnlyList<double>? levels = null, long seed = 0, Tensor? labels = null)
    {
        var degraded = ImageIO.JpegDegrade(clean, quality);
        var restored = Restoration.Run(model, degraded, levels, seed, labels);
        return new Measurement(ImageQuality.Psnr(clean, degraded), ImageQuality.Psnr(clean, restored), degraded, restored);
    }

    /// <summary>
    /// Measures every quality in <paramref name="qualities"/> on <paramref name="clean"/>; writes restoration.csv and
    /// strips to <paramref name="outDir"/>. Under MPI (every rank of <paramref name="comm"/> calling it with the same
    /// images) each rank restores its share, per-image PSNRs are gathered, and rank 0 alone writes and gets the rows
    /// (other ranks get an empty list).
    /// </summary>
    public static List<Row> Write(BcmModel model, Tensor clean, IReadOnlyList<int> qualities, IReadOnlyList<double> levels, long seed, Tensor? labels,
        string outDir, IProgress<Row>? progress = null, ICommunicator? comm = null)
    {
        comm ??= SingleProcess.Instance;
        bool lead = comm.Rank == 0;
        if (lead) Directory.CreateDirectory(outDir);
        int n = (int)clean.shape[0];
        var (first, share) = Sharded.Share(n, comm.Rank, comm.Size);
        using var mine = clean.narrow(0, first, share);
        using var myLabels = labels?.narrow(0, first, share);
        var rows = new List<Row>();
        foreach (var q in qualities)
        {
            using var m = Measure(model, mine, q, levels, seed + first, myLabels); // image i has seed seed + i on any rank
            var blurred = BlurSigmas.Select(sigma =>
            {
                using var smoothed = Filters.GaussianBlur(m.Degraded, sigma);
                return ImageQuality.Psnr(mine, smoothed);
            });
            var columns = Sharded.GatherColumns(comm, n, [m.PsnrBefore, m.PsnrAfter, .. blurred]);
            if (columns is null) continue; // not rank 0
            var all = new PsnrChange(columns[0], columns[1]); // every rank's images
            var (blur, blurPsnr) = BlurSigmas.Select((sigma, i) => (sigma, columns[2 + i].Average())).MaxBy(p => p.Item2);
            var row = new Row(q, n, all.PsnrBefore.Average(), all.PsnrAfter.Average(), all.MeanGain, all.GainStandardError, all.ImprovedFraction, blur, blurPsnr);
            rows.Add(row);
            progress?.Report(row);
            int k = Math.Min(8, share);
            using var strip = cat([mine[..k].cpu(), m.Degraded[..k].cpu(), m.Restored[..k].cpu()], 0);
            ImageIO.SaveGrid(strip, Path.Combine(outDir, $"restoration-q{q}.png"), columns: k);
        }
        if (!lead) return rows;
        string levelList = string.Join(",", levels.Select(l => l.ToString(CultureInfo.InvariantCulture)));
        new ReportTable<Row>(
        [
            Column<Row>.Of("jpeg_quality", null, r => r.JpegQuality),
            Column<Row>.Of("images", null, r => r.Images),
            Column<Row>.Of("levels", null, _ => levelList),
            Column<Row>.Of("nfe", null, _ => Rounds.Nfe(levels)),
            Column<Row>.Of("psnr_before", null, r => r.PsnrBefore),
            Column<Row>.Of("psnr_after", null, r => r.PsnrAfter),
            Column<Row>.Of("gain", null, r => r.Gain),
            Column<Row>.Of("gain_stderr", null, r => r.GainStandardError),
            Column<Row>.Of("improved_fraction", null, r => r.ImprovedFraction),
            Column<Row>.Of("smoothing_sigma", null, r => r.BlurSigma),
            Column<Row>.Of("psnr_smoothing", null, r => r.BlurPsnr),
        ], "F3").WriteCsv(rows, Path.Combine(outDir, "restoration.csv"));
        return rows;
    }
}
