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

    // Packs copies of the projects' sources (so that the repository's own build outputs are untouched) into a new feed, in
    // order (a project before those that depend on it), all with one version of their own, so that no earlier package in
    // the NuGet cache stands in for these.
    private static async Task<string> Pack(string work, string version, params string[] projects)
    {
        var source = Path.Combine(work, "repo");
        foreach (var project in projects) CopyTree(Path.Combine(TestPaths.Root, "src", project), Path.Combine(source, "src", project));
        CopyTree(Path.Combine(TestPaths.Root, "build"), Path.Combine(source, "build"));
        foreach (var f in new[] { "Directory.Build.props", "Directory.Packages.props", "README.md" })
            File.Copy(Path.Combine(TestPaths.Root, f), Path.Combine(source, f));
        var feed = Path.Combine(work, "feed");
        foreach (var project in projects)
        {
            var pack = await Dotnet(source, "pack", $"src/{project}", "-c", "Release", "-o", feed, $"-p:Version={version}");
            Assert.True(pack.Code == 0, pack.Output);
        }
        return feed;
    }

    [Fact]
    public async Task APackedLibraryBuildsAndRunsInAConsumerProject()
    {
        var work = TestPaths.NewTempDir();
        string version = $"0.1.0-test.{DateTime.UtcNow:yyyyMMddHHmmss}.{Environment.ProcessId}";
        var feed = await Pack(work, version, "Bcm.Core", "Bcm");

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

    /// <summary>The size an inference app may have on one platform (the issue's goal: a tenth of the training stack's 496 MB).</summary>
    private const long MaxInferenceAppBytes = 60L << 20;

    [Fact]
    public async Task ThePackedInferencePackageRunsAnExportWithoutLibtorchAndGivesBcmSamplesImages()
    {
        var work = TestPaths.NewTempDir();
        string version = $"0.1.0-test.{DateTime.UtcNow:yyyyMMddHHmmss}.{Environment.ProcessId}";
        var feed = await Pack(work, version, "Bcm.Core", "Bcm.Inference");

        var consumer = Path.Combine(work, "HelloInference");
        CopyTree(Path.Combine(TestPaths.Root, "samples", "HelloInference"), consumer);
        var build = await Dotnet(consumer, "build", "-c", "Release", "-r", "linux-x64", "--no-self-contained", $"-p:BcmVersion={version}", $"-p:RestoreAdditionalProjectSources={feed}");
        Assert.True(build.Code == 0, build.Output);
        // Nothing of TorchSharp or libtorch anywhere in what restore resolved, direct or transitive.
        string assets = File.ReadAllText(Path.Combine(consumer, "obj", "project.assets.json"));
        Assert.Contains("Bcm.Inference/" + version, assets);
        Assert.DoesNotContain("torchsharp", assets, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("libtorch", assets, StringComparison.OrdinalIgnoreCase);
        string output = Path.Combine(consumer, "bin", "Release", "net10.0", "linux-x64");
        long bytes = Directory.EnumerateFiles(output, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length);
        Console.WriteLine($"HelloInference linux-x64 build output: {bytes / 1e6:F1} MB");
        Assert.True(bytes < MaxInferenceAppBytes, $"the build output is {bytes / 1e6:F1} MB, more than {MaxInferenceAppBytes / 1e6:F0} MB");

        string run = TestModels.TinyRun.Value, export = Path.Combine(work, "export");
        var exported = CliRunner.Bcm("export", run, "--format", "onnx", "-o", Path.Combine(export, "model.onnx"));
        Assert.True(exported.Code == 0, exported.Err);
        var outDir = Path.Combine(work, "out");
        Directory.CreateDirectory(outDir);
        var hello = await Dotnet(consumer, Path.Combine(output, "HelloInference.dll"), export, outDir);
        Assert.True(hello.Code == 0, hello.Output);
        Assert.Matches(@"round-trip MSE \d+\.\d{4}", hello.Output);
        ImageIO.ReadRgba(Path.Combine(outDir, "samples.png"), out int w, out int h);
        Assert.Equal((35, 35), (w, h)); // 4 × 4 images of 8 × 8 with 1-pixel gaps

        // The same images for the same seeds as bcm sample (libtorch) writes.
        string sampled = TestPaths.NewTempDir();
        var sample = CliRunner.Bcm("sample", "-c", run, "-n", "16", "--seed", "0", "--engine", "torch", "--out", sampled);
        Assert.True(sample.Code == 0, sample.Err);
        using var expected = Checkpoints.SafeTensors.Load(Path.Combine(sampled, "samples.safetensors")).Tensors["samples"];
        using var actual = ReadNpy(Path.Combine(outDir, "samples.npy"));
        Assertions.Close(expected, actual, rtol: 1e-5, what: "HelloInference against bcm sample");

        // A bad export folder is one line and exit code 2, from the package's own error.
        var bad = await Dotnet(consumer, Path.Combine(output, "HelloInference.dll"), Path.Combine(work, "missing"));
        Assert.Equal(2, bad.Code);
        Assert.Contains("no such folder", bad.Output);
    }

    // A float32 .npy as Npy.Encode writes it (the header's shape, then the values).
    private static TorchSharp.torch.Tensor ReadNpy(string path)
    {
        var bytes = File.ReadAllBytes(path);
        int headerLength = BitConverter.ToUInt16(bytes, 8);
        string header = System.Text.Encoding.ASCII.GetString(bytes, 10, headerLength);
        Assert.Contains("'descr': '<f4'", header);
        var shape = System.Text.RegularExpressions.Regex.Match(header, @"'shape': \(([^)]*)\)").Groups[1].Value
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(long.Parse).ToArray();
        var values = new float[(bytes.Length - 10 - headerLength) / 4];
        Buffer.BlockCopy(bytes, 10 + headerLength, values, 0, values.Length * 4);
        return TorchSharp.torch.tensor(values, shape);
    }
}
