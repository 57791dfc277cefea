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
        Assert.Equal((7, 0, 7), (r.Written, r.Skipped, r.Total));
        Assert.Empty(r.Broken!);
        using (var made = PlanRunner.Generate(loaded.Model, plan, 7, seed: 0, batchSize: 5)) SampleOutputs.WriteIndividual(reference, made, 0);
        for (int s = 0; s < 7; s++)
            Assert.Equal(File.ReadAllBytes(Path.Combine(reference, $"sample-{s:D6}.png")), File.ReadAllBytes(Path.Combine(dir, SeedImages.FileName(s))));

        // Two images lost (an interrupted job): only they are made again, identical; the others are not touched.
        var before = File.GetLastWriteTimeUtc(Path.Combine(dir, "000000.png"));
        File.Delete(Path.Combine(dir, "000002.png"));
        File.Delete(Path.Combine(dir, "000005.png"));
        var again = SeedImages.Write(loaded.Model, plan, SeedImages.Parse("0-6"), dir, batchSize: 2);
        Assert.Equal((2, 5, 7), (again.Written, again.Skipped, again.Total));
        Assert.Empty(again.Broken!); // missing files are not broken ones
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

    [Fact]
    public void AFileThatDoesNotDecodeToTheModelsImageIsMadeAgainAndNamed()
    {
        using var loaded = ModelLoader.Load(TestModels.TinyRun.Value);
        var plan = PlanPresets.Resolve("onestep");
        string dir = TestPaths.NewTempDir(), reference = TestPaths.NewTempDir();
        SeedImages.Write(loaded.Model, plan, SeedImages.Parse("0-5"), reference);
        SeedImages.Write(loaded.Model, plan, SeedImages.Parse("0-5"), dir);
        var whole = File.ReadAllBytes(Path.Combine(dir, "000003.png"));
        File.WriteAllBytes(Path.Combine(dir, "000003.png"), whole[..(whole.Length / 2)]);  // cut short
        File.WriteAllBytes(Path.Combine(dir, "000001.png"), []);                            // empty
        Imaging.ImageIO.SaveRgbaPng(new byte[16 * 16 * 4], 16, 16, Path.Combine(dir, "000004.png")); // another size
        var r = SeedImages.Write(loaded.Model, plan, SeedImages.Parse("0-5"), dir);
        Assert.Equal((3, 3, 6), (r.Written, r.Skipped, r.Total));
        Assert.Equal(["000001.png", "000003.png", "000004.png"], r.Broken!.Order());
        for (int s = 0; s < 6; s++)
            Assert.Equal(File.ReadAllBytes(Path.Combine(reference, SeedImages.FileName(s))), File.ReadAllBytes(Path.Combine(dir, SeedImages.FileName(s))));
    }

    [Fact]
    public void TheNpzHoldsTheSeedsImagesInTheAdmEvaluatorsLayout()
    {
        using var loaded = ModelLoader.Load(TestModels.TinyRun.Value);
        var plan = PlanPresets.Resolve("onestep");
        string dir = TestPaths.NewTempDir(), npz = Path.Combine(dir, "samples.npz");
        var r = NpzImages.Write(loaded.Model, plan, SeedImages.Parse("2-6"), npz, batchSize: 2);
        Assert.Equal(5, r.Images);
        var arrays = Npz.Read(npz);
        Assert.Equal(["arr_0"], arrays.Keys);
        var (descr, shape, data) = arrays["arr_0"];
        Assert.Equal("|u1", descr);
        Assert.Equal([5L, 8, 8, 1], shape);
        for (int i = 0; i < 5; i++)
        {
            var rgba = Imaging.ImageIO.ReadRgba(Path.Combine(NpzImages.SeedFolder(npz), SeedImages.FileName(2 + i)), out _, out _);
            for (int p = 0; p < 64; p++) Assert.Equal(rgba[4 * p], data[i * 64 + p]);
        }
        // Resumed: nothing is made again, the file is the same.
        var before = File.ReadAllBytes(npz);
        var again = NpzImages.Write(loaded.Model, plan, SeedImages.Parse("2-6"), npz);
        Assert.Equal((0, 5), (again.Seeds.Written, again.Seeds.Skipped));
        Assert.Equal(before, File.ReadAllBytes(npz));

        // Colour images are NHWC (channel last) and a conditional model's labels are arr_1, int64.
        string folder = TestPaths.NewTempDir();
        var rgbaA = new byte[2 * 2 * 4];
        for (int p = 0; p < 4; p++) (rgbaA[4 * p], rgbaA[4 * p + 1], rgbaA[4 * p + 2], rgbaA[4 * p + 3]) = ((byte)(10 + p), (byte)(100 + p), (byte)(200 + p), 255);
        Imaging.ImageIO.SaveRgbaPng(rgbaA, 2, 2, Path.Combine(folder, SeedImages.FileName(0)));
        NpzImages.Assemble(Path.Combine(dir, "rgb.npz"), folder, [0L], 3, 2, 2, labels: [7L]);
        var rgb = Npz.Read(Path.Combine(dir, "rgb.npz"));
        Assert.Equal([1L, 2, 2, 3], rgb["arr_0"].Shape);
        Assert.Equal(new byte[] { 10, 100, 200, 11, 101, 201, 12, 102, 202, 13, 103, 203 }, rgb["arr_0"].Data);
        Assert.Equal("<i8", rgb["arr_1"].Descr);
        Assert.Equal([1L], rgb["arr_1"].Shape);
        Assert.Equal(7L, BitConverter.ToInt64(rgb["arr_1"].Data));
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void TheCliWritesTheNpzAndRefusesWhatDoesNotApply()
    {
        string dir = TestPaths.NewTempDir(), npz = Path.Combine(dir, "s.npz");
        var made = CliRunner.Bcm("sample", "-c", TestModels.TinyRun.Value, "-n", "3", "--npz", npz, "--threads", "1");
        Assert.True(made.Code == 0, made.Err);
        Assert.Contains("uint8 NHWC arr_0", made.Out);
        Assert.Equal([3L, 8, 8, 1], Npz.Read(npz)["arr_0"].Shape);
        Assert.Contains("ending in .npz", CliRunner.Bcm("sample", "-c", TestModels.TinyRun.Value, "--npz", Path.Combine(dir, "s.zip")).Err);
        Assert.Contains("--out does not apply", CliRunner.Bcm("sample", "-c", TestModels.TinyRun.Value, "--npz", npz, "--out", dir).Err);
        Assert.Contains("--individual does not apply", CliRunner.Bcm("sample", "-c", TestModels.TinyRun.Value, "--npz", npz, "--individual").Err);
    }
}

