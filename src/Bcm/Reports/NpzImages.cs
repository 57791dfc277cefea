using System.Buffers.Binary;
using System.IO.Compression;
using Bcm.Distributed;
using Bcm.Imaging;
using Bcm.Model;
using Bcm.Plans;

namespace Bcm.Reports;

/// <summary>
/// <c>bcm sample --npz FILE</c>: the images of a list of seeds as the ADM evaluator (guided-diffusion's
/// <c>evaluations/evaluator.py</c>, used by the consistency-model papers) reads them: a NumPy <c>.npz</c> whose
/// <c>arr_0</c> is uint8 [N, H, W, C] (NHWC) and, for a class-conditional model, <c>arr_1</c> the int64 labels. The images
/// are made as <see cref="SeedImages"/> makes them, one PNG per seed in <c>FILE.seeds/</c> (resumable after an
/// interruption, split over mpirun's ranks), then read back one at a time into the archive, so neither the job nor the
/// file's assembly holds more than a batch in memory; the archive is written to a temporary file and renamed.
/// </summary>
public static class NpzImages
{
    /// <summary>What was written.</summary>
    /// <param name="Path">The .npz.</param>
    /// <param name="Images">Images in it.</param>
    /// <param name="Seeds">The per-seed pass (skipped, written, broken files made again).</param>
    public sealed record Result(string Path, int Images, SeedImages.Result Seeds);

    /// <summary>The folder of per-seed PNGs behind <paramref name="npz"/>.</summary>
    public static string SeedFolder(string npz) => npz + ".seeds";

    /// <summary>Makes the images of <paramref name="seeds"/> missing from the seed folder, then (rank 0) writes <paramref name="npz"/>.</summary>
    /// <exception cref="ArgumentException">The file name does not end in .npz, or as <see cref="SeedImages.Write"/>.</exception>
    public static Result Write(BcmModel model, Plan plan, IReadOnlyList<long> seeds, string npz, int batchSize = 64, int? label = null,
        ICommunicator? job = null, IProgress<(int Done, int Of)>? progress = null)
    {
        if (!npz.EndsWith(".npz", StringComparison.OrdinalIgnoreCase)) throw new ArgumentException($"{npz}: the ADM evaluator's file is a .npz; give a name ending in .npz");
        if (Directory.Exists(npz)) throw new ArgumentException($"{npz}: a folder; give the name of the .npz file to write");
        job ??= SingleProcess.Instance;
        var made = SeedImages.Write(model, plan, seeds, SeedFolder(npz), batchSize, label, job, progress);
        job.Barrier(); // every rank's share is on disk before rank 0 reads them
        if (job.Rank != 0) return new Result(npz, seeds.Count, made);
        var shape = model.Network.SampleShape;
        int classes = model.Network.NumClasses;
        long[]? labels = classes > 0 ? seeds.Select(s => (long)(label ?? (int)(s % classes))).ToArray() : null;
        Assemble(npz, SeedFolder(npz), seeds, (int)shape[0], (int)shape[1], (int)shape[2], labels);
        return new Result(npz, seeds.Count, made);
    }

    /// <summary>Writes the .npz from the seed folder's PNGs, in the order of <paramref name="seeds"/> (atomically).</summary>
    public static void Assemble(string npz, string folder, IReadOnlyList<long> seeds, int channels, int height, int width, long[]? labels)
    {
        string full = System.IO.Path.GetFullPath(npz);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        string temp = full + $".{Environment.ProcessId}.tmp";
        try
        {
            using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
            using (var zip = new ZipArchive(stream, ZipArchiveMode.Create))
            {
                // np.savez stores its arrays uncompressed (ZIP_STORED), as the evaluator's readers expect.
                using (var entry = zip.CreateEntry("arr_0.npy", CompressionLevel.NoCompression).Open())
                {
                    entry.Write(IO.NpyFormat.Header("|u1", [seeds.Count, height, width, channels]));
                    var row = new byte[height * width * channels];
                    foreach (long seed in seeds)
                    {
                        var pixels = ImageIO.ReadPixels(System.IO.Path.Combine(folder, SeedImages.FileName(seed)), channels, height, resize: false);
                        for (int c = 0; c < channels; c++)
                            for (int p = 0; p < height * width; p++) row[p * channels + c] = pixels[c * height * width + p]; // CHW → HWC
                        entry.Write(row);
                    }
                }
                if (labels is not null)
                {
                    using var entry = zip.CreateEntry("arr_1.npy", CompressionLevel.NoCompression).Open();
                    entry.Write(IO.NpyFormat.Header("<i8", [labels.Length]));
                    var bytes = new byte[8 * labels.Length];
                    for (int i = 0; i < labels.Length; i++) BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(8 * i), labels[i]);
                    entry.Write(bytes);
                }
            }
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }
}
