using System.Globalization;
using Bcm.Distributed;
using Bcm.Imaging;
using Bcm.Model;
using Bcm.Plans;
using static TorchSharp.torch;

namespace Bcm.Reports;

/// <summary>
/// One PNG per seed, named <c>SEED.png</c> with six digits as EDM's <c>generate.py</c> names them, in a folder that the
/// ecosystem's FID tools read. The image of seed s is sample s of <c>bcm sample --seed 0</c> (per-sample seeds; a
/// conditional model's class is s mod the number of classes unless one is given), whatever the batch or the processes.
/// Seeds whose file is already there, decoding to an image of the model's size, are skipped, so an interrupted job
/// resumes where it stopped (every file is written atomically); a file that does not decode so (truncated, empty, another
/// image) is made again and named in the result. Under mpirun each rank takes every N-th missing seed.
/// </summary>
public static class SeedImages
{
    /// <summary>The most seeds one call may ask for (EDM's FID uses 50,000).</summary>
    public const int MaxSeeds = 1_000_000;

    /// <summary>What was done by this process.</summary>
    /// <param name="Written">Images this process wrote.</param>
    /// <param name="Skipped">Seeds whose file was already there, complete (on every process).</param>
    /// <param name="Total">Seeds asked for.</param>
    /// <param name="Broken">Files that were there but did not decode to an image of the model's size (truncated, empty, another size): made again.</param>
    public sealed record Result(int Written, int Skipped, int Total, IReadOnlyList<string>? Broken = null);

    // Whether the file of a seed is a finished image of the model's size: a file that was cut short (a killed job on a
    // disk that lost its last write, a copy that stopped) or is another image is made again, not counted as done.
    private static bool IsComplete(string path, long width, long height)
    {
        if (!File.Exists(path)) return false;
        try
        {
            ImageIO.ReadRgba(path, out int w, out int h);
            return w == width && h == height;
        }
        catch (Exception e) when (e is InvalidDataException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            return false;
        }
    }

    /// <summary>The file of <paramref name="seed"/>'s image.</summary>
    public static string FileName(long seed) => seed.ToString("D6", CultureInfo.InvariantCulture) + ".png";

    /// <summary>Seeds from text as EDM's generate.py takes them: <c>0-49999</c>, <c>0,5,10-19</c>; distinct, in the order given.</summary>
    /// <exception cref="ArgumentException">Malformed, negative, descending, or more than <see cref="MaxSeeds"/> seeds.</exception>
    public static long[] Parse(string text)
    {
        var seeds = new List<long>();
        var seen = new HashSet<long>();
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            int dash = part.IndexOf('-', 1);
            string a = dash < 0 ? part : part[..dash], b = dash < 0 ? part : part[(dash + 1)..];
            if (!long.TryParse(a, NumberStyles.None, CultureInfo.InvariantCulture, out long from) || !long.TryParse(b, NumberStyles.None, CultureInfo.InvariantCulture, out long to))
                throw new ArgumentException($"--seeds: '{part}' is not a seed or a range such as 0-49999 (seeds are integers ≥ 0)");
            if (to < from) throw new ArgumentException($"--seeds: the range '{part}' goes down; write it as {to}-{from}");
            if (to - from >= MaxSeeds || seeds.Count + (to - from + 1) > MaxSeeds)
                throw new ArgumentException($"--seeds: more than {MaxSeeds:N0} seeds; split the job");
            for (long s = from; s <= to; s++)
                if (seen.Add(s)) seeds.Add(s);
        }
        if (seeds.Count == 0) throw new ArgumentException("--seeds: no seed given (e.g. 0-49999)");
        return [.. seeds];
    }

    /// <summary>Writes the image of every seed whose file is missing from <paramref name="outDir"/>, this rank's share of them.</summary>
    public static Result Write(BcmModel model, Plan plan, IReadOnlyList<long> seeds, string outDir, int batchSize = 64, int? label = null,
        ICommunicator? job = null, IProgress<(int Done, int Of)>? progress = null)
    {
        plan.CheckGenerates();
        if (model.Network.SampleShape.Length != 3) throw new ArgumentException("per-seed PNGs are images; this model makes vectors (use bcm sample for its samples.csv)");
        if (batchSize < 1) throw new ArgumentException($"the batch size must be ≥ 1, got {batchSize}");
        int classes = model.Network.NumClasses;
        if (label is int c && (classes == 0 || c < 0 || c >= classes))
            throw new ArgumentException(classes == 0 ? "a class label was given, but the model is unconditional" : $"the class label must be in 0..{classes - 1}");
        job ??= SingleProcess.Instance;
        Directory.CreateDirectory(outDir);
        long height = model.Network.SampleShape[1], width = model.Network.SampleShape[2];
        var missing = seeds.Where(s => !IsComplete(Path.Combine(outDir, FileName(s)), width, height)).ToList();
        var broken = missing.Select(FileName).Where(f => File.Exists(Path.Combine(outDir, f))).ToList();
        var mine = missing.Where((_, i) => i % job.Size == job.Rank).ToList();
        for (int start = 0; start < mine.Count; start += batchSize)
        {
            var batch = mine.GetRange(start, Math.Min(batchSize, mine.Count - start));
            using var scope = NewDisposeScope();
            var labels = classes > 0 ? tensor(batch.Select(s => (long)(label ?? (int)(s % classes))).ToArray(), device: model.Device) : null;
            var x = PlanRunner.Run(model, zeros([batch.Count, .. model.Network.SampleShape], device: model.Device), plan, batch, labels).cpu();
            if (!x.isfinite().all().item<bool>()) throw new InvalidDataException("the model produced NaN or infinite samples (are its weights finite?)");
            for (int i = 0; i < batch.Count; i++)
                using (var img = x[i]) ImageIO.SavePng(img, Path.Combine(outDir, FileName(batch[i])));
            progress?.Report((start + batch.Count, mine.Count));
        }
        return new Result(mine.Count, seeds.Count - missing.Count, seeds.Count, broken);
    }
}
