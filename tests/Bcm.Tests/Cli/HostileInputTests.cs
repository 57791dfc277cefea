using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using Bcm.Checkpoints;
using Bcm.Data;
using Bcm.IO;
using Bcm.Training;
using Xunit;
using Xunit.Abstractions;

namespace Bcm.Tests;

/// <summary>
/// The second battery of hostile inputs (issue 27), each case bounded in memory and time: files that inflate far
/// beyond their size, FIFOs and devices in every input position, options that would reach libtorch's allocator or a
/// .NET overflow, inputs that gave a silent wrong result, and messages that did not name the problem.
/// </summary>
public sealed class HostileInputTests(ITestOutputHelper output)
{
    private const long MemoryBudget = 512L << 20; // per case, on top of the process before it
    private static readonly TimeSpan TimeBudget = TimeSpan.FromSeconds(60);

    private static (int Code, string Out, string Err) Bcm(params string[] args) => CliRunner.Bcm(args);

    private static void AssertRefused((int Code, string Out, string Err) r, string expected)
    {
        Assert.True(r.Code == 2, $"exit {r.Code}: {r.Err}");
        Assert.Contains(expected, r.Err);
        Assert.DoesNotContain("   at ", r.Err);
        Assert.DoesNotContain("internal error", r.Err);
    }

    // Runs a read that must be refused with one of the project's bad-input exceptions, within the memory and time budgets.
    private void Refused(string what, Action read, string expected, Action? unblock = null)
    {
        var clock = Stopwatch.StartNew();
        Task? task = null;
        bool done = false;
        double grown = Growth(() =>
        {
            task = Task.Run(read);
            done = ((IAsyncResult)task).AsyncWaitHandle.WaitOne(TimeBudget);
        });
        if (!done)
        {
            unblock?.Invoke();
            Assert.Fail($"{what}: still reading after {TimeBudget.TotalSeconds} s (a hang)");
        }
        var e = task!.Exception?.InnerException ?? throw new Xunit.Sdk.XunitException($"{what}: was accepted");
        Assert.True(e is InvalidDataException or CheckpointException or FileNotFoundException or ArgumentException, $"{what}: {e.GetType().Name}: {e.Message}");
        Assert.Contains(expected, e.Message);
        output.WriteLine($"{what}: refused in {clock.ElapsedMilliseconds} ms, peak growth {grown:F0} MB: {e.Message}");
        Assert.True(grown < MemoryBudget >> 20, $"{what}: the process grew by {grown:F0} MB");
    }

    // The peak resident memory during action above the resident memory before it, in MB (0 where it cannot be read).
    private static double Growth(Action action)
    {
        Reports.Throughput.ReturnFreedMemory();
        double before;
        using (var process = Process.GetCurrentProcess()) before = process.WorkingSet64 / 1048576.0;
        return Reports.Throughput.PeakResidentMegabytes(action) is double peak ? peak - before : 0;
    }

    private static string Temp(string name) => Path.Combine(TestPaths.NewTempDir(), name);

    private static void WriteZeros(Stream s, long count)
    {
        var zeros = new byte[1 << 20];
        for (long left = count; left > 0; left -= zeros.Length) s.Write(zeros, 0, (int)Math.Min(zeros.Length, left));
    }

