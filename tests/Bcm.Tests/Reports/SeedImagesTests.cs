using Bcm.Plans;
using Bcm.Reports;
using Bcm.Training;
using Xunit;

namespace Bcm.Tests;

/// <summary>bcm sample --seeds: one PNG per seed (EDM's naming), equal to bcm sample's images of those seeds, resumable.</summary>
[Collection(TestModels.SharedModels)]
public sealed class SeedImagesTests
{
    [Fact]
    public void SeedsParseAsEdmTakesThemAndBadListsAreRefused()
    {
        Assert.Equal([0L, 1, 2, 3, 4, 7], SeedImages.Parse("0-4, 7,3"));
        Assert.Equal([12L], SeedImages.Parse("12"));
        foreach (var (text, message) in new[] { ("5-2", "goes down"), ("-1", "not a seed"), ("a-b", "not a seed"), ("", "no seed"), ("0-2000000", "more than 1,000,000") })
            Assert.Contains(message, Assert.Throws<ArgumentException>(() => SeedImages.Parse(text)).Message);
        Assert.Equal("000042.png", SeedImages.FileName(42));
        Assert.Equal("1234567.png", SeedImages.FileName(1_234_567));
    }

    [Fact]
    public void EachSeedsImageIsBcmSamplesImageOfThatSeedAndAnInterruptedJobResumes()
    {
        using var loaded = ModelLoader.Load(TestModels.TinyRun.Value);
        var plan = PlanPresets.Resolve("ancestral2");
        string dir = TestPaths.NewTempDir(), reference = TestPaths.NewTempDir();
        var r = SeedImages.Write(loaded.Model, plan, SeedImages.Parse("0-6"), dir, batchSize: 3);
        Assert.Equal(new SeedImages.Result(7, 0, 7), r);
        using (var made = PlanRunner.Generate(loaded.Model, plan, 7, seed: 0, batchSize: 5)) SampleOutputs.WriteIndividual(reference, made, 0);
        for (int s = 0; s < 7; s++)
            Assert.Equal(File.ReadAllBytes(Path.Combine(reference, $"sample-{s:D6}.png")), File.ReadAllBytes(Path.Combine(dir, SeedImages.FileName(s))));

        // Two images lost (an interrupted job): only they are made again, identical; the others are not touched.
        var before = File.GetLastWriteTimeUtc(Path.Combine(dir, "000000.png"));
        File.Delete(Path.Combine(dir, "000002.png"));
        File.Delete(Path.Combine(dir, "000005.png"));
        var again = SeedImages.Write(loaded.Model, plan, SeedImages.Parse("0-6"), dir, batchSize: 2);
        Assert.Equal(new SeedImages.Result(2, 5, 7), again);
        Assert.Equal(before, File.GetLastWriteTimeUtc(Path.Combine(dir, "000000.png")));
        foreach (int s in new[] { 2, 5 })
            Assert.Equal(File.ReadAllBytes(Path.Combine(reference, $"sample-{s:D6}.png")), File.ReadAllBytes(Path.Combine(dir, SeedImages.FileName(s))));
        Assert.Equal(7, Directory.GetFiles(dir).Length); // nothing else written
    }

    [Fact]
    public void TheCliWritesPerSeedPngsAndSaysWhatItSkipped()
    {
        string dir = TestPaths.NewTempDir();
        var first = CliRunner.Bcm("sample", "-c", TestModels.TinyRun.Value, "--seeds", "3-5", "--out", dir, "--threads", "1");
        Assert.True(first.Code == 0, first.Err);
        Assert.Equal(["000003.png", "000004.png", "000005.png"], Directory.GetFiles(dir).Select(Path.GetFileName).Order());
        var second = CliRunner.Bcm("sample", "-c", TestModels.TinyRun.Value, "--seeds", "3-6", "--out", dir, "--threads", "1");
        Assert.True(second.Code == 0, second.Err);
        Assert.Contains("3 already written, 1 written", second.Out);
        var clash = CliRunner.Bcm("sample", "-c", TestModels.TinyRun.Value, "--seeds", "0-3", "-n", "4", "--out", dir);
        Assert.Equal(2, clash.Code);
        Assert.Contains("--count does not apply", clash.Err);
        var noOut = CliRunner.Bcm("sample", "-c", "/nonexistent", "--seeds", "0-3");
        Assert.Equal(2, noOut.Code);
        Assert.Contains("--out DIR", noOut.Err);
    }
}
