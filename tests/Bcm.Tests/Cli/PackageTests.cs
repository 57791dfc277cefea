using System.Diagnostics;
using Bcm.Imaging;
using Bcm.Training;
using Xunit;

namespace Bcm.Tests;

/// <summary>
/// The library as a user gets it: packed into a .nupkg, restored from a local feed by a project outside this repository
/// (samples/HelloBcm, with none of the repository's build settings), built, and run on this machine (Debian 12's
/// libstdc++ included, which needs the package's GLIBCXX fix).
/// </summary>
[Trait("Category", "Slow")]
public sealed class PackageTests
{
    private static async Task<(int Code, string Output)> Dotnet(string workingDir, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = workingDir };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        psi.Environment.Remove("MSBuildExtensionsPath"); // the test host's MSBuild settings are not the consumer's
        psi.Environment.Remove("MSBUILD_EXE_PATH");
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(8));
        try
        {
            await p.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(true);
            throw new TimeoutException("dotnet " + string.Join(' ', args));
        }
        return (p.ExitCode, await stdout + await stderr);
    }

    private static void CopyTree(string from, string to)
    {
        foreach (var dir in Directory.EnumerateDirectories(from, "*", SearchOption.AllDirectories))
            if (!IsBuildOutput(dir)) Directory.CreateDirectory(Path.Combine(to, Path.GetRelativePath(from, dir)));
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
            if (!IsBuildOutput(file)) File.Copy(file, Path.Combine(to, Path.GetRelativePath(from, file)));
        bool IsBuildOutput(string path) => Path.GetRelativePath(from, path).Split(Path.DirectorySeparatorChar).Any(p => p is "bin" or "obj");
    }

    [Fact]
    public async Task APackedLibraryBuildsAndRunsInAConsumerProject()
    {
        var work = TestPaths.NewTempDir();
        // Pack a copy of the library's sources, so that the repository's own build outputs are untouched; a version of
        // its own, so that no earlier package in the NuGet cache stands in for this one.
        var source = Path.Combine(work, "repo");
        CopyTree(Path.Combine(TestPaths.Root, "src", "Bcm"), Path.Combine(source, "src", "Bcm"));
        CopyTree(Path.Combine(TestPaths.Root, "build"), Path.Combine(source, "build"));
        foreach (var f in new[] { "Directory.Build.props", "Directory.Packages.props", "README.md" })
            File.Copy(Path.Combine(TestPaths.Root, f), Path.Combine(source, f));
        string version = $"0.1.0-test.{DateTime.UtcNow:yyyyMMddHHmmss}.{Environment.ProcessId}";
        var feed = Path.Combine(work, "feed");
        var pack = await Dotnet(source, "pack", "src/Bcm", "-c", "Release", "-o", feed, $"-p:Version={version}");
        Assert.True(pack.Code == 0, pack.Output);

        var consumer = Path.Combine(work, "HelloBcm");
        CopyTree(Path.Combine(TestPaths.Root, "samples", "HelloBcm"), consumer);
        string[] fromFeed = [$"-p:BcmVersion={version}", $"-p:RestoreAdditionalProjectSources={feed}"];
        var build = await Dotnet(consumer, ["build", "-c", "Release", .. fromFeed]);
        Assert.True(build.Code == 0, build.Output);

        var run = Path.Combine(work, "run");
        using (var t = Trainer.OpenOrResume(Presets.Get("tiny") with { Steps = 2, CheckpointEvery = 2, SampleEvery = 0 }, run)) t.Run();
        var outDir = Path.Combine(work, "out");
        Directory.CreateDirectory(outDir);
        var hello = await Dotnet(consumer, "bin/Release/net10.0/HelloBcm.dll", run, outDir);
        Assert.True(hello.Code == 0, hello.Output);
        Assert.Matches(@"round-trip MSE \d+\.\d{4}", hello.Output);
        foreach (var png in new[] { "samples.png", "roundtrip.png" })
        {
            ImageIO.ReadRgba(Path.Combine(outDir, png), out int w, out int h);
            Assert.True(w > 8 && h > 8, $"{png} is {w}×{h}");
        }

        // Without the libtorch natives the build says which line to add, instead of failing at run time.
        var project = Path.Combine(consumer, "HelloBcm.csproj");
        File.WriteAllLines(project, File.ReadAllLines(project).Where(l => !l.Contains("libtorch-cpu-")));
        var bare = await Dotnet(consumer, ["build", "-c", "Release", .. fromFeed]);
        Assert.NotEqual(0, bare.Code);
        Assert.Contains("BCM0001", bare.Output);
        Assert.Contains("libtorch-cpu-", bare.Output);
    }
}