    [Fact]
    public void ATorchZipWhosePickleInflatesFarBeyondItsSizeIsRefusedAtTheCap()
    {
        string path = Temp("bomb.pt");
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Create))
        using (var s = zip.CreateEntry("archive/data.pkl", CompressionLevel.SmallestSize).Open())
            WriteZeros(s, 3 * TorchPickleReader.MaxPickleBytes);
        Assert.True(new FileInfo(path).Length < 1 << 20, "the bomb is small on disk");
        Refused(".pt with a 192 MiB data.pkl", () => TorchPickleReader.Load(path), "the most a state_dict pickle can legitimately hold");
    }

    [Fact]
    public void AGzipIdxFileIsReadOnlyAsFarAsItsHeaderSays()
    {
        // A header of one 28x28 image followed by a gigabyte of zeros once inflated: one image is read, the rest never inflated.
        string images = Temp("train-images-idx3-ubyte.gz");
        using (var gz = new GZipStream(File.Create(images), CompressionLevel.SmallestSize))
        {
            gz.Write([0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 28, 0, 0, 0, 28]);
            WriteZeros(gz, 1L << 30);
        }
        var clock = Stopwatch.StartNew();
        ImageDataset? set = null;
        double grown = Growth(() => set = DataReaders.Idx(images, null, "bomb"));
        Assert.Equal(1, set!.Count);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}: the rest of the stream was inflated");
        Assert.True(grown < MemoryBudget >> 20, $"grew by {grown:F0} MB");

        // Headers that announce more than the tool loads, or negative counts, are refused before any data is read.
        string absurd = Temp("absurd-idx3-ubyte");
        File.WriteAllBytes(absurd, [0, 0, 8, 3, 0x7F, 0xFF, 0xFF, 0xFF, 0, 0, 0x7F, 0xFF, 0, 0, 0x7F, 0xFF]);
        Refused("IDX announcing 2³¹ images of 32767²", () => DataReaders.Idx(absurd, null, "absurd"), "more than the");
        string negative = Temp("negative-idx3-ubyte");
        File.WriteAllBytes(negative, [0, 0, 8, 3, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 28, 0, 0, 0, 28]);
        Refused("IDX with a count of -1", () => DataReaders.Idx(negative, null, "negative"), "image count is -1; it must be at least 1");
        string promised = Temp("short-idx3-ubyte");
        File.WriteAllBytes(promised, [0, 0, 8, 3, 0, 0, 0x10, 0, 0, 0, 0, 28, 0, 0, 0, 28, 1, 2, 3]);
        Refused("IDX promising 4,096 images and holding 3 bytes", () => DataReaders.Idx(promised, null, "short"), "truncated");
    }

    [Fact]
    public void ADigitsCsvThatInflatesBeyondTheCapIsRefused()
    {
        string path = Temp("digits.csv.gz");
        using (var gz = new GZipStream(File.Create(path), CompressionLevel.SmallestSize))
        {
            var line = Encoding.ASCII.GetBytes(string.Join(",", Enumerable.Repeat("0", 65)) + "\n");
            for (long written = 0; written <= DataReaders.MaxCsvBytes; written += line.Length) gz.Write(line);
        }
        Refused("a digits CSV of 64 MiB and more", () => DataReaders.DigitsCsv(path), "once inflated");
    }

    public static TheoryData<string> SpecialFiles => ["fifo", "device"];

    // Every reader of a file the user names, as the library exposes it.
    public static readonly (string What, Action<string> Read)[] Readers =
    [
        ("checkpoint (safetensors)", p => SafeTensors.Load(p)),
        ("checkpoint (.pt)", p => TorchPickleReader.Load(p + ".pt")),
        ("checkpoint info", p => CheckpointInfo.Read(p)),
        ("model", p => ModelLoader.Load(p)),
        ("CSV table", p => CsvTable.Read(p)),
        ("digits CSV", p => DataReaders.DigitsCsv(p)),
        ("IDX images", p => DataReaders.Idx(p, null, "x")),
        ("image", p => Imaging.ImageIO.ReadPixels(p, 1, 8, resize: true)),
        ("classifier", p => Metrics.Classifier.Load(p)),
        ("network configuration", p => Reports.Throughput.ConfigOf(p)),
    ];

    [Theory]
    [MemberData(nameof(SpecialFiles))]
    public void AFifoOrADeviceIsRefusedInEveryInputPosition(string kind)
    {
        if (OperatingSystem.IsWindows()) return; // no FIFOs or device files there
        foreach (var (what, read) in Readers)
        {
            string path = kind == "device" ? "/dev/zero" : MakeFifo(Temp("pipe"));
            string pt = path + ".pt";
            if (kind == "fifo") MakeFifo(pt);
            else File.CreateSymbolicLink(pt = Temp("zero.pt"), "/dev/zero");
            Action<string> reader = what == "checkpoint (.pt)" ? _ => TorchPickleReader.Load(pt) : read;
            Refused($"{what} from a {kind}", () => reader(path), kind == "fifo" ? "FIFO" : "device", unblock: () => Unblock(path, pt));
        }
    }

    [Fact]
    public void TheCliRefusesAFifoAsCheckpointStatsFileAndQualityTable()
    {
        if (OperatingSystem.IsWindows()) return;
        string fifo = MakeFifo(Temp("pipe.safetensors"));
        AssertRefused(Bcm("info", fifo), "FIFO");
        AssertRefused(Bcm("sample", "-c", fifo, "--out", TestPaths.NewTempDir()), "FIFO");
        string run = TestPaths.NewTempDir();
        MakeFifo(Path.Combine(run, "stats.jsonl"));
        AssertRefused(Bcm("plot", run), "FIFO");
        string tiny = TestModels.TinyRun.Value;
        AssertRefused(Bcm("cost", tiny, "--quality", $"{Path.GetFileName(tiny)}=/dev/zero", "--repeats", "1", "--out", TestPaths.NewTempDir()), "device");
    }

    [Fact]
    public void QualityTablesWithANegativeFloorOrWithoutTheirColumnsAreRefusedBeforeMeasuring()
    {
        string tiny = TestModels.TinyRun.Value, name = Path.GetFileName(tiny);
        string negative = Temp("generation.csv");
        File.WriteAllText(negative, "method,family,nfe,fid\nreal vs real,Reference,0,-3\nBCM onestep,Bcm,1,20\n");
        AssertRefused(Bcm("cost", tiny, "--quality", $"{name}={negative}", "--repeats", "1", "--out", TestPaths.NewTempDir()), "never negative");
        string noFamily = Temp("generation.csv");
        File.WriteAllText(noFamily, "method,nfe,fid\nBCM onestep,1,20\n");
        AssertRefused(Bcm("cost", tiny, "--quality", $"{name}={noFamily}", "--targets", "30", "--repeats", "1", "--out", TestPaths.NewTempDir()), "no 'family' column");
    }

    [Trait("Category", "Slow")]
    [Fact]
    public void OptionsThatWouldReachTheAllocatorOrOverflowAreRefusedWithTheirLimits()
    {
        string Out() => TestPaths.NewTempDir();
        AssertRefused(Bcm("train", "--preset", "tiny", "-b", "1000000", "--steps", "1", "--out", Out()), "needs about");
        AssertRefused(Bcm("train", "--preset", "tiny", "-b", "5000000", "--steps", "1", "--out", Out()), "batch size must be at most 1,000,000");
        AssertRefused(Bcm("train", "--preset", "tiny", "--fixed-scales", "2147483647", "--steps", "1", "--out", Out()), "--fixed-scales must be at most");
        AssertRefused(Bcm("train", "--preset", "tiny", "--max-minutes", "1e300", "--steps", "1", "--out", Out()), "--max-minutes must be positive and at most");
        AssertRefused(Bcm("train", "--preset", "tiny", "--lr", "NaN", "--steps", "1", "--out", Out()), "learning rate");
        AssertRefused(Bcm("train", "--preset", "tiny", "--lr", "Infinity", "--steps", "1", "--out", Out()), "learning rate");
        // On resume, through an override: refused before the run is touched.
        string run = TestPaths.NewTempDir();
        using (var t = Trainer.OpenOrResume(Presets.Get("tiny") with { Steps = 1, CheckpointEvery = 1, SampleEvery = 0 }, run)) t.Run();
        var before = File.ReadAllBytes(TrainingCheckpoint.List(run)[^1].Path);
        AssertRefused(Bcm("train", "--preset", "tiny", "--steps", "2", "-b", "1000000", "--override", "batch-size", "--out", run), "needs about");
        Assert.Equal(before, File.ReadAllBytes(TrainingCheckpoint.List(run)[^1].Path));
        Assert.Single(TrainingCheckpoint.List(run));
    }

    [Fact]
    public void TheMemoryEstimateOfAStepIsNearWhatTrainingMeasured()
    {
        // Peak resident memory over batch sizes, measured on this machine (StepMemory's remarks): the estimate stays
        // within 0.6-1.1 of it, so that a refusal means the batch does not fit, and a batch that fits is never refused.
        foreach (var (preset, objective, measuredPerImage) in new[] { ("tiny", "bct", 1.63e6), ("digits", "bct", 2.17e6), ("tiny", "edm", 0.55e6) })
        {
            var options = Presets.Get(preset) with { Objective = objective };
            var net = Networks.NetworkFactory.Create(options.Network);
            double perImage = StepMemory.Estimate(net, options, 1001) - StepMemory.Estimate(net, options, 1);
            perImage /= 1000;
            net.Module.Dispose();
            output.WriteLine($"{preset} {objective}: {perImage / 1e6:F2} MB an image estimated, {measuredPerImage / 1e6:F2} measured");
            Assert.InRange(perImage / measuredPerImage, 0.6, 1.1);
        }
    }

    [Fact]
    public void MessagesNameTheFileAndTheProblem()
    {
        // A tensor named twice in a safetensors header.
        string dup = Temp("dup.safetensors");
        var header = Encoding.UTF8.GetBytes("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}");
        using (var f = File.Create(dup))
        {
            f.Write(BitConverter.GetBytes((long)header.Length));
            f.Write(header);
            f.Write(new byte[8]);
        }
        var e = Assert.Throws<CheckpointException>(() => SafeTensors.Load(dup));
        Assert.Contains(dup, e.Message);
        Assert.Contains("names an entry twice", e.Message);

        // Options of measurements are checked before anything is loaded: a checkpoint that does not exist is not reached.
        AssertRefused(Bcm("content", "-c", "/nonexistent/run", "--data", "digits", "--pairs", "2000000000"), "--pairs: 2000000000 is outside 1..10,000");
        AssertRefused(Bcm("eval", "-c", "/nonexistent/run", "--baseline", "/nonexistent/edm", "--inversion-nfe", "0"), "--inversion-nfe");

        // Options that one kind of model ignores are refused for it.
        AssertRefused(Bcm("eval", "-c", TestModels.TinyRun.Value, "--mixture", "ring8", "--out", TestPaths.NewTempDir()), "--mixture applies to a model of a Gaussian mixture");
    }

    [Fact]
    public void PlotSkipsStatsLinesWithoutALossAndSaysSo()
    {
        string run = TestPaths.NewTempDir();
        File.WriteAllLines(Path.Combine(run, "stats.jsonl"),
        [
            "{\"step\":1,\"total_steps\":3,\"scales\":10,\"loss\":0.5,\"ct\":0.3,\"soft\":0.2,\"grad_norm\":1,\"images_per_second\":10,\"elapsed_seconds\":1,\"eta_seconds\":2}",
            "{\"step\":2,\"total_steps\":3}",
            "{\"step\":3,\"total_steps\":3,\"scales\":10,\"loss\":0.4,\"ct\":0.3,\"soft\":0.1,\"grad_norm\":1,\"images_per_second\":10,\"elapsed_seconds\":2,\"eta_seconds\":1}",
            "{\"step\":4,\"loss\":null}",
            "not json",
        ]);
        var r = Reports.TrainingCurves.Write(run);
        Assert.Equal(2, r.Steps);
        Assert.Equal(3, r.Skipped);
        var rows = CsvTable.Read(r.Csv);
        Assert.Equal(["1", "3"], rows.Select(x => x["step"]));
        var cli = Bcm("plot", run);
        Assert.Equal(0, cli.Code);
        Assert.Contains("3 lines of stats.jsonl skipped", cli.Err);
    }

    private static string MakeFifo(string path)
    {
        using var p = Process.Start(new ProcessStartInfo("mkfifo", [path]) { RedirectStandardError = true })!;
        p.WaitForExit();
        Assert.Equal(0, p.ExitCode);
        return path;
    }

    // A reader blocked on a FIFO is released by a writer that opens and closes it.
    private static void Unblock(params string[] fifos)
    {
        foreach (var f in fifos)
            try
            {
                using var _ = new FileStream(f, FileMode.Open, FileAccess.Write);
            }
            catch (Exception) { }
    }
}
