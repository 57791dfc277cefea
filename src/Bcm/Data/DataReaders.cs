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
        return Inflating(name, () => DigitsCsvLines(IO.InputFile.Bounded(MaybeGunzip(raw), MaxCsvBytes, name, "digits CSV"), name));
    }

    // Runs a read through a (possibly) decompressing stream: the gzip reader's own errors, which name no file, are
    // reported as damaged gzip data of path; this reader's errors (they start with the path) and a stop at a cap pass as they are.
    private static T Inflating<T>(string path, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (InvalidDataException e) when (!IO.InputFile.IsOverCap(e) && !e.Message.StartsWith(path, StringComparison.Ordinal))
        {
            throw new InvalidDataException($"{path}: damaged gzip data ({e.Message})", e);
        }
    }

    private static ImageDataset DigitsCsvLines(Stream stream, string name)
    {
        using var reader = new StreamReader(stream);
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
        // The header is read first; the data that follows is read only as far as the header's dimensions times one
        // byte, counted as it inflates, so neither a gzip bomb nor an absurd header allocates more than the file holds.
        using var file = OpenExisting(imagesPath);
        using var stream = MaybeGunzip(file);
        var head = ReadHeader(stream, imagesPath, 16, 0x00000803, "image");
        int n = Dimension(head, 4, imagesPath, "image count"), rows = Dimension(head, 8, imagesPath, "row count"), cols = Dimension(head, 12, imagesPath, "column count");
        long size = (long)n * rows * cols;
        if (size > MaxDataBytes)
            throw new InvalidDataException($"{imagesPath}: the header announces {n:N0} images of {rows}x{cols} ({size:N0} bytes), more than the {MaxDataBytes:N0} bytes this tool loads");
        var pixels = ReadExactly(stream, size, imagesPath);
        int[]? labels = null;
        if (labelsPath is not null)
        {
            using var labelFile = OpenExisting(labelsPath);
            using var labelStream = MaybeGunzip(labelFile);
            var labelHead = ReadHeader(labelStream, labelsPath, 8, 0x00000801, "label");
            int ln = BinaryPrimitives.ReadInt32BigEndian(labelHead.AsSpan(4));
            if (ln != n) throw new InvalidDataException($"{labelsPath}: {ln} labels for {n} images in {imagesPath}");
            labels = ReadExactly(labelStream, n, labelsPath).Select(b => (int)b).ToArray();
        }
        return new ImageDataset(name, pixels, n, 1, rows, cols, labels, labels is null ? 0 : 10);
    }

    /// <summary>The most pixel bytes an IDX file may announce (512 MiB: ten times MNIST's training set of 47 MB, some 680,000 images of 28x28); a header that announces more is refused before any is read.</summary>
    public const long MaxDataBytes = 512L << 20;

    private static byte[] ReadHeader(Stream stream, string path, int length, int magic, string kind)
    {
        var head = new byte[length];
        bool whole = Inflating(path, () => stream.ReadAtLeast(head, length, throwOnEndOfStream: false) == length);
        if (!whole || BinaryPrimitives.ReadInt32BigEndian(head) != magic)
            throw new InvalidDataException($"{path}: not an IDX {kind} file (magic 0x{magic:X8} and a {length}-byte header expected)");
        return head;
    }

    private static int Dimension(byte[] head, int offset, string path, string what)
    {
        int value = BinaryPrimitives.ReadInt32BigEndian(head.AsSpan(offset));
        if (value < 1) throw new InvalidDataException($"{path}: the IDX header's {what} is {value}; it must be at least 1");
        return value;
    }

    // Exactly count bytes of the stream (the rest, if any, is not read); memory grows with the bytes actually read, so
    // a header that announces more than the file holds is reported as truncated without allocating what it announced.
    private static byte[] ReadExactly(Stream stream, long count, string path)
    {
        using var buffer = new MemoryStream();
        var chunk = new byte[1 << 16];
        while (buffer.Length < count)
        {
            int read = Inflating(path, () => stream.Read(chunk, 0, (int)Math.Min(chunk.Length, count - buffer.Length)));
            if (read == 0) throw new InvalidDataException($"{path}: truncated: the header announces {count:N0} data bytes, the file holds {buffer.Length:N0}");
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }

    /// <summary>CIFAR-10 binary batches: records of 1 label byte and 3072 pixel bytes (R, G, B planes of 32x32).</summary>
    public static ImageDataset CifarBinary(IReadOnlyList<string> files, string name)
    {
        const int record = 1 + 3072;
        var pixels = new List<byte>();
        var labels = new List<int>();
        foreach (var file in files)
        {
            byte[] data = ReadAll(file, CifarBatchBytes);
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

    /// <summary>
    /// Reads a folder of PNG/JPEG images, resized to size × size with <paramref name="channels"/> channels. A folder whose
    /// images all sit in subfolders is labelled: one subfolder per class, the classes sorted by name (ordinal), label i
    /// for the i-th (<see cref="ImageDataset.ClassNames"/>); a flat folder is unlabelled. With a held-out
    /// <paramref name="testFraction"/> above 0, an image is in the test split when the SHA-256 of its path relative to the
    /// folder, read as a number in [0, 1), is below the fraction: the same images whatever the machine or the order of the
    /// files, and a file added later does not move the others. <paramref name="test"/> selects that split, else the rest.
    /// </summary>
    /// <exception cref="InvalidDataException">No images; images beside class folders; an empty class folder; a class folder
    /// that is a link (a link can loop); a split with no image.</exception>
    public static ImageDataset ImageFolder(string folder, int channels, int size, double testFraction = 0, bool test = false)
    {
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"{folder}: no such folder");
        if (testFraction is < 0 or >= 1 || double.IsNaN(testFraction)) throw new ArgumentException($"{folder}: the held-out fraction must be in [0, 1), got {testFraction}");
        var top = ImageFiles(folder);
        var classDirs = Directory.EnumerateDirectories(folder).Where(d => !Path.GetFileName(d).StartsWith('.')).Order(StringComparer.Ordinal).ToList();
        string[]? classes = null;
        var files = new List<(string Path, int Label)>();
        if (top.Count > 0 || classDirs.Count == 0)
        {
            if (top.Count > 0 && classDirs.Any(d => new DirectoryInfo(d).LinkTarget is null && ImageFiles(d).Count > 0))
                throw new InvalidDataException($"{folder}: holds images and class folders with images; put every image in a class folder (a labelled data set), or none (unlabelled)");
            files.AddRange(top.Select(f => (f, 0)));
        }
        else
        {
            classes = classDirs.Select(d => Path.GetFileName(d)).ToArray();
            for (int c = 0; c < classDirs.Count; c++)
            {
                if (new DirectoryInfo(classDirs[c]).LinkTarget is not null)
                    throw new InvalidDataException($"{classDirs[c]}: the class folder is a link; class folders must be real folders (a link can loop or lead out of the data set)");
                var inClass = ImageFiles(classDirs[c]);
                if (inClass.Count == 0) throw new InvalidDataException($"{classDirs[c]}: the class folder '{classes[c]}' holds no .png, .jpg or .jpeg images; remove it or add its images");
                files.AddRange(inClass.Select(f => (f, c)));
            }
        }
        if (files.Count == 0) throw new InvalidDataException($"{folder}: no .png, .jpg or .jpeg images");
        if (testFraction > 0)
        {
            files = files.Where(f => IsHeldOut(Path.GetRelativePath(folder, f.Path), testFraction) == test).ToList();
            if (files.Count == 0)
                throw new InvalidDataException($"{folder}: the {(test ? "test" : "training")} split at a held-out fraction of {testFraction} holds no image; use more images or another fraction");
        }
        var pixels = new byte[(long)files.Count * channels * size * size];
        for (int i = 0; i < files.Count; i++)
        {
            var img = Imaging.ImageIO.ReadPixels(files[i].Path, channels, size, resize: true);
            img.CopyTo(pixels, (long)i * img.Length);
        }
        string name = folder + (testFraction > 0 ? test ? " (test)" : " (training)" : "");
        return classes is null
            ? new ImageDataset(name, pixels, files.Count, channels, size, size, null, 0)
            : new ImageDataset(name, pixels, files.Count, channels, size, size, files.Select(f => f.Label).ToArray(), classes.Length) { ClassNames = classes };
    }

    /// <summary>Whether the image at <paramref name="relativePath"/> (relative to its data set's folder) is held out at <paramref name="fraction"/>.</summary>
    public static bool IsHeldOut(string relativePath, double fraction)
    {
        var hash = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(relativePath.Replace('\\', '/')));
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(hash) / 18446744073709551616.0 < fraction;
    }

    private static List<string> ImageFiles(string folder) => Directory.EnumerateFiles(folder)
        .Where(f => f.EndsWith(".png", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".jpg", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".jpeg", StringComparison.OrdinalIgnoreCase))
        .Order(StringComparer.Ordinal).ToList();

    // A CIFAR-10 batch holds 10,000 records (30.7 MB); a file may hold up to 8 batches' worth.
    private const long CifarBatchBytes = 8 * 10_000L * (1 + 3072);

    /// <summary>The most bytes a digits CSV may hold once inflated (64 MiB, some 380,000 images; the UCI file is 300 KB).</summary>
    public const long MaxCsvBytes = 64L << 20;

    private static Stream OpenExisting(string path) => IO.InputFile.OpenRead(path, "data file");

    private static byte[] ReadAll(string path, long maxBytes)
    {
        using var file = OpenExisting(path);
        return Inflating(path, () => IO.InputFile.ReadAll(MaybeGunzip(file), maxBytes, path, "data file"));
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
