using Xunit;

namespace Bcm.Tests;

/// <summary>
/// A user's own labelled images end to end: a folder with one subfolder per class trains a class-conditional BCM on its
/// training split, the run keeps the class list, <c>bcm sample --class NAME</c> samples a named class, the held-out
/// images are measured, and an export carries the class names.
/// </summary>
[Trait("Category", "Slow")]
public sealed class OwnDataTests
{
    [Fact]
    public void ALabelledFolderTrainsAClassConditionalBcmThatSamplesANamedClass()
    {
        string data = TestPaths.NewTempDir(), run = Path.Combine(TestPaths.NewTempDir(), "run");
        var digits = Bcm.Data.DataReaders.BuiltInDigits();
        string[] names = ["zero", "one", "two"];
        for (int i = 0, written = 0; i < digits.Count && written < 60; i++)
        {
            if (digits.Labels![i] > 2) continue;
            Directory.CreateDirectory(Path.Combine(data, names[digits.Labels[i]]));
            using (var img = digits.Batch([i], 8)[0]) Imaging.ImageIO.SavePng(img, Path.Combine(data, names[digits.Labels[i]], $"{i:D4}.png"));
            written++;
        }
        string spec = $"folder:{data}?test=0.2";
        var train = CliRunner.Bcm("train", "--preset", "tiny", "--data", spec, "--class-conditional", "--steps", "2", "--checkpoint-every", "2",
                                  "--sample-every", "0", "--no-report", "--out", run, "--threads", "1");
        Assert.True(train.Code == 0, train.Err);
        Assert.Equal(["one", "two", "zero"], File.ReadAllLines(Path.Combine(run, "classes.txt")));
        using (var options = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "options.json"))))
        {
            Assert.Equal(3, options.RootElement.GetProperty("network").GetProperty("num_classes").GetInt32());
            Assert.Equal(spec, options.RootElement.GetProperty("data").GetString()); // the split is recorded with the run
        }

        // A named class, and the same images as its index.
        string byName = TestPaths.NewTempDir(), byIndex = TestPaths.NewTempDir();
        Assert.Equal(0, CliRunner.Bcm("sample", "-c", run, "-n", "4", "--class", "two", "--out", byName).Code);
        Assert.Equal(0, CliRunner.Bcm("sample", "-c", run, "-n", "4", "--class", "1", "--out", byIndex).Code);
        Assert.Equal(File.ReadAllBytes(Path.Combine(byIndex, "samples.png")), File.ReadAllBytes(Path.Combine(byName, "samples.png")));
        var unknown = CliRunner.Bcm("sample", "-c", run, "--class", "seven", "--out", byName);
        Assert.Equal(2, unknown.Code);
        Assert.Contains("one of one, two, zero", unknown.Err);

        // The editing commands take a class by name too.
        string path = TestPaths.NewTempDir();
        var interpolate = CliRunner.Bcm("interpolate", "--seeds", "1", "2", "-n", "3", "-c", run, "--class", "zero", "--out", path);
        Assert.True(interpolate.Code == 0, interpolate.Err);
        Assert.Contains("one of one, two, zero", CliRunner.Bcm("interpolate", "--seeds", "1", "2", "-c", run, "--class", "nine", "--out", path).Err);

        // The held-out images, measured: an inversion round trip on the test split only.
        string inv = TestPaths.NewTempDir();
        var invert = CliRunner.Bcm("invert", "-c", run, "--data", spec + "@test", "--out", inv);
        Assert.True(invert.Code == 0, invert.Err);

        // An export keeps the class names; a run without labels cannot be made class-conditional.
        string export = Path.Combine(TestPaths.NewTempDir(), "model.onnx");
        Assert.Equal(0, CliRunner.Bcm("export", run, "--format", "onnx", "-o", export).Code);
        using (var config = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(Path.GetDirectoryName(export)!, "config.json"))))
            Assert.Equal("two", config.RootElement.GetProperty("class_names")[1].GetString());
        string flatFolder = TestPaths.NewTempDir();
        foreach (var f in Directory.EnumerateFiles(Path.Combine(data, "one")).Take(4)) File.Copy(f, Path.Combine(flatFolder, Path.GetFileName(f)));
        var flat = CliRunner.Bcm("train", "--preset", "tiny", "--data", "folder:" + flatFolder, "--class-conditional", "--steps", "1", "--out", Path.Combine(TestPaths.NewTempDir(), "r"));
        Assert.Equal(2, flat.Code);
        Assert.Contains("needs labelled data", flat.Err);
    }
}
