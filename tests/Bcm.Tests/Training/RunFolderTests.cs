using Bcm.Training;
using Xunit;

namespace Bcm.Tests;

/// <summary>
/// A run folder only its own run changes: a checkpoint of another run dropped into checkpoints/ is refused by resume
/// and by sampling, never pruned or trained on; state files that are links are refused; an export never replaces its
/// source, a run's checkpoint, or any file without --force.
/// </summary>
public sealed class RunFolderTests
{
    private static (int Code, string Out, string Err) Bcm(params string[] args) => CliRunner.Bcm(args);

    private static TrainOptions Tiny(long steps, long seed = 1) => Presets.Get("tiny") with { Steps = steps, CheckpointEvery = 1, KeepCheckpoints = 2, SampleEvery = 0, Seed = seed };

    private static string TrainedRun(long steps, long seed = 1)
    {
        var dir = TestPaths.NewTempDir();
        using (var t = Trainer.OpenOrResume(Tiny(steps, seed), dir)) t.Run();
        return dir;
    }

    // The state of a run folder that a refused command must leave exactly as it was.
    private static Dictionary<string, byte[]> Snapshot(string dir) =>
        Directory.GetFiles(dir, "*", SearchOption.AllDirectories).Where(f => !f.EndsWith(".lock", StringComparison.Ordinal))
            .ToDictionary(f => Path.GetRelativePath(dir, f), File.ReadAllBytes);

    private static void AssertUnchanged(Dictionary<string, byte[]> before, string dir)
    {
        var after = Snapshot(dir);
        Assert.Equal(before.Keys.Order(), after.Keys.Order());
        foreach (var (name, bytes) in before) Assert.True(bytes.AsSpan().SequenceEqual(after[name]), $"{name} changed");
    }

    public static TheoryData<string> ForeignKinds => ["other architecture", "other run, same architecture", "export"];

    [Trait("Category", "Slow")]
    [Theory]
    [MemberData(nameof(ForeignKinds))]
    public void AForeignCheckpointUnderTheNewestNameIsRefusedByResumeAndSampleAndNothingIsPruned(string kind)
    {
        string run = TrainedRun(3); // keeps ckpt 2 and 3
        string foreignSource = kind switch
        {
            "other architecture" => TrainedMlpCheckpoint(),
            "other run, same architecture" => TrainingCheckpoint.List(TrainedRun(1, seed: 1))[^1].Path, // same options and seed: only the run id differs
            _ => Export(run),
        };
        string dropped = Path.Combine(run, "checkpoints", TrainingCheckpoint.FileName(9));
        File.Copy(foreignSource, dropped);
        var before = Snapshot(run);

        var e = Assert.Throws<ForeignFileException>(() => Trainer.OpenOrResume(Tiny(12), run));
        Assert.Contains(dropped, e.Message);
        Assert.Contains(kind switch { "other architecture" => "network differs", "other run, same architecture" => "another run", _ => "not a bcm training checkpoint" }, e.Message);
        AssertUnchanged(before, run);

        var train = Bcm("train", "--preset", "tiny", "--steps", "12", "--checkpoint-every", "1", "--keep", "2", "--threads", "1", "--no-report", "--out", run);
        Assert.Equal(2, train.Code);
        Assert.Contains(dropped, train.Err);
        Assert.DoesNotContain("   at ", train.Err);
        AssertUnchanged(before, run);

        var sample = Bcm("sample", "-c", run, "-n", "2", "--out", TestPaths.NewTempDir());
        Assert.Equal(2, sample.Code);
        Assert.Contains(dropped, sample.Err);
        AssertUnchanged(before, run);

        // Taken out again, the run resumes where it was.
        File.Delete(dropped);
        using var resumed = Trainer.OpenOrResume(Tiny(12), run);
        Assert.Equal(3, resumed.Step);
    }

    [Fact]
    public void PruningDeletesOnlyTheRunsOwnCheckpoints()
    {
        string run = TrainedRun(2);
        string foreign = Path.Combine(run, "checkpoints", TrainingCheckpoint.FileName(0)); // older than every own one
        File.Copy(TrainingCheckpoint.List(TrainedRun(1, seed: 7))[^1].Path, foreign);
        var own = RunFolder.OwnOptions(run)!;
        Assert.NotNull(own.RunId);
        var left = RunFolder.Prune(run, keep: 1, own);
        Assert.Equal([foreign], left);
        Assert.True(File.Exists(foreign));
        Assert.Equal([0L, 2L], TrainingCheckpoint.List(run).Select(c => c.Step));
    }

