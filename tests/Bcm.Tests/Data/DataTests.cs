using Bcm.Data;
using Xunit;

namespace Bcm.Tests;

public sealed class DataTests
{
    [Fact]
    public void BuiltInDigitsAreTheUciSet()
    {
        var d = DataReaders.BuiltInDigits();
        Assert.Equal(1797, d.Count);
        Assert.Equal((1, 8, 8), (d.Channels, d.Height, d.Width));
        Assert.Equal(16, d.MaxValue);
        Assert.Equal(0, d.Labels![0]);
        Assert.Equal(10, d.Labels.Distinct().Count());
        using var batch = d.Batch([0, 1], 8);
        Assert.Equal(-1f, batch.min().item<float>());
        Assert.Equal(1f, batch.max().item<float>());
        // The same file from ../shared/data reads identically.
        var shared = DataReaders.DigitsCsv(TestPaths.Data("sklearn-digits/digits.csv.gz"));
        Assert.Equal(d.Pixels, shared.Pixels);
    }

    [Fact]
    public void MnistIdxReadsImagesAndLabels()
    {
        var d = DataSources.Load("mnist:" + TestPaths.Data("mnist") + "@test");
        Assert.Equal(10000, d.Count);
        Assert.Equal((1, 28, 28), (d.Channels, d.Height, d.Width));
        Assert.Equal(7, d.Labels![0]); // the first MNIST test digit is a 7
        using var small = d.Batch([0], 16);
        Assert.Equal(new long[] { 1, 1, 16, 16 }, small.shape);
        using var padded = d.Batch([0], 32);
        Assert.Equal(-1f, padded[0, 0, 0, 0].item<float>());
    }

    [Fact]
    public void TestSplitsAreHeldOutOrSaidToBeAbsent()
    {
        string mnist = "mnist:" + TestPaths.Data("mnist");
        Assert.Equal(mnist + "@test", DataSources.TestSplit(mnist));
        Assert.Equal(mnist + "@test", DataSources.TestSplit(mnist + "@test"));
        var test = DataSources.LoadTest(mnist)!;
        Assert.Equal(10000, test.Count); // the t10k files, not the 60000 training images
        Assert.Equal("mnist", DataSources.Kind(mnist + "@test"));
        // The built-in digits have no test split: no silent fall-back to the training images.
        Assert.Null(DataSources.TestSplit("digits"));
        Assert.Null(DataSources.LoadTest("digits"));
        var e = Assert.Throws<ArgumentException>(() => DataSources.Load("digits@test"));
        Assert.Contains("no test split", e.Message);
    }

    [Fact]
    public void Md5VerificationAcceptsTheLocalCopiesAndRejectsADamagedOne()
    {
        DataSources.EnsureFiles("mnist", TestPaths.Data("mnist"));
        DataSources.EnsureFiles("fashion-mnist", TestPaths.Data("fashion-mnist"));
        var dir = TestPaths.NewTempDir();
        foreach (var f in Directory.GetFiles(TestPaths.Data("mnist"))) File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        using (var s = File.OpenWrite(Path.Combine(dir, "t10k-labels-idx1-ubyte.gz"))) { s.Position = 100; s.WriteByte(0x55); }
        var e = Assert.Throws<InvalidDataException>(() => DataSources.EnsureFiles("mnist", dir));
        Assert.Contains("md5", e.Message);
        Assert.Contains("t10k-labels", e.Message);
    }

    [Fact]
    public void CifarSpritesAndBinaryBatchesAgree()
    {
        var sprites = DataReaders.CifarSprites(TestPaths.Data("cifar10-subset"), test: true);
        Assert.Equal(1000, sprites.Count);
        Assert.Equal(3, sprites.Channels);
        Assert.Equal(3, sprites.Labels![0]); // CIFAR-10 test image 0 is a cat
        // Write the first 10 sprites as a CIFAR binary batch and read it back.
        var dir = TestPaths.NewTempDir();
        string bin = Path.Combine(dir, "test_batch.bin");
        using (var s = File.Create(bin))
            for (int i = 0; i < 10; i++)
            {
                s.WriteByte((byte)sprites.Labels[i]);
                s.Write(sprites.Pixels, i * 3072, 3072);
            }
        var binary = DataReaders.CifarBinary([bin], "bin");
        Assert.Equal(sprites.Take(10).Pixels, binary.Pixels);
        Assert.Equal(sprites.Labels.Take(10), binary.Labels!);
        File.WriteAllBytes(bin, new byte[100]);
        Assert.Contains("whole number", Assert.Throws<InvalidDataException>(() => DataReaders.CifarBinary([bin], "bad")).Message);
    }

    [Fact]
    public void ImageFolderReadsPngsAtTheModelSize()
    {
        var dir = TestPaths.NewTempDir();
        var d = DataReaders.BuiltInDigits();
        for (int i = 0; i < 3; i++)
            using (var img = d.Batch([i], 8)[0]) Imaging.ImageIO.SavePng(img, Path.Combine(dir, $"{i}.png"));
        var folder = DataSources.Load("folder:" + dir, channels: 1, size: 8);
        Assert.Equal(3, folder.Count);
        using var a = folder.Batch([1], 8);
        using var b = d.Batch([1], 8);
        Assert.True((a - b).abs().max().item<float>() < 0.01f, "PNG round trip of an 8-bit-representable image");
    }

