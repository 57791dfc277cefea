using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;

namespace Bcm.Data;

/// <summary>
/// Resolves a data specification to a data set, downloading MNIST, Fashion-MNIST and CIFAR-10 from their canonical
/// locations (with md5 verification) when the files are absent. Forms:
/// <c>digits</c> (built in), <c>digits:FILE.csv[.gz]</c>, <c>mnist[:DIR]</c>, <c>fashion-mnist[:DIR]</c>,
/// <c>cifar10[:DIR]</c> (binary batches), <c>cifar10-subset:DIR</c> (the PNG sprites), <c>folder:DIR</c> or a folder path.
/// </summary>
public static class DataSources
{
    /// <summary>The data specifications, as the CLI's help lists them.</summary>
    public const string Help =
        "digits (built-in UCI 8x8 digits), digits:FILE.csv[.gz], mnist[:DIR], fashion-mnist[:DIR], cifar10[:DIR], " +
        "cifar10-subset:DIR, folder:DIR (PNG/JPEG; one subfolder per class for labels; folder:DIR?test=0.1 holds out a tenth, chosen from the file names); append @test for the test split (e.g. mnist:DIR@test, folder:DIR?test=0.1@test)";

    /// <summary>Files and their md5 as published by the authors (and checked by torchvision).</summary>
    public static readonly IReadOnlyDictionary<string, (string[] Mirrors, (string File, string Md5)[] Files)> Known =
        new Dictionary<string, (string[], (string, string)[])>
        {
            ["mnist"] = (["https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"],
            [
                ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
                ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
                ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
                ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
            ]),
            ["fashion-mnist"] = (["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
            [
                ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
                ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
                ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
                ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
            ]),
            ["cifar10"] = (["https://www.cs.toronto.edu/~kriz/"], [("cifar-10-binary.tar.gz", "c32a1d4ab5d03f1284b67883e8d87530")]),
        };

    /// <summary>Default download folder: $BCM_DATA, else ~/.cache/bcm/NAME.</summary>
    public static string DefaultFolder(string name) =>
        Path.Combine(Environment.GetEnvironmentVariable("BCM_DATA") is { Length: > 0 } root
            ? root
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "bcm"), name);

    /// <summary>Vectors drawn from a named mixture when no size is given.</summary>
    public const int DefaultMixtureSize = 65_536;

    /// <summary>
    /// The training set a specification names, for a network whose samples have shape <paramref name="sampleShape"/>:
    /// images (any form of <see cref="Load"/>) or <c>mixture:NAME</c> (<see cref="GaussianMixture.Named"/>, a fixed sample
    /// of <paramref name="limit"/> vectors, default <see cref="DefaultMixtureSize"/>). <paramref name="limit"/> &gt; 0 keeps the first N.
    /// </summary>
    public static ITrainingData LoadForTraining(string spec, long[] sampleShape, int limit = 0, IProgress<string>? log = null)
    {
        if (GaussianMixture.IsSpec(spec))
        {
            var set = GaussianMixture.FromSpec(spec).ToDataset(limit > 0 ? limit : DefaultMixtureSize);
            set.CheckShape(sampleShape);
            return set;
        }
        if (sampleShape.Length != 3)
            throw new ArgumentException($"data '{spec}' holds images, the network takes vectors of shape [{string.Join(", ", sampleShape)}]: use {GaussianMixture.Help}");
        var images = Load(spec, (int)sampleShape[0], (int)sampleShape[^1], log);
        return limit > 0 ? images.Take(limit) : images;
    }

    /// <summary>Sources that come with a test split (<c>SPEC@test</c>).</summary>
    public static readonly IReadOnlySet<string> WithTestSplit = new HashSet<string> { "mnist", "fashion-mnist", "cifar10", "cifar10-subset" };

    /// <summary>The kind of source a spec names (<c>mnist</c> for <c>mnist:DIR@test</c>), used to name files made for it.</summary>
    public static string Kind(string spec)
    {
        if (spec.EndsWith("@test", StringComparison.Ordinal)) spec = spec[..^"@test".Length];
        int colon = spec.IndexOf(':');
        return colon < 0 ? spec : spec[..colon];
    }

    /// <summary>The spec of the test split of <paramref name="spec"/>, or null when its source has none (built-in digits, folders without a held-out fraction).</summary>
    public static string? TestSplit(string spec) =>
        !HasTestSplit(spec) ? null : spec.EndsWith("@test", StringComparison.Ordinal) ? spec : spec + "@test";

    /// <summary>Whether <paramref name="spec"/>'s source has a test split: the known data sets, and a folder given a held-out fraction (<c>folder:DIR?test=F</c>).</summary>
    public static bool HasTestSplit(string spec) => WithTestSplit.Contains(Kind(spec)) || Kind(spec) == "folder" && FolderSpec(spec).TestFraction > 0;

