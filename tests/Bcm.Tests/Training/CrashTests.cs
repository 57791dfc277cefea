using System.Diagnostics;
using Bcm.Training;
using Xunit;

namespace Bcm.Tests;

/// <summary>
/// A training run killed with SIGKILL at several moments — including while a checkpoint is being written — and resumed
/// each time ends with a final checkpoint equal, byte for byte, to that of a run never interrupted.
/// </summary>
[Trait("Category", "Slow")]
public sealed class CrashTests
{
    private static readonly string Cli = Path.Combine(AppContext.BaseDirectory, "Bcm.Cli.dll");

    private static Process Train(string dir)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Cli, "train", "--preset", "tiny", "--steps", "24", "--checkpoint-every", "3", "--keep", "2", "--threads", "1", "--no-report", "--out", dir })
            psi.ArgumentList.Add(a);
        var p = Process.Start(psi)!;
        p.StandardOutput.ReadToEndAsync();
        p.StandardError.ReadToEndAsync();
        return p;
    }

    [Fact]
    public async Task KilledAtAnyMomentAndResumedEndsByteIdenticalToAnUninterruptedRun()
    {
        if (OperatingSystem.IsWindows()) return; // SIGKILL semantics are what is tested
        string reference = TestPaths.NewTempDir(), crashed = TestPaths.NewTempDir();
        using (var p = Train(reference)) await p.WaitForExitAsync();
        var expected = TrainingCheckpoint.List(reference)[^1].Path;

        // Kill points: inside a checkpoint write (a temporary file is present), after a checkpoint, and at a random moment.
        Func<string, bool>[] killWhen =
        [
            dir => Directory.Exists(Path.Combine(dir, "checkpoints")) && Directory.GetFiles(Path.Combine(dir, "checkpoints"), ".*.tmp").Length > 0,
            dir => TrainingCheckpoint.List(dir).Count > 0 && TrainingCheckpoint.List(dir)[^1].Step >= 9,
            dir => File.Exists(Path.Combine(dir, "stats.jsonl")) && new FileInfo(Path.Combine(dir, "stats.jsonl")).Length > 3000,
        ];
        int killed = 0;
        foreach (var when in killWhen)
        {
            using var p = Train(crashed);
            var clock = Stopwatch.StartNew();
            while (!p.HasExited && !when(crashed) && clock.Elapsed < TimeSpan.FromMinutes(2)) await Task.Delay(2);
            if (!p.HasExited)
            {
                p.Kill(); // SIGKILL
                killed++;
            }
            await p.WaitForExitAsync();
        }
        Assert.True(killed >= 2, $"only {killed} of the runs were killed before they ended");
        using (var p = Train(crashed))
        {
            await p.WaitForExitAsync();
            Assert.Equal(0, p.ExitCode);
        }
        var final = TrainingCheckpoint.List(crashed)[^1];
        Assert.Equal(24, final.Step);
        Assertions.SameCheckpointExceptRunId(expected, final.Path);
        Assert.Empty(Directory.GetFiles(Path.Combine(crashed, "checkpoints"), ".*.tmp")); // nothing left behind
    }
}
