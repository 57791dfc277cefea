using System.Diagnostics;
using Bcm.Checkpoints;
using Bcm.Data;
using Bcm.Training;
using Xunit;

namespace Bcm.Tests;

/// <summary>The bcm command as a user runs it: exit codes and messages for bad input, and the outputs of good input.</summary>
public sealed class CliTests
{
    private static (int Code, string Out, string Err) Bcm(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Bcm.Cli.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(5))) { p.Kill(true); throw new TimeoutException("bcm " + string.Join(' ', args)); }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    private static readonly Lazy<string> TinyRun = new(() =>
    {
        var dir = TestPaths.NewTempDir();
        using var trainer = Trainer.OpenOrResume(Presets.Get("tiny") with { Steps = 2, CheckpointEvery = 2, SampleEvery = 0 }, dir);
        trainer.Run();
        return dir;
    });

    private static void AssertCleanError((int Code, string Out, string Err) r, string expected)
    {
        Assert.NotEqual(0, r.Code);
        Assert.Contains(expected, r.Err);
        Assert.DoesNotContain("   at ", r.Err); // no stack trace
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

    [Fact]
    public void InpaintDegradeRestoreAndEditWriteTheirOutputs()
    {
        var dir = TestPaths.NewTempDir();
        string png = Path.Combine(dir, "digit.png");
        using (var img = DataReaders.BuiltInDigits().Batch([5], 8)[0]) Imaging.ImageIO.SavePng(img, png);
        var inpaint = Bcm("inpaint", png, "--box", "2,2,4,4", "--rounds", "10,1.2", "--checkpoint", TinyRun.Value, "--out", dir);
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
        var edit = Bcm("edit", png, "--rounds", "5", "--checkpoint", TinyRun.Value, "--out", dir);
        Assert.True(edit.Code == 0, edit.Err);
        Assert.True(File.Exists(Path.Combine(dir, "edited.png")));
        AssertCleanError(Bcm("restore", jpeg, "--rounds", "0.01", "--checkpoint", TinyRun.Value), "round 1 '0.01'");
    }

    [Fact]
    public void HelpListsTheCommands()
    {
        var r = Bcm("--help");
        Assert.Equal(0, r.Code);
        foreach (var c in new[] { "train", "sample", "invert", "interpolate", "inpaint", "degrade", "restore", "edit", "info", "bench" }) Assert.Contains(c, r.Out);
    }
}
