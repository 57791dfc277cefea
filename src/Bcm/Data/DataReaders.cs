using System.Buffers.Binary;
using System.Globalization;
using System.IO.Compression;
using System.Text.RegularExpressions;

namespace Bcm.Data;

/// <summary>Readers of the data formats the project supports; each validates its input and names the file at fault.</summary>
public static partial class DataReaders
{
    /// <summary>The built-in UCI 8x8 digits (1,797 images, values 0..16, labels), shipped inside the library.</summary>
    public static ImageDataset BuiltInDigits()
    {
        using var stream = typeof(DataReaders).Assembly.GetManifestResourceStream("Bcm.Data.Resources.digits.csv.gz")
            ?? throw new InvalidOperationException("the built-in digits resource is missing from the assembly");
        return DigitsCsv(stream, "digits (built-in)");
    }

    /// <summary>The UCI digits CSV (65 integer columns: 64 pixels row-major, then the label), plain or gzip.</summary>
    public static ImageDataset DigitsCsv(string path)
    {
        using var file = OpenExisting(path);
        return DigitsCsv(file, path);
    }

    private static ImageDataset DigitsCsv(Stream raw, string name)
    {
        using var reader = new StreamReader(MaybeGunzip(raw));
        var pixels = new List<byte>();
        var labels = new List<int>();
        int lineNo = 0;
        while (reader.ReadLine() is { } line)
        {
            lineNo++;
            if (line.Length == 0) continue;
            var cols = line.Split(',');
            if (cols.Length != 65) throw new InvalidDataException($"{name}: line {lineNo} has {cols.Length} columns, expected 65 (64 pixels and a label)");
            for (int i = 0; i < 64; i++)
            {
                if (!int.TryParse(cols[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) || v is < 0 or > 16)
                    throw new InvalidDataException($"{name}: line {lineNo}, column {i + 1}: '{cols[i]}' is not a pixel value in 0..16");
                pixels.Add((byte)v);
            }
            if (!int.TryParse(cols[64], NumberStyles.Integer, CultureInfo.InvariantCulture, out int label) || label is < 0 or > 9)
                throw new InvalidDataException($"{name}: line {lineNo}: label '{cols[64]}' is not a digit 0..9");
            labels.Add(label);
        }
        if (labels.Count == 0) throw new InvalidDataException($"{name}: no images");
        return new ImageDataset(name, pixels.ToArray(), labels.Count, 1, 8, 8, labels.ToArray(), 10, maxValue: 16);
    }

    /// <summary>MNIST-style IDX files (images 0x00000803, labels 0x00000801), gzip or raw.</summary>
    public static ImageDataset Idx(string imagesPath, string? labelsPath, string name)
    {
        byte[] images = ReadAll(imagesPath);
        if (images.Length < 16 || BinaryPrimitives.ReadInt32BigEndian(images) != 0x00000803)
            throw new InvalidDataException($"{imagesPath}: not an IDX image file (magic 0x00000803 expected)");
        int n = BinaryPrimitives.ReadInt32BigEndian(images.AsSpan(4));
        int rows = BinaryPrimitives.ReadInt32BigEndian(images.AsSpan(8));
        int cols = BinaryPrimitives.ReadInt32BigEndian(images.AsSpan(12));
        long expected = 16L + (long)n * rows * cols;
        if (images.Length < expected) throw new InvalidDataException($"{imagesPath}: truncated: {images.Length} bytes, the header announces {expected}");
        var pixels = images.AsSpan(16, n * rows * cols).ToArray();
        int[]? labels = null;
        if (labelsPath is not null)
        {
            byte[] lab = ReadAll(labelsPath);
            if (lab.Length < 8 || BinaryPrimitives.ReadInt32BigEndian(lab) != 0x00000801)
                throw new InvalidDataException($"{labelsPath}: not an IDX label file (magic 0x00000801 expected)");
            int ln = BinaryPrimitives.ReadInt32BigEndian(lab.AsSpan(4));
            if (ln != n) throw new InvalidDataException($"{labelsPath}: {ln} labels for {n} images in {imagesPath}");
            if (lab.Length < 8 + n) throw new InvalidDataException($"{labelsPath}: truncated");
            labels = lab.AsSpan(8, n).ToArray().Select(b => (int)b).ToArray();
        }
        return new ImageDataset(name, pixels, n, 1, rows, cols, labels, labels is null ? 0 : 10);
    }

    /// <summary>CIFAR-10 binary batches: records of 1 label byte and 3072 pixel bytes (R, G, B planes of 32x32).</summary>
    public static ImageDataset CifarBinary(IReadOnlyList<string> files, string name)
    {
        const int record = 1 + 3072;
        var pixels = new List<byte>();
        var labels = new List<int>();
        foreach (var file in files)
        {
            byte[] data = ReadAll(file);
            if (data.Length == 0 || data.Length % record != 0)
                throw new InvalidDataException($"{file}: {data.Length} bytes is not a whole number of CIFAR-10 records of {record} bytes");
            for (int off = 0; off < data.Length; off += record)
            {
                if (data[off] > 9) throw new InvalidDataException($"{file}: label {data[off]} at byte {off} is not a CIFAR-10 class");
                labels.Add(data[off]);
                pixels.AddRange(data.AsSpan(off + 1, 3072).ToArray());
            }
        }
        return new ImageDataset(name, pixels.ToArray(), labels.Count, 3, 32, 32, labels.ToArray(), 10);
    }

    /// <summary>
    /// The CIFAR-10 subset sprites of ../shared/data/cifar10-subset: PNG sheets 1024x1000 where row k holds one 32x32
    /// image row-major (one sprite pixel per image pixel), with labels from cifar10_labels.js. Sheets 0..3 are training images 0..3999, sheet 50 the first 1,000 test images.
    /// </summary>
    public static ImageDataset CifarSprites(string folder, bool test = false)
    {
        var sheets = test ? new[] { 50 } : new[] { 0, 1, 2, 3 };
        string labelsPath = Path.Combine(folder, "cifar10_labels.js");
        var allLabels = LabelRegex().Matches(File.Exists(labelsPath) ? File.ReadAllText(labelsPath) : throw new FileNotFoundException($"{labelsPath}: labels file missing"))
            .Select(m => int.Parse(m.Value, CultureInfo.InvariantCulture)).ToArray();
        var pixels = new List<byte>();
        var labels = new List<int>();
        foreach (int sheet in sheets)
        {
            string path = Path.Combine(folder, $"cifar10_batch_{sheet}.png");
            var rgba = Imaging.ImageIO.ReadRgba(path, out int width, out int height);
            if (width != 1024 || height != 1000)
                throw new InvalidDataException($"{path}: {width}x{height}, expected a 1024x1000 sprite sheet");
            for (int row = 0; row < 1000; row++)
            {
                // Sprite pixel p of row k is pixel p (row-major) of image k; stored here as C, H, W planes.
                for (int c = 0; c < 3; c++)
                    for (int p = 0; p < 1024; p++)
                        pixels.Add(rgba[(row * 1024 + p) * 4 + c]);
                int index = test ? 50000 + row : sheet * 1000 + row;
                if (index >= allLabels.Length) throw new InvalidDataException($"{labelsPath}: no label for image {index}");
                labels.Add(allLabels[index]);
            }
        }
        return new ImageDataset(test ? "cifar10-subset (test)" : "cifar10-subset", pixels.ToArray(), labels.Count, 3, 32, 32, labels.ToArray(), 10);
    }

    /// <summary>Every PNG/JPEG in a folder (sorted by name), converted to the given channel count and resized to a square size.</summary>
    public static ImageDataset ImageFolder(string folder, int channels, int size)
    {
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"{folder}: no such folder");
        var files = Directory.EnumerateFiles(folder)
            .Where(f => f.EndsWith(".png", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".jpg", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".jpeg", StringComparison.OrdinalIgnoreCase))
            .OrderBy(f => f, StringComparer.Ordinal).ToList();
        if (files.Count == 0) throw new InvalidDataException($"{folder}: no .png, .jpg or .jpeg images");
        var pixels = new byte[files.Count * channels * size * size];
        for (int i = 0; i < files.Count; i++)
        {
            var img = Imaging.ImageIO.ReadPixels(files[i], channels, size, resize: true);
            img.CopyTo(pixels, (long)i * img.Length);
        }
        return new ImageDataset(folder, pixels, files.Count, channels, size, size, null, 0);
    }

    private static Stream OpenExisting(string path) =>
        File.Exists(path) ? File.OpenRead(path) : throw new FileNotFoundException($"{path}: no such file");

    private static byte[] ReadAll(string path)
    {
        using var file = OpenExisting(path);
        using var stream = MaybeGunzip(file);
        using var ms = new MemoryStream();
        try
        {
            stream.CopyTo(ms);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{path}: damaged gzip data ({e.Message})", e);
        }
        return ms.ToArray();
    }

    // Looks at the first two bytes: 1f 8b is gzip.
    private static Stream MaybeGunzip(Stream raw)
    {
        if (!raw.CanSeek) throw new InvalidOperationException("stream must be seekable");
        long start = raw.Position;
        Span<byte> magic = stackalloc byte[2];
        int read = raw.ReadAtLeast(magic, 2, throwOnEndOfStream: false);
        raw.Position = start;
        return read == 2 && magic[0] == 0x1f && magic[1] == 0x8b ? new GZipStream(raw, CompressionMode.Decompress) : raw;
    }

    [GeneratedRegex(@"\d+")]
    private static partial Regex LabelRegex();
}