    // A labelled folder of the built-in digits: one subfolder per class (named by the digit, spelled out), 6 images each.
    private static string LabelledDigits(int perClass = 6)
    {
        var dir = TestPaths.NewTempDir();
        var d = DataReaders.BuiltInDigits();
        string[] names = ["zero", "one", "two"];
        var seen = new int[3];
        for (int i = 0; i < d.Count && seen.Min() < perClass; i++)
        {
            int label = d.Labels![i];
            if (label > 2 || seen[label] >= perClass) continue;
            Directory.CreateDirectory(Path.Combine(dir, names[label]));
            using (var img = d.Batch([i], 8)[0]) Imaging.ImageIO.SavePng(img, Path.Combine(dir, names[label], $"{i:D4}.png"));
            seen[label]++;
        }
        return dir;
    }

    [Fact]
    public void AFolderOfClassFoldersIsLabelledWithTheSortedClassNames()
    {
        string dir = LabelledDigits();
        var set = DataSources.Load("folder:" + dir, channels: 1, size: 8);
        Assert.Equal(18, set.Count);
        Assert.Equal(["one", "two", "zero"], set.ClassNames!); // sorted by name: label 0 is "one"
        Assert.Equal(3, set.NumClasses);
        Assert.Equal(Enumerable.Repeat(0, 6).Concat(Enumerable.Repeat(1, 6)).Concat(Enumerable.Repeat(2, 6)), set.Labels!);
        Assert.Null(DataSources.TestSplit("folder:" + dir)); // no held-out fraction, no test split
        Assert.Contains("held-out fraction", Assert.Throws<ArgumentException>(() => DataSources.Load("folder:" + dir + "@test", 1, 8)).Message);
    }

    [Fact]
    public void AHeldOutFractionSplitsAFolderByFileNameDisjointlyAndTheSameEveryTime()
    {
        string dir = LabelledDigits(perClass: 20);
        string spec = "folder:" + dir + "?test=0.25";
        var train = DataSources.Load(spec, 1, 8);
        var test = DataSources.Load(DataSources.TestSplit(spec)!, 1, 8);
        Assert.Equal(60, train.Count + test.Count);
        Assert.InRange(test.Count, 6, 24); // about a quarter
        Assert.Equal(train.ClassNames, test.ClassNames);
        // Disjoint: which files are held out is a function of their names alone.
        var files = Directory.EnumerateFiles(dir, "*.png", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(dir, f)).ToList();
        Assert.Equal(test.Count, files.Count(f => DataReaders.IsHeldOut(f, 0.25)));
        // A file added later does not move the others.
        File.Copy(Directory.EnumerateFiles(Path.Combine(dir, "one")).First(), Path.Combine(dir, "one", "extra.png"));
        var again = DataSources.Load(DataSources.TestSplit(spec)!, 1, 8);
        Assert.Equal(test.Count + (DataReaders.IsHeldOut(Path.Combine("one", "extra.png"), 0.25) ? 1 : 0), again.Count);
        foreach (var bad in new[] { "?test=1", "?test=0", "?test=x" })
            Assert.Contains("between 0 and 1", Assert.Throws<ArgumentException>(() => DataSources.Load("folder:" + dir + bad, 1, 8)).Message);
    }

    [Fact]
    public void FoldersThatCannotBeLabelledHonestlyAreRefusedNamingTheFolder()
    {
        string dir = LabelledDigits();
        Directory.CreateDirectory(Path.Combine(dir, "three"));
        Assert.Contains("'three' holds no", Assert.Throws<InvalidDataException>(() => DataSources.Load("folder:" + dir, 1, 8)).Message);
        Directory.Delete(Path.Combine(dir, "three"));
        File.Copy(Directory.EnumerateFiles(Path.Combine(dir, "one")).First(), Path.Combine(dir, "loose.png"));
        Assert.Contains("images and class folders", Assert.Throws<InvalidDataException>(() => DataSources.Load("folder:" + dir, 1, 8)).Message);
        File.Delete(Path.Combine(dir, "loose.png"));
        Directory.CreateSymbolicLink(Path.Combine(dir, "loop"), dir);
        Assert.Contains("is a link", Assert.Throws<InvalidDataException>(() => DataSources.Load("folder:" + dir, 1, 8)).Message);
        File.Delete(Path.Combine(dir, "loop"));
        File.WriteAllBytes(Path.Combine(dir, "one", "broken.png"), [0x89, 0x50, 0x4E, 0x47]);
        Assert.Contains("broken.png", Assert.ThrowsAny<Exception>(() => DataSources.Load("folder:" + dir, 1, 8)).Message);
    }

    [Fact]
    public void BadDataSpecsAreClearErrors()
    {
        Assert.Contains("unknown data", Assert.Throws<ArgumentException>(() => DataSources.Load("imagenet")).Message);
        Assert.Contains("no such file", Assert.Throws<FileNotFoundException>(() => DataSources.Load("digits:/nope.csv")).Message);
        var dir = TestPaths.NewTempDir();
        string csv = Path.Combine(dir, "d.csv");
        File.WriteAllText(csv, "1,2,3\n");
        Assert.Contains("line 1 has 3 columns", Assert.Throws<InvalidDataException>(() => DataSources.Load("digits:" + csv)).Message);
    }
}