/// <summary>A reader of NumPy's .npz (a zip of .npy files, format 1.0, C order) for the tests: no Python needed.</summary>
internal static class Npz
{
    public static Dictionary<string, (string Descr, long[] Shape, byte[] Data)> Read(string path)
    {
        var result = new Dictionary<string, (string, long[], byte[])>();
        using var zip = System.IO.Compression.ZipFile.OpenRead(path);
        foreach (var entry in zip.Entries)
        {
            Assert.EndsWith(".npy", entry.Name);
            Assert.Equal(entry.Length, entry.CompressedLength); // stored, as np.savez writes them
            using var stream = entry.Open();
            using var memory = new MemoryStream();
            stream.CopyTo(memory);
            var bytes = memory.ToArray();
            Assert.Equal(0x93, bytes[0]);
            Assert.Equal("NUMPY", System.Text.Encoding.ASCII.GetString(bytes, 1, 5));
            Assert.Equal((1, 0), (bytes[6], bytes[7]));
            int headerLength = BitConverter.ToUInt16(bytes, 8);
            Assert.Equal(0, (10 + headerLength) % 64);
            string header = System.Text.Encoding.ASCII.GetString(bytes, 10, headerLength);
            var m = System.Text.RegularExpressions.Regex.Match(header, @"^\{'descr': '([^']+)', 'fortran_order': False, 'shape': \(([^)]*)\), \} *\n$");
            Assert.True(m.Success, header);
            var shape = m.Groups[2].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(long.Parse).ToArray();
            var data = bytes[(10 + headerLength)..];
            long itemSize = m.Groups[1].Value[^1] - '0';
            Assert.Equal(shape.Aggregate(1L, (a, b) => a * b) * itemSize, data.Length);
            result[Path.GetFileNameWithoutExtension(entry.Name)] = (m.Groups[1].Value, shape, data);
        }
        return result;
    }
}
