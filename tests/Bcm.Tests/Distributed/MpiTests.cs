using System.Diagnostics;
using Bcm.Checkpoints;
using Bcm.Distributed;
using Bcm.Training;
using Xunit;
using static TorchSharp.torch;

namespace Bcm.Tests;

/// <summary>
/// Several processes under Open MPI's mpirun on this machine: data-parallel training equals one process at the same
/// global batch, a killed rank stops the job and the run resumes (with 2 ranks or 1), sharded sampling equals one
/// process. Skipped, with the reason, where mpirun is not installed outside CI; in CI (.ci/run installs openmpi-bin)
/// its absence is a failure.
/// </summary>
[Trait("Category", "Slow")]
public sealed class MpiTests
{
    private static readonly string Cli = Path.Combine(AppContext.BaseDirectory, "Bcm.Cli.dll");

    private static string? MpiRun => (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':')
        .Select(d => Path.Combine(d, "mpirun")).FirstOrDefault(File.Exists);

    private static void RequireMpi()
    {
        if (MpiRun is not null) return;
        if (Environment.GetEnvironmentVariable("CI") is "true" or "1")
            Assert.Fail("mpirun is missing in CI: .ci/run installs Open MPI (apt-get install openmpi-bin)");
        Skip.If(true, "Open MPI's mpirun is not installed (apt-get install openmpi-bin); the multi-process tests need it");
    }

    private static ProcessStartInfo Start(int ranks, params string[] args)
    {
        var psi = new ProcessStartInfo(ranks > 1 ? MpiRun! : "dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        if (ranks > 1)
            foreach (var a in new[] { "-np", ranks.ToString(), "--oversubscribe", "--bind-to", "none", "dotnet" }) psi.ArgumentList.Add(a);
        psi.ArgumentList.Add(Cli);
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1";
        psi.Environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1";
        return psi;
    }

    private static (int Code, string Out, string Err) Run(int ranks, params string[] args)
    {
        using var p = Process.Start(Start(ranks, args))!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(4))) { p.Kill(true); throw new TimeoutException(string.Join(' ', args)); }
        p.WaitForExit();
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    private static string[] Train(string dir, int steps) =>
        ["train", "--preset", "tiny", "--steps", steps.ToString(), "--checkpoint-every", "10", "--threads", "1", "--no-report", "--out", dir];

    private static Dictionary<string, Tensor> Weights(string run) => SafeTensors.Load(TrainingCheckpoint.List(run)[^1].Path).Tensors;

    // Relative to the largest weight of the network (zero-initialised layers hold values near 1e-6, where float
    // summation order alone makes relative differences per tensor meaningless).
    private static void AssertSameWeights(string expectedRun, string actualRun, double tolerance)
    {
        var a = Weights(expectedRun);
        var b = Weights(actualRun);
        Assert.Equal(a.Keys.Order(), b.Keys.Order());
        foreach (var prefix in new[] { "online.", "ema." })
        {
            var keys = a.Keys.Where(k => k.StartsWith(prefix, StringComparison.Ordinal)).ToArray();
            double scale = keys.Max(k => (double)a[k].abs().max().item<float>());
            var (worst, diff) = keys.Select(k => (k, (double)(a[k] - b[k]).abs().max().item<float>())).MaxBy(kv => kv.Item2);
            Assert.True(diff <= tolerance * scale, $"{worst}: max difference {diff} against the largest weight {scale}");
        }
    }