    [Fact]
    public void TheRunIdIsWrittenOnceAndKeptAcrossResumes()
    {
        string run = TrainedRun(1);
        string id = RunFolder.OwnOptions(run)!.RunId!;
        Assert.Matches("^[0-9a-f-]{36}$", id);
        using (var t = Trainer.OpenOrResume(Tiny(2), run)) t.Run();
        Assert.Equal(id, RunFolder.OwnOptions(run)!.RunId);
        foreach (var (_, path) in TrainingCheckpoint.List(run))
            Assert.Equal(id, TrainingCheckpoint.ReadOptions(Checkpoints.SafeTensors.Inspect(path).Metadata, path).RunId);
        Assert.NotEqual(id, RunFolder.OwnOptions(TrainedRun(1))!.RunId); // another folder, another run
    }

    [Theory]
    [InlineData(".lock.pid")]
    [InlineData("stats.jsonl")]
    [InlineData(".lock")]
    public void StateFilesThatAreLinksAreRefusedAndTheLinkedFileIsUntouched(string name)
    {
        if (OperatingSystem.IsWindows()) return; // symbolic links need privileges there
        string run = TrainedRun(1);
        string victim = Path.Combine(TestPaths.NewTempDir(), "precious.txt");
        File.WriteAllText(victim, "keep me");
        string state = Path.Combine(run, name);
        if (File.Exists(state)) File.Delete(state);
        File.CreateSymbolicLink(state, victim);

        var e = Assert.Throws<ForeignFileException>(() => Trainer.OpenOrResume(Tiny(2), run));
        Assert.Contains(state, e.Message);
        Assert.Contains("symbolic link", e.Message);
        var cli = Bcm("train", "--preset", "tiny", "--steps", "2", "--checkpoint-every", "1", "--keep", "2", "--threads", "1", "--no-report", "--out", run);
        Assert.Equal(2, cli.Code);
        Assert.Contains("symbolic link", cli.Err);
        Assert.Equal("keep me", File.ReadAllText(victim));
    }

    [Trait("Category", "Slow")]
    [Fact]
    public void ExportNeverReplacesItsSourceOrARunsCheckpointAndOtherFilesOnlyWithForce()
    {
        string run = TrainedRun(2);
        string newest = TrainingCheckpoint.List(run)[^1].Path;
        var before = Snapshot(run);

        var onSource = Bcm("export", newest, "--out", newest, "--force");
        Assert.Equal(2, onSource.Code);
        Assert.Contains("the checkpoint being exported", onSource.Err);
        var intoRun = Bcm("export", TestPaths.Golden("adm-tiny-uncond.safetensors"), "--out", newest, "--force");
        Assert.Equal(2, intoRun.Code);
        Assert.Contains("checkpoints/ folder of the run", intoRun.Err);
        var runFolderAsSource = Bcm("export", run, "--out", newest, "--force");
        Assert.Equal(2, runFolderAsSource.Code);
        AssertUnchanged(before, run);

        string existing = Path.Combine(TestPaths.NewTempDir(), "model.safetensors");
        File.WriteAllText(existing, "not yet a model");
        var refused = Bcm("export", run, "--out", existing);
        Assert.Equal(2, refused.Code);
        Assert.Contains("--force", refused.Err);
        Assert.Equal("not yet a model", File.ReadAllText(existing));
        var forced = Bcm("export", run, "--out", existing, "--force");
        Assert.True(forced.Code == 0, forced.Err);
        Assert.NotEqual("not yet a model", File.ReadAllText(existing));
    }

    private static string Export(string run)
    {
        string path = Path.Combine(TestPaths.NewTempDir(), "export.safetensors");
        ModelExport.Write(run, path);
        return path;
    }

    private static string TrainedMlpCheckpoint()
    {
        var dir = TestPaths.NewTempDir();
        var options = Presets.Get("mixture2d") with { Steps = 1, CheckpointEvery = 1, SampleEvery = 0 };
        using (var t = Trainer.OpenOrResume(options, dir)) t.Run();
        return TrainingCheckpoint.List(dir)[^1].Path;
    }
}
