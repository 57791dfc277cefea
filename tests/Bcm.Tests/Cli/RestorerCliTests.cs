using Bcm.Training;
using Xunit;

namespace Bcm.Tests;

/// <summary><c>bcm restore --nfe --restorer</c>: the task-specific restorer's rows beside BCM's in the restoration-over-NFE table.</summary>
public sealed class RestorerCliTests
{
    [Fact]
    public void RestoreOverNfeMeasuresARestorerBesideTheBcmAndRefusesWhatIsNotOne()
    {
        var restorer = TestPaths.NewTempDir();
        using (var t = Trainer.OpenOrResume(JpegRestorerObjective.Prepare(Presets.Get("tiny") with { Objective = "palette", Steps = 10, CheckpointEvery = 10, SampleEvery = 0 }), restorer))
            t.Run();
        var dir = TestPaths.NewTempDir();
        string classifier = Path.Combine(TestPaths.Root, "classifiers", "digits-8.safetensors");
        var r = CliRunner.Bcm("restore", "-c", TestModels.TinyRun.Value, "--data", "digits", "--offset", "1600", "-n", "24", "--choose-count", "12",
            "--nfe", "1,3", "-q", "10", "--restorer", restorer, "--classifier", classifier, "--out", dir);
        Assert.True(r.Code == 0, r.Err);
        var rows = IO.CsvTable.Read(Path.Combine(dir, "restoration-nfe.csv"));
        var palette = rows.Where(x => x["method"] == "palette").ToList();
        Assert.Equal(2, palette.Count); // one row per budget
        Assert.All(palette, x => Assert.Matches(@"^(Heun|Euler|DPM-Solver\+\+\(2M\)), \d+ steps?$", x["choice"]));
        Assert.Equal("1", palette[0]["nfe"]);
        Assert.InRange(int.Parse(palette[1]["nfe"]), 2, 3); // within the budget: Heun within 3 NFE is 2 steps
        Assert.Contains(rows, x => x["method"] == "cm-rounds");
        Assert.Contains("palette", File.ReadAllText(Path.Combine(dir, "restoration-nfe.md")));

        var noNfe = CliRunner.Bcm("restore", "-c", TestModels.TinyRun.Value, "--data", "digits", "-n", "4", "--restorer", restorer);
        Assert.Equal(2, noNfe.Code);
        Assert.Contains("give --nfe too", noNfe.Err);
        var notARestorer = CliRunner.Bcm("restore", "-c", TestModels.TinyRun.Value, "--data", "digits", "-n", "4", "--nfe", "2", "--restorer", TestModels.TinyRun.Value,
            "--classifier", classifier);
        Assert.Equal(2, notARestorer.Code);
        Assert.Contains("not a JPEG restorer", notARestorer.Err);
        var sample = CliRunner.Bcm("sample", "-c", restorer, "-n", "2", "--out", TestPaths.NewTempDir());
        Assert.Equal(2, sample.Code); // a restorer cannot generate from nothing: a clear error, no stack trace
        Assert.Contains("conditioned on an image", sample.Err);
        Assert.DoesNotContain("   at ", sample.Err);
    }
}
