using System.Diagnostics;
using System.Globalization;
using Bcm.Checkpoints;
using Bcm.Data;
using Bcm.Training;
using Xunit;

namespace Bcm.Tests;

/// <summary>The bcm command as a user runs it: exit codes and messages for bad input, and the outputs of good input.</summary>
public sealed class CliTests
{
    private static (int Code, string Out, string Err) Bcm(params string[] args) => CliRunner.Bcm(args);

    private static Lazy<string> TinyRun => TestModels.TinyRun;

    private static void AssertCleanError((int Code, string Out, string Err) r, string expected)
    {
        Assert.NotEqual(0, r.Code);
        Assert.Contains(expected, r.Err);
        Assert.DoesNotContain("   at ", r.Err); // no stack trace
    }

    [Fact]
    public async Task SigtermSavesACheckpointAsCtrlCDoes()
    {
        if (OperatingSystem.IsWindows()) return; // no SIGTERM there: the test is about POSIX schedulers
        var dir = TestPaths.NewTempDir();
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "Bcm.Cli.dll"), "train", "--preset", "tiny", "--steps", "100000",
                     "--checkpoint-every", "100000", "--sample-every", "0", "--no-report", "--threads", "1", "--out", dir })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEndAsync();
        string stats = Path.Combine(dir, "stats.jsonl");
        var clock = Stopwatch.StartNew();
        while (!(File.Exists(stats) && new FileInfo(stats).Length > 0) && !p.HasExited && clock.Elapsed < TimeSpan.FromMinutes(2)) Thread.Sleep(100);
        if (p.HasExited) Assert.Fail("training ended before the signal: " + await stderr);
        using (var kill = Process.Start("kill", ["-TERM", p.Id.ToString()])) await kill.WaitForExitAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await p.WaitForExitAsync(timeout.Token);
        Assert.Equal(143, p.ExitCode);
        Assert.Contains("SIGTERM", await stderr);
        var saved = TrainingCheckpoint.List(dir);
        Assert.NotEmpty(saved);
        Assert.InRange(saved[^1].Step, 1, 99_999); // written at the step where it stopped, not at the end
        await stdout;
    }

    private const int TrimThreshold = -1, MmapThreshold = -3; // glibc's M_TRIM_THRESHOLD and M_MMAP_THRESHOLD

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "mallopt")]
    private static extern int Mallopt(int parameter, int value);

    /// <summary>
    /// A phase's peak memory starts from what the process holds, not from what earlier phases freed but the C allocator
    /// kept: after 600 MB of tensors are freed under a live one, trimming hands them back, and a small phase that
    /// follows is measured small (glibc only; before the fix bench reported cifar10's sampling at the training step's 6.8 GB).
    /// </summary>
    [Fact]
    public void PeakMemoryOfAPhaseExcludesWhatEarlierPhasesFreed()
    {
        if (!OperatingSystem.IsLinux() || !File.Exists("/proc/self/clear_refs"))
        {
            Console.WriteLine("skipped: needs Linux's /proc/self/clear_refs");
            return;
        }
        static double ResidentMegabytes() => Environment.WorkingSet / 1048576.0; // as training's stats.jsonl records it
        double retained = 0, trimmed = 0;
        // What glibc keeps after a free depends on its state (a dynamic mmap threshold, trims on free), which earlier tests
        // in this host change: fix both for the test, so that the 4 MB blocks come from the heap and stay with the process
        // when freed, as a training run's do; then set glibc's defaults back.
        Assert.Equal(1, Mallopt(MmapThreshold, 16 << 20));
        Assert.Equal(1, Mallopt(TrimThreshold, 1 << 30));
        try
        {
            var thread = new Thread(() =>
            {
                var blocks = Enumerable.Range(0, 150).Select(_ => TorchSharp.torch.ones(1 << 20)).ToList();
                using var pin = TorchSharp.torch.ones(16);
                foreach (var b in blocks) b.Dispose();
                retained = ResidentMegabytes();
                Reports.Throughput.ReturnFreedMemory();
                trimmed = ResidentMegabytes();
            });
            thread.Start();
            thread.Join();
        }
        finally
        {
            Mallopt(MmapThreshold, 128 << 10);
            Mallopt(TrimThreshold, 128 << 10);
        }
        // Trimming must give back most of the 600 MB freed.
        Assert.True(retained - trimmed > 300, $"resident {retained:F0} MB with the blocks freed, {trimmed:F0} MB after trimming");
        double? peak = Reports.Throughput.PeakResidentMegabytes(() => TorchSharp.torch.ones(16).Dispose());
        Assert.True(peak < retained - 150, $"a small phase measured at {peak:F0} MB");
    }

    /// <summary>bcm bench measures any network (a JSON configuration or a run), over sweeps, and writes JSON for scripts (its numbers are not asserted: speed is for benchmarks).</summary>
    [Fact]
    public void BenchMeasuresAnyNetworkAndWritesJson()
    {
        var dir = TestPaths.NewTempDir();
        string net = Path.Combine(dir, "net.json");
        File.WriteAllText(net, "{\"kind\": \"mlp\", \"dim\": 4, \"hidden\": 32, \"blocks\": 1, \"embed_channels\": 16}");
        var r = Bcm("bench", "--config", net, TinyRun.Value, "--batch-size", "2,4", "--thread-counts", "1", "--repeats", "1", "--json");
        Assert.True(r.Code == 0, r.Err);
        using var doc = System.Text.Json.JsonDocument.Parse(r.Out);
        Assert.True(doc.RootElement.GetProperty("machine").GetProperty("matmul_gflops").GetDouble() > 0);
        var rows = doc.RootElement.GetProperty("rows").EnumerateArray().ToArray();
        Assert.Equal(4, rows.Length); // 2 networks × 2 batch sizes
        Assert.Equal(["net.json", "net.json"], rows[..2].Select(x => x.GetProperty("name").GetString()));
        Assert.Equal([2, 4], rows[..2].Select(x => x.GetProperty("batch_size").GetInt32()));
        Assert.All(rows, x => Assert.True(x.GetProperty("train_images_per_second").GetDouble() > 0 && x.GetProperty("threads").GetInt32() == 1));
        if (OperatingSystem.IsLinux()) Assert.All(rows, x => Assert.True(x.GetProperty("sample_peak_megabytes").GetDouble() > 10));
        File.WriteAllText(net, "{\"kind\": \"mlp\", \"dim\": -4}");
        AssertCleanError(Bcm("bench", "--config", net, "--repeats", "1"), "not a network configuration");
        // A field the configuration does not have (here camelCase for hidden) is an error, not a silent default.
        File.WriteAllText(net, "{\"kind\": \"mlp\", \"dim\": 4, \"embedChannels\": 16}");
        AssertCleanError(Bcm("bench", "--config", net, "--repeats", "1"), "embedChannels");
        Assert.Equal(2, Bcm("bench", "--presets", "tiny", "--batch-size", "0").Code);
    }

    /// <summary>bcm bench --profile times every kind of layer of one-step sampling (shares and rates not asserted beyond their sense: speed is for benchmarks).</summary>
    [Fact]
    public void BenchProfilesSamplingLayerByLayer()
    {
        var r = Bcm("bench", "--presets", "tiny", "--batch-size", "4", "--repeats", "2", "--threads", "1", "--profile", "--json");
        Assert.True(r.Code == 0, r.Err);
        using var doc = System.Text.Json.JsonDocument.Parse(r.Out);
        var profile = doc.RootElement.GetProperty("profiles").EnumerateArray().Single();
        Assert.Equal(4, profile.GetProperty("batch_size").GetInt32());
        var rows = profile.GetProperty("rows").EnumerateArray().ToDictionary(x => x.GetProperty("kind").GetString()!);
        // One NFE calls every layer of the network once: the hooks see each of them.
        using var net = Networks.NetworkFactory.Create(Presets.Get("tiny").Network).Module;
        var modules = net.modules().ToList();
        Assert.Equal(modules.Count(m => m is TorchSharp.Modules.GroupNorm), rows["GroupNorm"].GetProperty("calls").GetInt64());
        Assert.Equal(modules.Count(m => m.named_parameters(recurse: false).Any(p => p.name == "weight" && p.parameter.dim() == 4 && p.parameter.shape[2] == 3)),
            rows["conv 3x3"].GetProperty("calls").GetInt64()); // Conv2d and the output convolution (OutputConv)
        Assert.Equal(modules.Count(m => m is TorchSharp.Modules.Linear), rows["Linear"].GetProperty("calls").GetInt64());
        Assert.True(rows["conv 3x3"].GetProperty("gflops").GetDouble() > 0);
        Assert.False(rows["GroupNorm"].TryGetProperty("gflops", out var none) && none.ValueKind != System.Text.Json.JsonValueKind.Null, "a normalisation has no FLOP count");
        Assert.Contains("between layers", rows.Keys);
        double shares = rows.Values.Sum(x => x.GetProperty("share").GetDouble());
        Assert.InRange(shares, 0.999, 1.001);
        Assert.True(profile.GetProperty("plain_seconds").GetDouble() > 0);
    }

    /// <summary>
    /// bcm cost measures every run's plans and training step side by side (numbers not asserted: speed is for
    /// benchmarks), and with eval's quality tables finds each run's fastest plan that reaches each target.
    /// </summary>
    [Trait("Category", "Slow")]
    [Fact]
    public void CostMeasuresEachRunsPlansAndTrainingStep()
    {
        var runs = new[] { ("bcm", "bct", false), ("edm", "edm", false), ("ict", "bct", true) }.Select(r =>
        {
            var dir = Path.Combine(TestPaths.NewTempDir(), r.Item1);
            using var t = Trainer.OpenOrResume(Presets.Get("tiny") with { Steps = 1, CheckpointEvery = 1, SampleEvery = 0, Objective = r.Item2, CtOnly = r.Item3 }, dir);
            t.Run();
            return dir;
        }).ToArray();
        // Quality as bcm eval writes it (made up: the floor at 10, so the default targets are 20, 15, 12.5 and 11).
        string quality = Path.Combine(TestPaths.NewTempDir(), "generation.csv");
        var table = new IO.CsvTable(["method", "family", "nfe", "fid", "kid"]).Row("real vs real (floor)", "Reference", 0, 10.0, 0.0);
        // Rows are joined on family and NFE, not on display names (these are not the plans' names).
        foreach (var (plan, nfe, fid) in new[] { ("one step", 1, 30.0), ("two", 2, 18.0), ("three", 3, 14.0), ("four", 4, 40.0) }) table.Row("ours, " + plan, "Bcm", nfe, fid, 0.0);
        foreach (var (nfe, fid) in new[] { (3, 100.0), (9, 19.0), (19, 12.0), (39, 11.5), (79, 10.5) }) table.Row("the baseline", "EdmBaseline", nfe, fid, 0.0);
        table.Row("the baseline, Euler", "EdmEuler", 9, 1.0, 0.0); // another solver at the same NFE is not the Heun row
        table.Write(quality);
        var outDir = TestPaths.NewTempDir();
        var c = Bcm(["cost", .. runs, "-b", "4", "--repeats", "1", "--threads", "1", "--quality", $"bcm={quality}", "--quality", $"edm={quality}", "--out", outDir]);
        Assert.True(c.Code == 0, c.Err);
        var rows = IO.CsvTable.Read(Path.Combine(outDir, "cost.csv"));
        Assert.Equal(16, rows.Count); // 4 plans and a training step for each consistency run, 5 Heun budgets and a step for the baseline
        Assert.Equal(["1", "2", "3", "4", "9", "3", "9", "19", "39", "79", "3", "1", "2", "3", "4", "4"], rows.Select(r => r["nfe"])); // a step's passes: BCT 9, EDM 3, iCT 4
        Assert.Contains(rows, r => r["what"] == "heun:40");
        Assert.Contains(rows, r => r["what"] == "ct only (iCT)");

        var reached = IO.CsvTable.Read(Path.Combine(outDir, "time-to-quality.csv"));
        Assert.Equal(["20", "20", "15", "15", "12.5", "12.5", "11", "11"], reached.Select(r => r["target"]));
        string Plan(string model, string target) => reached.Single(r => r["model"] == model && r["target"] == target)["plan"];
        Assert.Contains(Plan("bcm", "20"), new[] { "ancestral2", "zigzag3" }); // the faster of the two that reach it
        Assert.Equal("zigzag3", Plan("bcm", "15"));
        Assert.Equal("", Plan("bcm", "12.5")); // no plan reaches it
        Assert.Contains(Plan("edm", "12.5"), new[] { "heun:10", "heun:20", "heun:40" });
        Assert.Equal("heun:40", Plan("edm", "11"));
        foreach (var r in reached.Where(r => r["plan"] != ""))
        {
            double imagesPerSecond = double.Parse(rows.Single(c => c["model"] == r["model"] && c["what"] == r["plan"])["images_per_second"], CultureInfo.InvariantCulture);
            Assert.Equal(1000 / imagesPerSecond, double.Parse(r["seconds_per_1000"], CultureInfo.InvariantCulture), 1e-3 * 1000 / imagesPerSecond);
        }
        string md = File.ReadAllText(Path.Combine(outDir, "cost.md"));
        Assert.Contains("## Time to quality", md);
        Assert.Matches(@"\| edm \| edm \| \d+\.\d{3} \| 0\.333 \|", md); // each step's cost in BCT steps, measured and by FLOPs
        Assert.Matches(@"\| ict \| ct only \(iCT\) \| \d+\.\d{3} \| 0\.444 \|", md);
        Assert.Contains("| bcm | bct | 1.000 | 1.000 |", md);

        var bad = Bcm(["cost", runs[0], "--quality", "nosuchrun=" + quality, "--out", TestPaths.NewTempDir()]);
        Assert.Equal(2, bad.Code);
        Assert.Contains("nosuchrun", bad.Err);
        string noMetric = Path.Combine(TestPaths.NewTempDir(), "generation.csv");
        new IO.CsvTable(["method", "family", "nfe"]).Row("BCM onestep", "Bcm", 1).Write(noMetric);
        var refused = Bcm(["cost", runs[0], "--quality", "bcm=" + noMetric, "--out", outDir = TestPaths.NewTempDir()]);
        Assert.Equal(2, refused.Code);
        Assert.Contains("fid column", refused.Err);
        Assert.False(File.Exists(Path.Combine(outDir, "cost.csv")), "a bad quality table is refused before anything is measured");
    }

    /// <summary>One vocabulary: -n/--count for how many, --levels for noise levels, --jumps for a plan's jumps; each default shown once.</summary>
    [Trait("Category", "Slow")]
    [Fact]
    public void OneVocabularyAcrossCommands()
    {
        string run = TinyRun.Value;
        foreach (var (args, old) in new[]
                 {
                     (new[] { "sample", "-c", run, "--steps", "2" }, "--steps"),
                     (new[] { "restore", "x.png", "-c", run, "--rounds", "3" }, "--rounds"),
                     (new[] { "eval", "-c", run, "--samples", "10" }, "--samples"),
                 })
        {
            var r = Bcm(args);
            Assert.Equal(2, r.Code); // a parse error is bad input
            Assert.Contains($"'{old}'", r.Err);
        }
        foreach (var command in new[] { "sample", "invert", "interpolate", "restore", "eval" })
        {
            var help = Bcm(command, "--help").Out;
            Assert.Contains("-n, --count", help);
            foreach (var line in help.Split('\n').Where(l => l.Contains("[default:")))
                Assert.DoesNotMatch(@"\(default [^()]*\)", line);
        }
        Assert.Contains("--levels", Bcm("inpaint", "--help").Out);
        Assert.Contains("--jumps", Bcm("sample", "--help").Out);
    }

    /// <summary>Bad numbers and names that used to slip through, crash natively or exit 1: each is a one-line error with exit code 2.</summary>
    [Trait("Category", "Slow")]
    [Fact]
    public void OutOfRangeOptionsAreRefusedWithExitCode2()
    {
        var dir = TestPaths.NewTempDir();
        string png = Path.Combine(dir, "digit.png");
        using (var img = DataSources.Load("digits").Batch([0], 8)[0]) Imaging.ImageIO.SavePng(img, png);
        string run = TinyRun.Value;
        void Refused(string expected, params string[] args)
        {
            var r = Bcm(args);
            Assert.True(r.Code == 2, $"bcm {string.Join(' ', args)}: exit {r.Code}, {r.Err}");
            Assert.Contains(expected, r.Err);
            Assert.DoesNotContain("   at ", r.Err);
        }
        Refused("--bogus", "sample", "--bogus");                                              // parse errors are bad input too
        Refused("at most 1024", "sample", "-c", run, "--threads", "2147483647");
        Refused("at most 10000 steps", "sample", "-c", run, "--jumps", "2147483647", "--out", dir);
        Refused("unknown preset 'nope'", "sample", "-c", run, "--preset", "nope", "--out", dir);
        Refused("does not fit", "inpaint", png, "-c", run, "--box", "1,0,2147483647,1", "--out", dir);
        Refused("must not increase", "restore", png, "-c", run, "--levels", "3,5", "--out", dir);
        Refused("data limit must be ≥ 0", "train", "--preset", "tiny", "--data-limit", "-1", "--out", Path.Combine(dir, "a"));
        Refused("sample interval must be ≥ 0", "train", "--preset", "tiny", "--sample-every", "-1", "--out", Path.Combine(dir, "b"));
        Refused("steps must be at most", "train", "--preset", "tiny", "--steps", "100000000000000", "--out", Path.Combine(dir, "c"));
        Refused("--batch-size '-1': expected integers in 1..65536", "bench", "-b", "-1");
        Refused("--batch-size '0': expected integers in 1..65536", "bench", "-b", "0");
        Refused("goes up in noise level", "interpolate", "--seeds", "1", "2", "-c", run, "--regenerate", "invert1", "--out", dir);
        Refused("goes up in noise level", "interpolate", png, png, "-c", run, "--regenerate", "invert1", "--out", dir);
        string other = Path.Combine(TestPaths.NewTempDir(), "digit.png");
        File.Copy(png, other);
        Refused("two inputs are named digit", "invert", png, other, "-c", run, "--out", dir);
    }

    [Fact]
    public void MissingCheckpoint() => AssertCleanError(Bcm("sample", "--checkpoint", "/nonexistent/model.safetensors"), "no such checkpoint");

    [Fact]
    public void TruncatedCheckpoint()
    {
        var dir = TestPaths.NewTempDir();
        string path = Path.Combine(dir, "cut.safetensors");
        var bytes = File.ReadAllBytes(TrainingCheckpoint.List(TinyRun.Value)[^1].Path);
        File.WriteAllBytes(path, bytes[..(bytes.Length - 1000)]);
        AssertCleanError(Bcm("sample", "--checkpoint", path, "--out", dir), "truncated");
    }

    [Fact]
    public void CheckpointOfAnotherArchitecture() =>
        AssertCleanError(Bcm("sample", "--checkpoint", TestPaths.Golden("adm-tiny-uncond.state_dict.pt"), "--preset", "tiny"), "checkpoint of another architecture");

    [Fact]
    public void UnknownPreset() => AssertCleanError(Bcm("train", "--preset", "enormous", "--out", TestPaths.NewTempDir()), "unknown preset 'enormous'");

    [Fact]
    public void ImageOfTheWrongSizeOrChannels()
    {
        var dir = TestPaths.NewTempDir();
        string png = Path.Combine(dir, "big.png");
        var mnist = DataSources.Load("mnist:" + TestPaths.Data("mnist") + "@test");
        using (var img = mnist.Batch([0], 28)[0]) Imaging.ImageIO.SavePng(img, png);
        AssertCleanError(Bcm("invert", png, "--checkpoint", TinyRun.Value, "--out", dir), "the model takes 8x8");
        AssertCleanError(Bcm("invert", "--checkpoint", TinyRun.Value, Path.Combine(dir, "absent.png")), "no such file");
    }

    [Fact]
    public void BadPlanPointsAtTheToken() =>
        AssertCleanError(Bcm("sample", "--checkpoint", TinyRun.Value, "--plan", "80>0.002 3>0.002", "--out", TestPaths.NewTempDir()), "token 2 '3>0.002'");

    [Fact]
    public void SampleInvertAndInfoProduceTheirOutputs()
    {
        var dir = TestPaths.NewTempDir();
        var s = Bcm("sample", "--checkpoint", TinyRun.Value, "--plan", "zigzag3", "-n", "10", "-b", "4", "--out", dir, "--trajectory");
        Assert.True(s.Code == 0, s.Err);
        Assert.True(File.Exists(Path.Combine(dir, "samples.png")));
        Assert.True(File.Exists(Path.Combine(dir, "trajectory.png")));
        var (tensors, meta) = SafeTensors.Load(Path.Combine(dir, "samples.safetensors"));
        Assert.Equal(new long[] { 10, 1, 8, 8 }, tensors["samples"].shape);
        Assert.Equal("80>0.002 +0.1 0.1>1.2>0.002", meta["plan"]);

        var inv = Path.Combine(dir, "inv");
        var r = Bcm("invert", "--checkpoint", TinyRun.Value, "--data", "digits", "-n", "5", "--out", inv);
        Assert.True(r.Code == 0, r.Err);
        var csv = File.ReadAllLines(Path.Combine(inv, "metrics.csv"));
        Assert.Equal("image,mse,psnr_db", csv[0]);
        Assert.Equal(7, csv.Length); // header, 5 images, mean
        var (latents, _) = SafeTensors.Load(Path.Combine(inv, "latents.safetensors"));
        Assert.Equal(new long[] { 5, 1, 8, 8 }, latents["latents"].shape);

        var info = Bcm("info", TinyRun.Value);
        Assert.Equal(0, info.Code);
        Assert.Contains("bcm training checkpoint, step 2", info.Out);
    }

    [Fact]
    public void InterpolateWritesAStrip()
    {
        var dir = TestPaths.NewTempDir();
        var r = Bcm("interpolate", "--seeds", "1", "2", "-n", "4", "--checkpoint", TinyRun.Value, "--out", dir);
        Assert.True(r.Code == 0, r.Err);
        Assert.True(File.Exists(Path.Combine(dir, "strip.png")));
        var (path, _) = SafeTensors.Load(Path.Combine(dir, "path.safetensors"));
        Assert.Equal(new long[] { 4, 1, 8, 8 }, path["path"].shape);
        AssertCleanError(Bcm("interpolate", Path.Combine(dir, "strip.png"), "--checkpoint", TinyRun.Value), "exactly two images");
    }

    // psnr.csv holds, at full precision, the two PSNRs the command printed (to two decimals).
    private static void AssertPsnrFile(string dir, string printed, string pattern, string first, string second)
    {
        var m = System.Text.RegularExpressions.Regex.Match(printed, pattern);
        Assert.True(m.Success, printed);
        var rows = File.ReadAllLines(Path.Combine(dir, "psnr.csv"));
        Assert.Equal("image,psnr_db", rows[0]);
        Assert.Equal([$"\"{first}\",", $"\"{second}\","], rows[1..].Select(r => r[..(r.IndexOf(',') + 1)]));
        for (int i = 0; i < 2; i++)
            Assert.Equal(m.Groups[i + 1].Value, double.Parse(rows[i + 1].Split(',')[1], System.Globalization.CultureInfo.InvariantCulture).ToString("F2", System.Globalization.CultureInfo.InvariantCulture));
    }

    [Trait("Category", "Slow")]
    [Fact]
    public void InpaintDegradeRestoreAndEditWriteTheirOutputs()
    {
        var dir = TestPaths.NewTempDir();
        string png = Path.Combine(dir, "digit.png");
        using (var img = DataReaders.BuiltInDigits().Batch([5], 8)[0]) Imaging.ImageIO.SavePng(img, png);
        var inpaint = Bcm("inpaint", png, "--box", "2,2,4,4", "--levels", "10,1.2", "--checkpoint", TinyRun.Value, "--out", dir);
        Assert.True(inpaint.Code == 0, inpaint.Err);
        Assert.Contains("4 NFE", inpaint.Out);
        Assert.True(File.Exists(Path.Combine(dir, "inpainted.png")));
        AssertCleanError(Bcm("inpaint", png, "--box", "6,6,4,4", "--checkpoint", TinyRun.Value), "does not fit");
        AssertCleanError(Bcm("inpaint", png, "--checkpoint", TinyRun.Value), "--mask MASK.png or --box");

        var degrade = Bcm("degrade", png, "-q", "10", "--out", dir);
        Assert.True(degrade.Code == 0, degrade.Err);
        string jpeg = Path.Combine(dir, "digit.jpeg10.png");
        Assert.True(File.Exists(jpeg));
        var restore = Bcm("restore", jpeg, "--clean", png, "--checkpoint", TinyRun.Value, "--out", dir);
        Assert.True(restore.Code == 0, restore.Err);
        Assert.Matches(@"PSNR against the clean image \d+\.\d+ dB before, \d+\.\d+ dB after", restore.Out);
        AssertPsnrFile(dir, restore.Out, @"(\d+\.\d+) dB before, (\d+\.\d+) dB after", "input", "restored");
        var edit = Bcm("edit", png, "--levels", "5", "--checkpoint", TinyRun.Value, "--out", dir);
        Assert.True(edit.Code == 0, edit.Err);
        Assert.True(File.Exists(Path.Combine(dir, "edited.png")));
        AssertCleanError(Bcm("restore", jpeg, "--levels", "0.01", "--checkpoint", TinyRun.Value), "round 1 '0.01'");

        var down = Bcm("degrade", png, "--downsample", "2", "--out", dir);
        Assert.True(down.Code == 0, down.Err);
        string small = Path.Combine(dir, "digit.down2.png");
        var sr = Bcm("superres", small, "--factor", "2", "--clean", png, "--levels", "10,1.2", "--checkpoint", TinyRun.Value, "--out", dir);
        Assert.True(sr.Code == 0, sr.Err);
        Assert.Matches(@"PSNR against the clean image \d+\.\d+ dB \(bilinear upsampling \d+\.\d+ dB", sr.Out);
        AssertPsnrFile(dir, sr.Out, @"(\d+\.\d+) dB \(bilinear upsampling (\d+\.\d+) dB", "superres", "bilinear");
        Assert.True(File.Exists(Path.Combine(dir, "superres.png")));
        AssertCleanError(Bcm("superres", png, "--factor", "2", "--checkpoint", TinyRun.Value), "superres takes a 4x4 image (the model's 8x8 divided by --factor 2)");

        // Measurement mode: JPEG-degrade a slice of a data set, restore, report PSNR per quality.
        var measure = Bcm("restore", "--data", "digits", "--offset", "10", "-n", "6", "-q", "10,30", "--checkpoint", TinyRun.Value, "--out", dir);
        Assert.True(measure.Code == 0, measure.Err);
        Assert.Matches(@"JPEG Q=10: PSNR \d+\.\d+ dB → \d+\.\d+ dB", measure.Out);
        var csv = File.ReadAllLines(Path.Combine(dir, "restoration.csv"));
        Assert.Equal(3, csv.Length);
        Assert.StartsWith("10,6,", csv[1]);
        Assert.True(File.Exists(Path.Combine(dir, "restoration-q30.png")));
        AssertCleanError(Bcm("restore", jpeg, "--data", "digits", "--checkpoint", TinyRun.Value), "not both");
        AssertCleanError(Bcm("restore", "--data", "digits", "-q", "0", "--checkpoint", TinyRun.Value), "--jpeg-quality '0'");
        AssertCleanError(Bcm("restore", "--data", "digits", "--offset", "1790", "-n", "100", "--checkpoint", TinyRun.Value), "goes past the end");
        AssertCleanError(Bcm("restore", "--checkpoint", TinyRun.Value), "give the image to restore");

        // Inpainting measured on a data set: BCM, consistency-model rounds and harmonic filling, scored with the digits classifier.
        var inpaintMeasure = Bcm("inpaint", "--data", "digits", "--offset", "20", "-n", "6", "--levels", "20,5", "--checkpoint", TinyRun.Value,
            "--classifier", Path.Combine(TestPaths.Root, "classifiers", "digits-8.safetensors"), "--out", dir);
        Assert.True(inpaintMeasure.Code == 0, inpaintMeasure.Err);
        Assert.Matches(@"bcm\s+NFE\s+4\s+hole RMSE \d\.\d{4}\s+PSNR\s+\d+\.\d+ dB\s+FID", inpaintMeasure.Out);
        Assert.Equal("method,nfe,hole_rmse,psnr,fid,kid,prediction_kept", File.ReadLines(Path.Combine(dir, "inpainting.csv")).First());
        var rows = IO.CsvTable.Read(Path.Combine(dir, "inpainting.csv"));
        Assert.Equal(["bcm", "cm-rounds", "harmonic"], rows.Select(r => r["method"]));
        Assert.Equal(["4", "2", "0"], rows.Select(r => r["nfe"]));
        Assert.All(rows, r => Assert.InRange(double.Parse(r["prediction_kept"], CultureInfo.InvariantCulture), 0, 1));
        Assert.True(File.Exists(Path.Combine(dir, "inpainting.png")));
        AssertCleanError(Bcm("inpaint", png, "--data", "digits", "--checkpoint", TinyRun.Value), "not both");
        AssertCleanError(Bcm("inpaint", "--data", "digits", "--offset", "1790", "-n", "100", "--checkpoint", TinyRun.Value), "goes past the end");
        AssertCleanError(Bcm("inpaint", "--data", "digits", "--box", "6,0,4,2", "--checkpoint", TinyRun.Value), "does not fit");
        AssertCleanError(Bcm("inpaint", "--checkpoint", TinyRun.Value), "give the image to inpaint");
    }

    [Trait("Category", "Slow")]
    [Fact]
    public void EvalMeasuresAMixtureModelAgainstTheOracleWithItsBaseline()
    {
        var dir = TestPaths.NewTempDir();
        var options = Presets.Get("mixture2d") with
        {
            Steps = 3, BatchSize = 16, CheckpointEvery = 3, DataLimit = 256, Network = new Networks.MlpConfig { Dim = 2, Hidden = 16, Blocks = 1, EmbedChannels = 8 },
        };
        string bcm = Path.Combine(dir, "bcm"), edm = Path.Combine(dir, "edm");
        using (var t = Trainer.OpenOrResume(options, bcm)) t.Run();
        using (var t = Trainer.OpenOrResume(options with { Objective = "edm" }, edm)) t.Run();
        string outDir = Path.Combine(dir, "eval");
        var r = Bcm("eval", "--checkpoint", bcm, "--baseline", edm, "-n", "200", "--out", outDir);
        Assert.True(r.Code == 0, r.Err);
        Assert.Contains("exact samples (floor)", r.Out);
        foreach (var f in new[] { "report.md", "results.json", "generation.csv", "inversion.csv", "jump-error.csv", "jump-error.png", "nfe-mmd.png", "zigzag.png", "samples-00.png" })
            Assert.True(File.Exists(Path.Combine(outDir, f)), f);
        var generation = File.ReadAllLines(Path.Combine(outDir, "generation.csv"));
        Assert.Contains(generation, l => l.StartsWith("\"EDM Heun\",EdmBaseline,79,", StringComparison.Ordinal));
        Assert.Contains(generation, l => l.StartsWith("\"BCM mixed4\",Bcm,4,", StringComparison.Ordinal));
        Assert.Contains(File.ReadAllLines(Path.Combine(outDir, "inversion.csv")), l => l.StartsWith("\"EDM Heun ODE inversion + Heun\",EdmBaseline,99,", StringComparison.Ordinal));
        // Sampling a vector model writes a CSV and, in 2-D, a scatter plot.
        string sampleDir = Path.Combine(dir, "samples");
        var sampled = Bcm("sample", "--checkpoint", bcm, "-n", "20", "--out", sampleDir);
        Assert.True(sampled.Code == 0, sampled.Err);
        Assert.Equal(21, File.ReadAllLines(Path.Combine(sampleDir, "samples.csv")).Length);
        Assert.True(File.Exists(Path.Combine(sampleDir, "samples.png")));
        AssertCleanError(Bcm("sample", "--checkpoint", bcm, "--trajectory", "--out", sampleDir), "this model makes vectors");
        AssertCleanError(Bcm("interpolate", "--seeds", "1", "2", "--checkpoint", bcm), "this command works on image models");

        // The plans compared can be chosen (e.g. an iCT model's own multistep sampler); inversion plans are refused.
        string planDir = Path.Combine(dir, "eval-plans");
        var chosen = Bcm("eval", "--checkpoint", bcm, "--plans", "onestep,cm:2", "-n", "100", "--out", planDir);
        Assert.True(chosen.Code == 0, chosen.Err);
        var rows = File.ReadAllLines(Path.Combine(planDir, "generation.csv"));
        Assert.Contains(rows, l => l.StartsWith("\"BCM cm:2\",Bcm,2,", StringComparison.Ordinal));
        Assert.DoesNotContain(rows, l => l.Contains("mixed4"));
        AssertCleanError(Bcm("eval", "--checkpoint", bcm, "--plans", "invert1"), "is an inversion plan");
        // The baseline's budgets can be chosen for a mixture model too.
        string budgetDir = Path.Combine(dir, "eval-budgets");
        var budgets = Bcm("eval", "--checkpoint", bcm, "--baseline", edm, "--plans", "onestep", "-n", "100", "--baseline-nfe", "4", "--inversion-nfe", "2", "--out", budgetDir);
        Assert.True(budgets.Code == 0, budgets.Err);
        Assert.Equal(["3"], File.ReadAllLines(Path.Combine(budgetDir, "generation.csv")).Where(l => l.StartsWith("\"EDM Heun\"", StringComparison.Ordinal)).Select(l => l.Split(',')[2]));
        Assert.Equal(["1"], File.ReadAllLines(Path.Combine(budgetDir, "inversion.csv")).Where(l => l.StartsWith("\"EDM Heun ODE", StringComparison.Ordinal)).Select(l => l.Split(',')[2]));
        // ... and its solvers: Euler and DPM-Solver++(2M) spend one evaluation a step, each in its own family (rows, curves).
        string solverDir = Path.Combine(dir, "eval-solvers");
        var solvers = Bcm("eval", "--checkpoint", bcm, "--baseline", edm, "--plans", "onestep", "-n", "100", "--baseline-nfe", "2,4",
            "--inversion-nfe", "3", "--baseline-solvers", "euler,dpmpp2m", "--out", solverDir);
        Assert.True(solvers.Code == 0, solvers.Err);
        var generated = File.ReadAllLines(Path.Combine(solverDir, "generation.csv"));
        Assert.Equal(["EdmEuler,2", "EdmEuler,4", "EdmDpmSolver2M,2", "EdmDpmSolver2M,4"],
            generated.Where(l => l.StartsWith("\"EDM", StringComparison.Ordinal)).Select(l => string.Join(',', l.Split(',')[1..3])));
        Assert.Equal(["EdmEuler,3", "EdmDpmSolver2M,3"],
            File.ReadAllLines(Path.Combine(solverDir, "inversion.csv")).Where(l => l.StartsWith("\"EDM", StringComparison.Ordinal)).Select(l => string.Join(',', l.Split(',')[1..3])));
        AssertCleanError(Bcm("eval", "--checkpoint", bcm, "--baseline", edm, "--baseline-solvers", "rk4"), "choose from heun, euler, dpmpp2m");
        // A BCM run is not a baseline, and an image model needs its classifier.
        AssertCleanError(Bcm("eval", "--checkpoint", bcm, "--baseline", bcm), "not an EDM baseline run");
        AssertCleanError(Bcm("eval", "--checkpoint", TinyRun.Value, "--classifier", Path.Combine(dir, "none.safetensors")), "bcm classifier");
    }

    [Trait("Category", "Slow")]
    [Fact]
    public void ClassifierAndImageEvalProduceTheirReport()
    {
        var dir = TestPaths.NewTempDir();
        string classifier = Path.Combine(dir, "digits-8.safetensors");
        var c = Bcm("classifier", "--data", "digits", "--size", "8", "--epochs", "1", "--out", classifier);
        Assert.True(c.Code == 0, c.Err);
        // The built-in digits have no test split: the command says so and calls its accuracy what it is.
        Assert.Contains("digits has no test split", c.Out);
        Assert.Matches(@"training accuracy \d+\.\d+ % on \d+ images; sha256 [0-9a-f]{64}", c.Out);
        Assert.DoesNotContain("test accuracy", c.Err); // not even in the per-epoch lines: digits has no test split
        string outDir = Path.Combine(dir, "eval");
        var r = Bcm("eval", "--checkpoint", TinyRun.Value, "--classifier", classifier, "-n", "64", "--inversion-images", "16", "--out", outDir);
        Assert.True(r.Code == 0, r.Err);
        Assert.Contains("real vs real (floor)", r.Out);
        foreach (var f in new[] { "report.md", "results.json", "generation.csv", "reconstruction.csv", "nfe-fid.png", "samples-bcm-onestep.png", "roundtrip-bcm-invert1.png" })
            Assert.True(File.Exists(Path.Combine(outDir, f)), f);
        Assert.Contains("sha256", File.ReadAllText(Path.Combine(outDir, "results.json")));

        // Beside an EDM baseline, its Heun budgets and ODE round trips are the ones asked for (NFE within each budget).
        string edm = Path.Combine(dir, "edm");
        using (var t = Trainer.OpenOrResume(Presets.Get("tiny") with { Steps = 2, CheckpointEvery = 2, SampleEvery = 0, Objective = "edm" }, edm)) t.Run();
        string baselineDir = Path.Combine(dir, "eval-baseline");
        var b = Bcm("eval", "--checkpoint", TinyRun.Value, "--baseline", edm, "--classifier", classifier, "-n", "16", "--inversion-images", "8",
                    "--plans", "onestep", "--baseline-nfe", "4,10", "--inversion-nfe", "2", "--out", baselineDir);
        Assert.True(b.Code == 0, b.Err);
        var heun = File.ReadAllLines(Path.Combine(baselineDir, "generation.csv")).Where(l => l.StartsWith("\"EDM Heun\"", StringComparison.Ordinal)).ToArray();
        Assert.Equal(["3", "9"], heun.Select(l => l.Split(',')[2]));
        var ode = File.ReadAllLines(Path.Combine(baselineDir, "reconstruction.csv")).Where(l => l.Contains("EDM ODE", StringComparison.Ordinal)).ToArray();
        Assert.Equal(["1,1"], ode.Select(l => string.Join(',', l.Split(',')[2..4])));
        AssertCleanError(Bcm("eval", "--checkpoint", TinyRun.Value, "--baseline-nfe", "4"), "give --baseline RUN too");
        AssertCleanError(Bcm("eval", "--checkpoint", TinyRun.Value, "--baseline", edm, "--classifier", classifier, "--inversion-nfe", "2,x"), "--inversion-nfe 'x'");
    }

    [Trait("Category", "Slow")]
    [Fact]
    public void TrainWritesItsReportAndFineTunesAConsistencyModelWithThePapersSettings()
    {
        // A finished image run writes its report (held-out round trip, sample grids) and says its numbers.
        var ict = TestPaths.NewTempDir();
        var r = Bcm("train", "--preset", "tiny", "--ct-only", "--steps", "2", "--threads", "1", "--out", ict);
        Assert.True(r.Code == 0, r.Err);
        Assert.Contains("inversion round trip (", r.Out);
        Assert.True(File.Exists(Path.Combine(ict, "report", "report.md")));
        // From a consistency model, the official fine-tuning settings apply unless given: N 321 and learning rate 1e-4.
        var tuned = TestPaths.NewTempDir();
        r = Bcm("train", "--preset", "tiny", "--init-from", ict, "--steps", "1", "--threads", "1", "--no-report", "--out", tuned);
        Assert.True(r.Code == 0, r.Err);
        Assert.Contains("fine-tuning from a consistency model: N fixed at 321, learning rate 0.0001", r.Err);
        r = Bcm("train", "--preset", "tiny", "--init-from", ict, "--fixed-scales", "11", "--steps", "1", "--threads", "1", "--no-report", "--out", TestPaths.NewTempDir());
        Assert.Contains("N fixed at 11", r.Err);
    }

    [Trait("Category", "Slow")]
    [Fact]
    public void TrainStopsOnItsTimeBudgetWithACheckpointAndResumes()
    {
        var dir = TestPaths.NewTempDir();
        var r = Bcm("train", "--preset", "tiny", "--max-minutes", "0.05", "--out", dir, "--no-report");
        Assert.True(r.Code == 0, r.Err);
        Assert.Contains("time budget of 0.05 min reached at step", r.Out);
        var saved = TrainingCheckpoint.List(dir);
        Assert.NotEmpty(saved);
        Assert.InRange(saved[^1].Step, 1, 299);
        AssertCleanError(Bcm("train", "--preset", "tiny", "--max-minutes", "0", "--out", dir), "--max-minutes must be positive");
        AssertCleanError(Bcm("train", "--preset", "tiny", "--objective", "score", "--out", TestPaths.NewTempDir()), "objective must be bct or edm");
    }

    [Fact]
    public void HelpListsTheCommands()
    {
        var r = Bcm("--help");
        Assert.Equal(0, r.Code);
        foreach (var c in new[] { "train", "sample", "invert", "interpolate", "inpaint", "degrade", "restore", "edit", "info", "bench", "eval", "classifier", "superres" }) Assert.Contains(c, r.Out);
    }
}