    /// <summary>The folder and held-out fraction of <c>folder:DIR</c> or <c>folder:DIR?test=F</c> (with or without <c>@test</c>).</summary>
    /// <exception cref="ArgumentException">The fraction is not a number in (0, 1).</exception>
    public static (string Folder, double TestFraction) FolderSpec(string spec)
    {
        if (spec.EndsWith("@test", StringComparison.Ordinal)) spec = spec[..^"@test".Length];
        string arg = spec.Length > "folder:".Length ? spec["folder:".Length..] : throw new ArgumentException("folder needs a path: folder:DIR");
        int q = arg.LastIndexOf("?test=", StringComparison.Ordinal);
        if (q < 0) return (arg, 0);
        string text = arg[(q + "?test=".Length)..];
        if (!double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double f) || !(f > 0 && f < 1))
            throw new ArgumentException($"'{spec}': the held-out fraction '{text}' is not a number between 0 and 1 (e.g. folder:DIR?test=0.1)");
        return (arg[..q], f);
    }

    /// <summary>The test split of <paramref name="spec"/>, or null when its source has none.</summary>
    public static ImageDataset? LoadTest(string spec, int channels = 1, int size = 32, IProgress<string>? log = null) =>
        TestSplit(spec) is string test ? Load(test, channels, size, log) : null;

    /// <summary>Loads the data set a specification names. <paramref name="channels"/> and <paramref name="size"/> are used for image folders.</summary>
    public static ImageDataset Load(string spec, int channels = 1, int size = 32, IProgress<string>? log = null)
    {
        bool test = spec.EndsWith("@test", StringComparison.Ordinal);
        if (test && !HasTestSplit(spec))
            throw new ArgumentException(Kind(spec) == "folder"
                ? $"'{spec}': a folder has a test split only with a held-out fraction, e.g. folder:DIR?test=0.1@test (train on folder:DIR?test=0.1, the rest)"
                : $"'{spec}': {Kind(spec)} has no test split (only {string.Join(", ", WithTestSplit)} and folders with ?test=F have one)");
        if (test) spec = spec[..^"@test".Length];
        string kind = Kind(spec);
        string? arg = spec.Length > kind.Length ? spec[(kind.Length + 1)..] : null;
        switch (kind)
        {
            case "digits":
                return arg is null ? DataReaders.BuiltInDigits() : DataReaders.DigitsCsv(arg);
            case "mnist" or "fashion-mnist":
            {
                string dir = arg ?? DefaultFolder(kind);
                EnsureFiles(kind, dir, log);
                string prefix = test ? "t10k" : "train";
                return DataReaders.Idx(FindIdx(dir, $"{prefix}-images-idx3-ubyte"), FindIdx(dir, $"{prefix}-labels-idx1-ubyte"), $"{kind}{(test ? " (test)" : "")}");
            }
            case "cifar10":
            {
                string dir = arg ?? DefaultFolder(kind);
                string batches = Path.Combine(dir, "cifar-10-batches-bin");
                if (!Directory.Exists(batches))
                {
                    EnsureFiles(kind, dir, log);
                    using var gz = new GZipStream(File.OpenRead(Path.Combine(dir, "cifar-10-binary.tar.gz")), CompressionMode.Decompress);
                    TarFile.ExtractToDirectory(gz, dir, overwriteFiles: true);
                }
                var files = test ? new[] { "test_batch.bin" } : Enumerable.Range(1, 5).Select(i => $"data_batch_{i}.bin").ToArray();
                return DataReaders.CifarBinary(files.Select(f => Path.Combine(batches, f)).ToArray(), "cifar10" + (test ? " (test)" : ""));
            }
            case "cifar10-subset":
                return DataReaders.CifarSprites(arg ?? throw new ArgumentException("cifar10-subset needs its folder: cifar10-subset:DIR"), test);
            case "folder":
            {
                var (folder, fraction) = FolderSpec(spec);
                return DataReaders.ImageFolder(folder, channels, size, fraction, test);
            }
            default:
                if (Directory.Exists(spec)) return DataReaders.ImageFolder(spec, channels, size);
                throw new ArgumentException($"unknown data '{spec}': expected {Help}");
        }
    }

    /// <summary>Checks that every file of a known data set is present with its md5, downloading the absent ones.</summary>
    public static void EnsureFiles(string name, string dir, IProgress<string>? log = null)
    {
        var (mirrors, files) = Known[name];
        foreach (var (file, md5) in files)
        {
            string path = Path.Combine(dir, file);
            string raw = path.EndsWith(".gz", StringComparison.Ordinal) ? path[..^3] : path;
            if (File.Exists(path))
            {
                string actual = Md5(path);
                if (actual != md5)
                    throw new InvalidDataException($"{path}: md5 {actual} differs from the published {md5}; delete it to download it again");
                continue;
            }
            if (File.Exists(raw) && raw != path) continue; // an uncompressed copy, as some distributions ship
            Download(mirrors, file, path, md5, log);
        }
    }

    /// <summary>The md5 of a file as lower-case hex.</summary>
    public static string Md5(string path)
    {
        using var stream = IO.InputFile.OpenRead(path, "data file");
        return Convert.ToHexStringLower(MD5.HashData(stream));
    }

    private static void Download(string[] mirrors, string file, string path, string md5, IProgress<string>? log)
    {
        var errors = new List<string>();
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(10) };
        foreach (var mirror in mirrors)
        {
            string url = mirror + file;
            try
            {
                log?.Report($"downloading {url}");
                var bytes = http.GetByteArrayAsync(url).GetAwaiter().GetResult();
                string actual = Convert.ToHexStringLower(MD5.HashData(bytes));
                if (actual != md5) { errors.Add($"{url}: md5 {actual}, expected {md5}"); continue; }
                IO.AtomicFile.WriteAllBytes(path, bytes);
                return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
            {
                errors.Add($"{url}: {e.Message}");
            }
        }
        throw new IOException($"could not download {file} into {Path.GetDirectoryName(path)}: {string.Join("; ", errors)}. " +
                              "Place the file there yourself (or pass the folder that holds it) and run again.");
    }

    private static string FindIdx(string dir, string stem)
    {
        foreach (var candidate in new[] { stem + ".gz", stem, stem.Replace("-idx", ".idx") + ".gz", stem.Replace("-idx", ".idx") })
            if (File.Exists(Path.Combine(dir, candidate))) return Path.Combine(dir, candidate);
        throw new FileNotFoundException($"{dir}: no {stem}(.gz) file");
    }
}
