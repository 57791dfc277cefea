using System.Diagnostics;
using Bcm.Training;
using Xunit;

namespace Bcm.Tests;

/// <summary>One writer per run folder: a second training into it is refused, readers are not blocked, a killed writer leaves no lock and no temporaries behind.</summary>
public sealed class RunLockTests
{
    private static TrainOptions Tiny(long steps) => Presets.Get("tiny") with { Steps = steps, CheckpointEvery = 2, SampleEvery = 0 };

    [Fact]
    public void ASecondTrainerOfTheSameFolderIsRefusedUntilTheFirstEnds()
    {
        var dir = TestPaths.NewTempDir();
        using (var first = Trainer.OpenOrResume(Tiny(2), dir))
        {
            var e = Assert.Throws<RunLockedException>(() => Trainer.OpenOrResume(Tiny(4) with { Seed = 2 }, dir));
            Assert.Contains(Path.GetFullPath(dir), e.Message);
            Assert.Contains($"process {Environment.ProcessId}", e.Message);
            first.Run();
        }
        using var second = Trainer.OpenOrResume(Tiny(4), dir); // the lock went with the first trainer
        Assert.Equal(2, second.Step);
        Assert.Equal(Tiny(2).Seed, second.Options.Seed); // the run's own options, not the refused writer's
    }

    [Fact]
    public void ResumingRemovesTheTemporariesOfAnInterruptedWrite()
    {
        var dir = TestPaths.NewTempDir();
        using (var t = Trainer.OpenOrResume(Tiny(2), dir)) t.Run();
        string stale = Path.Combine(dir, "checkpoints", ".ckpt-00000004.safetensors.999.0123456789abcdef.tmp");
        File.WriteAllBytes(stale, new byte[1000]);
        using var resumed = Trainer.OpenOrResume(Tiny(4), dir);
        Assert.False(File.Exists(stale));
        Assert.Equal(2, resumed.Step);
    }

    [Trait("Category", "Slow")]
    [Fact]
    public async Task TheCliRefusesASecondWriterWithExitCode2AndLetsReadersRead()
    {
        var dir = TestPaths.NewTempDir();
        using (var t = Trainer.OpenOrResume(Tiny(2), dir)) t.Run();
        string cli = Path.Combine(AppContext.BaseDirectory, "Bcm.Cli.dll");
        ProcessStartInfo Bcm(params string[] args)
        {
            var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
            psi.ArgumentList.Add(cli);
            foreach (var a in args) psi.ArgumentList.Add(a);
            return psi;
        }
        // A resume of the run with a new total and a named override (any other difference would be refused before training).
        using var writer = Process.Start(Bcm("train", "--preset", "tiny", "--steps", "100000", "--checkpoint-every", "100000", "--override", "checkpoint-every",
            "--threads", "1", "--out", dir))!;
        var writerErr = writer.StandardError.ReadToEndAsync();
        try
        {
            var clock = Stopwatch.StartNew();
            string pid = Path.Combine(dir, ".lock.pid");
            while (!(File.Exists(pid) && File.ReadAllText(pid).Trim() == writer.Id.ToString()) && !writer.HasExited && clock.Elapsed < TimeSpan.FromMinutes(2))
                Thread.Sleep(100);
            if (writer.HasExited) Assert.Fail("the first writer ended early: " + await writerErr);
            using var second = Process.Start(Bcm("train", "--preset", "tiny", "--threads", "1", "--out", dir))!;
            string err = await second.StandardError.ReadToEndAsync();
            await second.WaitForExitAsync();
            Assert.Equal(2, second.ExitCode);
            Assert.Contains($"is being trained by another process (process {writer.Id})", err);
            using var reader = Process.Start(Bcm("sample", "-c", dir, "-n", "4", "--threads", "1", "--out", Path.Combine(dir, "samples-read")))!;
            string readerErr = await reader.StandardError.ReadToEndAsync();
            await reader.WaitForExitAsync();
            Assert.True(reader.ExitCode == 0, readerErr);
        }
        finally
        {
            if (!writer.HasExited) writer.Kill(); // SIGKILL: the kernel drops the lock with the process
            await writer.WaitForExitAsync();
        }
        using var after = Trainer.OpenOrResume(Tiny(4), dir);
        Assert.True(after.Step >= 2);
    }
}