    [SkippableFact]
    public void DataParallelTrainingEqualsOneProcessAtTheSameGlobalBatch()
    {
        RequireMpi();
        string one = TestPaths.NewTempDir(), two = TestPaths.NewTempDir();
        var r1 = Run(1, Train(one, 20));
        Assert.True(r1.Code == 0, r1.Err);
        var r2 = Run(2, Train(two, 20));
        Assert.True(r2.Code == 0, r2.Err + r2.Out);
        Assert.Contains("16 on each of 2 ranks", r2.Err);
        Assert.Contains("on 2 ranks", r2.Err);
        Assert.Equal(TrainingCheckpoint.List(one).Select(c => c.Step), TrainingCheckpoint.List(two).Select(c => c.Step));
        AssertSameWeights(one, two, 1e-5);
        // One writer: one stats line per step, with the one-process losses.
        var s1 = File.ReadAllLines(Path.Combine(one, "stats.jsonl")).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement).ToArray();
        var s2 = File.ReadAllLines(Path.Combine(two, "stats.jsonl")).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement).ToArray();
        Assert.Equal(20, s2.Length);
        for (int i = 0; i < 20; i++)
        {
            Assert.Equal(s1[i].GetProperty("step").GetInt64(), s2[i].GetProperty("step").GetInt64());
            Assert.Equal(s1[i].GetProperty("loss").GetDouble(), s2[i].GetProperty("loss").GetDouble(), 1e-5);
        }
    }

    [SkippableFact]
    public async Task AKilledRankStopsTheJobAndTheRunResumesWithTwoRanksOrOne()
    {
        RequireMpi();
        string dir = TestPaths.NewTempDir();
        using var p = Process.Start(Start(2, Train(dir, 60)))!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var clock = Stopwatch.StartNew();
        while (TrainingCheckpoint.List(dir).Count == 0 && !p.HasExited && clock.Elapsed < TimeSpan.FromMinutes(2)) Thread.Sleep(50);
        if (p.HasExited) Assert.Fail("the job ended before a rank was killed: " + await stderr);
        int rank1 = RankProcess(dir, 1) ?? throw new InvalidOperationException("rank 1 not found");
        Process.GetProcessById(rank1).Kill();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await p.WaitForExitAsync(timeout.Token); // the job stops: no rank waits forever for the dead one
        Assert.NotEqual(0, p.ExitCode);
        await stdout;
        // mpirun may return while the surviving rank is still being torn down (and holds the run folder's lock).
        var gone = Stopwatch.StartNew();
        while ((RankProcess(dir, 0) is not null || RankProcess(dir, 1) is not null) && gone.Elapsed < TimeSpan.FromSeconds(30)) Thread.Sleep(50);
        long saved = TrainingCheckpoint.List(dir)[^1].Step;
        Assert.InRange(saved, 10, 50);
        string copy = TestPaths.NewTempDir();
        foreach (var f in Directory.GetFiles(dir, "*", SearchOption.AllDirectories).Where(f => !Path.GetFileName(f).StartsWith(".lock", StringComparison.Ordinal)))
        {
            string target = Path.Combine(copy, Path.GetRelativePath(dir, f));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(f, target);
        }
        var two = Run(2, Train(dir, 60));
        Assert.True(two.Code == 0, two.Err);
        Assert.Contains($"resumed {dir} at step {saved}", two.Err);
        var one = Run(1, Train(copy, 60));
        Assert.True(one.Code == 0, one.Err);
        Assert.Contains($"resumed {copy} at step {saved}", one.Err);
        Assert.Equal(60, TrainingCheckpoint.List(dir)[^1].Step);
        AssertSameWeights(copy, dir, 1e-5); // dropout 0: two ranks and one process continue alike
    }

    // The process of a given rank of the job training into runDir (Open MPI puts the rank in each process's environment).
    private static int? RankProcess(string runDir, int rank)
    {
        foreach (var d in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(d), out int pid)) continue;
            try
            {
                if (!File.ReadAllText(Path.Combine(d, "cmdline")).Contains(runDir)) continue;
                var env = File.ReadAllText(Path.Combine(d, "environ")).Split('\0');
                if (env.Contains($"OMPI_COMM_WORLD_RANK={rank}")) return pid;
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return null;
    }

    [SkippableFact]
    public void PerSeedPngsSplitOverRanksEqualOneProcesssAndResume()
    {
        RequireMpi();
        string run = TestPaths.NewTempDir();
        Assert.Equal(0, Run(1, Train(run, 2)).Code);
        string one = TestPaths.NewTempDir(), two = TestPaths.NewTempDir();
        var r1 = Run(1, "sample", "-c", run, "--seeds", "0-6", "--threads", "1", "--out", one);
        Assert.True(r1.Code == 0, r1.Err);
        File.Delete(Path.Combine(one, "000003.png")); // an interrupted job: the ranks make only what is missing
        File.Copy(Path.Combine(one, "000000.png"), Path.Combine(two, "000000.png"));
        var r2 = Run(2, "sample", "-c", run, "--seeds", "0-6", "--threads", "1", "--out", two);
        Assert.True(r2.Code == 0, r2.Err);
        Assert.Contains("1 already written", r2.Out);
        var r1again = Run(1, "sample", "-c", run, "--seeds", "0-6", "--threads", "1", "--out", one);
        Assert.Contains("6 already written, 1 written", r1again.Out);
        var names = Directory.GetFiles(one).Select(Path.GetFileName).Order().ToArray();
        Assert.Equal(7, names.Length);
        Assert.Equal(names, Directory.GetFiles(two).Select(Path.GetFileName).Order().ToArray());
        foreach (var name in names) Assert.Equal(File.ReadAllBytes(Path.Combine(one, name!)), File.ReadAllBytes(Path.Combine(two, name!)));
    }

    [SkippableFact]
    public void ShardedSamplingWritesTheImagesOfOneProcess()
    {
        RequireMpi();
        string run = TestPaths.NewTempDir();
        Assert.Equal(0, Run(1, Train(run, 2)).Code);
        string one = TestPaths.NewTempDir(), three = TestPaths.NewTempDir();
        var r1 = Run(1, "sample", "-c", run, "-n", "11", "--individual", "--threads", "1", "--seed", "5", "--out", one);
        Assert.True(r1.Code == 0, r1.Err);
        var r3 = Run(3, "sample", "-c", run, "-n", "11", "--individual", "--threads", "1", "--seed", "5", "--out", three);
        Assert.True(r3.Code == 0, r3.Err);
        var names = Directory.GetFiles(one, "*.png").Select(Path.GetFileName).Order().ToArray();
        Assert.Equal(12, names.Length); // 11 samples named by seed, and the grid
        Assert.Contains("sample-000015.png", names);
        Assert.Equal(names, Directory.GetFiles(three, "*.png").Select(Path.GetFileName).Order().ToArray());
        foreach (var name in names) Assert.Equal(File.ReadAllBytes(Path.Combine(one, name!)), File.ReadAllBytes(Path.Combine(three, name!)));
        using var a = SafeTensors.Load(Path.Combine(one, "samples.safetensors")).Tensors["samples"];
        using var b = SafeTensors.Load(Path.Combine(three, "samples.safetensors")).Tensors["samples"];
        Assert.True(allclose(a, b, rtol: 1e-5, atol: 1e-6), "the gathered samples equal one process's up to batch composition");
    }

    [SkippableFact]
    public void ShardedEvalGivesTheNumbersOfOneProcess()
    {
        RequireMpi();
        string run = TestPaths.NewTempDir(), dir = TestPaths.NewTempDir();
        Assert.Equal(0, Run(1, Train(run, 2)).Code);
        string classifier = Path.Combine(dir, "digits-8.safetensors");
        Assert.Equal(0, Run(1, "classifier", "--data", "digits", "--size", "8", "--epochs", "1", "--threads", "1", "--out", classifier).Code);
        string[] Eval(string outDir) => ["eval", "-c", run, "--classifier", classifier, "-n", "60", "--inversion-images", "12",
            "--plans", "onestep,ancestral2", "--threads", "1", "--out", outDir];
        string one = Path.Combine(dir, "one"), three = Path.Combine(dir, "three");
        var r1 = Run(1, Eval(one));
        Assert.True(r1.Code == 0, r1.Err);
        var r3 = Run(3, Eval(three));
        Assert.True(r3.Code == 0, r3.Err + r3.Out);
        // Full-precision numbers from results.json; images/s is a time and differs.
        static List<(string Name, double Value)> Numbers(string dir)
        {
            using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "results.json")));
            var list = new List<(string, double)>();
            foreach (var section in new[] { "generation", "reconstruction" })
                foreach (var row in doc.RootElement.GetProperty(section).EnumerateArray())
                    foreach (var p in row.EnumerateObject())
                        if (p.Value.ValueKind == System.Text.Json.JsonValueKind.Number && p.Name != "images_per_second")
                            list.Add(($"{section} {row.GetProperty("method").GetString()} {p.Name}", p.Value.GetDouble()));
            return list;
        }
        var (n1, n3) = (Numbers(one), Numbers(three));
        Assert.Equal(n1.Select(x => x.Name), n3.Select(x => x.Name));
        Assert.Contains(n1, x => x.Name.EndsWith(" fid"));
        for (int i = 0; i < n1.Count; i++)
        {
            // FID, KID, precision/recall: 1e-6 relative; reconstruction errors (float32 sums in another order): 1e-5.
            double tolerance = n1[i].Name.StartsWith("generation") ? 1e-6 : 1e-5;
            Assert.True(Math.Abs(n1[i].Value - n3[i].Value) <= tolerance * Math.Max(1e-3, Math.Abs(n1[i].Value)), $"{n1[i].Name}: {n1[i].Value:R} vs {n3[i].Value:R}");
        }
    }

    [SkippableFact]
    public void ShardedRestorationMeasuresWhatOneProcessMeasures()
    {
        RequireMpi();
        string run = TestPaths.NewTempDir(), dir = TestPaths.NewTempDir();
        Assert.Equal(0, Run(1, Train(run, 2)).Code);
        string[] Restore(string outDir) => ["restore", "-c", run, "--data", "digits", "-n", "12", "-q", "10,20", "--threads", "1", "--out", outDir];
        string one = Path.Combine(dir, "one"), three = Path.Combine(dir, "three");
        var r1 = Run(1, Restore(one));
        Assert.True(r1.Code == 0, r1.Err);
        var r3 = Run(3, Restore(three));
        Assert.True(r3.Code == 0, r3.Err + r3.Out);
        var a = File.ReadAllLines(Path.Combine(one, "restoration.csv"));
        var b = File.ReadAllLines(Path.Combine(three, "restoration.csv"));
        Assert.Equal(3, a.Length); // header and two qualities
        Assert.Equal(a.Length, b.Length);
        for (int i = 1; i < a.Length; i++)
        {
            // Numbers with three decimals: equal up to the last digit (float sums in another order).
            var (x, y) = (a[i].Split('"'), b[i].Split('"'));
            Assert.Equal(x[0], y[0]);
            Assert.Equal(x[1], y[1]);
            var (u, v) = (x[2].Trim(',').Split(','), y[2].Trim(',').Split(','));
            for (int j = 0; j < u.Length; j++)
                Assert.True(Math.Abs(double.Parse(u[j], System.Globalization.CultureInfo.InvariantCulture) - double.Parse(v[j], System.Globalization.CultureInfo.InvariantCulture)) <= 0.0015,
                    $"row {i}: {a[i]} vs {b[i]}");
        }
    }

    [Fact]
    public void UnderMpirunWithoutTheLibraryTheErrorSaysWhatToInstall()
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in Train(TestPaths.NewTempDir(), 2).Prepend(Cli)) psi.ArgumentList.Add(a);
        psi.Environment["OMPI_COMM_WORLD_SIZE"] = "2";
        psi.Environment["OMPI_COMM_WORLD_RANK"] = "0";
        psi.Environment["BCM_MPI_LIBRARY"] = "/nonexistent/libmpi.so.40";
        using var p = Process.Start(psi)!;
        string err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.Equal(2, p.ExitCode);
        Assert.Contains("apt-get install openmpi-bin", err);
        Assert.DoesNotContain("   at ", err);
        // Commands that do not split their work refuse to run N times.
        psi.ArgumentList.Clear();
        foreach (var a in new[] { Cli, "info", "x.safetensors" }) psi.ArgumentList.Add(a);
        using var q = Process.Start(psi)!;
        string err2 = q.StandardError.ReadToEnd();
        q.WaitForExit();
        Assert.Equal(2, q.ExitCode);
        Assert.Contains("does not run under mpirun", err2);
    }

    [Fact]
    public void SharesCoverEveryItemOnceInOrder()
    {
        foreach (var (total, size) in new[] { (11, 3), (10, 2), (3, 3), (1000, 7) })
        {
            var shares = Enumerable.Range(0, size).Select(r => Reports.Sharded.Share(total, r, size)).ToArray();
            Assert.Equal(0, shares[0].Start);
            for (int r = 1; r < size; r++) Assert.Equal(shares[r - 1].Start + shares[r - 1].Count, shares[r].Start);
            Assert.Equal(total, shares.Sum(s => s.Count));
            Assert.True(shares.Max(s => s.Count) - shares.Min(s => s.Count) <= 1);
        }
        Assert.Equal(1, SingleProcess.Instance.Size);
        Assert.Equal(new[] { 1.5f }, SingleProcess.Instance.Gather([1.5f]));
    }
}
