using System.Diagnostics;
using System.Text.Json;
using Bcm.Networks;
using Bcm.Training;
using Xunit;

namespace Bcm.Tests;

/// <summary>Resume is explicit: the run's options win, changes are refused unless named, and stats.jsonl matches the checkpoint.</summary>
public sealed class ResumeTests
{
    private static TrainOptions Tiny(long steps) => Presets.Get("tiny") with { Steps = steps, CheckpointEvery = 2, SampleEvery = 0, Seed = 3 };

    private static string TrainedRun(long steps)
    {
        var dir = TestPaths.NewTempDir();
        using var t = Trainer.OpenOrResume(Tiny(steps), dir);
        t.Run();
        return dir;
    }

    private static long[] StatsSteps(string dir) =>
        File.ReadAllLines(Path.Combine(dir, "stats.jsonl")).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("step").GetInt64()).ToArray();

    [Fact]
    public void ADifferentOptionIsRefusedUnlessNamedAndThenRecorded()
    {
        var dir = TrainedRun(2);
        var asked = Tiny(4) with { LearningRate = 5e-4, KeepCheckpoints = 5 };
        var e = Assert.Throws<ResumeConflictException>(() => Trainer.OpenOrResume(asked, dir));
        Assert.Contains("lr: the run has 0.001, asked for 0.0005", e.Message);
        Assert.Contains("keep: the run has 3, asked for 5", e.Message);
        Assert.Contains("--override lr,keep", e.Message);

        using (var t = Trainer.OpenOrResume(asked, dir, overrides: ["lr", "keep"]))
        {
            Assert.Equal(5e-4, t.Options.LearningRate);
            Assert.Equal(5, t.Options.KeepCheckpoints);
            Assert.Equal(4, t.Options.Steps); // a larger total needs no override, but is recorded (it rescales the curriculum)
            Assert.Equal([new OptionOverride(2, "steps", "2", "4"), new OptionOverride(2, "lr", "0.001", "0.0005"), new OptionOverride(2, "keep", "3", "5")], t.Options.History);
            t.Run();
        }
        var recorded = TrainOptions.FromJson(File.ReadAllText(Path.Combine(dir, "options.json")));
        Assert.Equal(3, recorded.History.Count);
        Assert.Equal(3, Trainer.SavedOptions(dir)!.History.Count); // and in the checkpoint
        var third = JsonDocument.Parse(File.ReadAllLines(Path.Combine(dir, "stats.jsonl"))[2]).RootElement;
        Assert.Equal(3, third.GetProperty("step").GetInt64());
        Assert.Contains("lr 0.001 → 0.0005", third.GetProperty("event").GetString());
    }

    [Fact]
    public void TheNetworkAndObjectiveCannotChangeAndOverridesMustNameOptions()
    {
        var dir = TrainedRun(2);
        var e = Assert.Throws<ResumeConflictException>(() => Trainer.OpenOrResume(Tiny(2) with { Objective = "edm" }, dir, overrides: ["objective"]));
        Assert.Contains("not an option that can change on resume", e.Message);
        e = Assert.Throws<ResumeConflictException>(() => Trainer.OpenOrResume(Tiny(2) with { Objective = "edm" }, dir));
        Assert.Contains("objective: the run has \"bct\", asked for \"edm\" (cannot change on resume)", e.Message);
        var wider = (UNetConfig)Tiny(2).Network with { ModelChannels = 64 };
        e = Assert.Throws<ResumeConflictException>(() => Trainer.OpenOrResume(Tiny(2) with { Network = wider }, dir));
        Assert.Contains("network:", e.Message);
        e = Assert.Throws<ResumeConflictException>(() => Trainer.OpenOrResume(Tiny(1), dir));
        Assert.Contains("the run is at step 2", e.Message);
        e = Assert.Throws<ResumeConflictException>(() => Trainer.OpenOrResume(Tiny(2), dir, overrides: ["bogus"]));
        Assert.Contains("--override bogus", e.Message);
    }

    [Fact]
    public void StatsAreCutBackToTheCheckpoint()
    {
        var dir = TrainedRun(4);
        // A killed run wrote steps past its newest checkpoint, the last line torn.
        var extra = File.ReadAllLines(Path.Combine(dir, "stats.jsonl"))[^1].Replace("\"step\":4", "\"step\":5");
        File.AppendAllText(Path.Combine(dir, "stats.jsonl"), extra + "\n" + extra.Replace("\"step\":5", "\"step\":6") + "\n{\"step\":7,\"tot");
        using (var t = Trainer.OpenOrResume(Tiny(6), dir)) t.Run();
        Assert.Equal([1, 2, 3, 4, 5, 6], StatsSteps(dir));
    }

    [Trait("Category", "Slow")]
    [Fact]
    public void TheCommandLineResumesWithTheRunsOwnOptions()
    {
        var dir = TrainedRun(2);
        // No --preset: the run's own options (tiny, 2 steps), not the digits preset's 1,500 steps.
        var r = CliRunner.Bcm("train", "--out", dir, "--no-report", "--threads", "1");
        Assert.True(r.Code == 0, r.Err);
        Assert.Equal(2, TrainingCheckpoint.List(dir)[^1].Step);
        r = CliRunner.Bcm("train", "--out", dir, "--no-report", "--threads", "1", "--lr", "0.0005", "--steps", "3");
        Assert.Equal(2, r.Code);
        Assert.Contains("lr: the run has 0.001, asked for 0.0005", r.Err);
        Assert.Contains("--override lr", r.Err);
        r = CliRunner.Bcm("train", "--out", dir, "--no-report", "--threads", "1", "--lr", "0.0005", "--steps", "3", "--override", "lr");
        Assert.True(r.Code == 0, r.Err);
        Assert.Equal(3, TrainingCheckpoint.List(dir)[^1].Step);
        Assert.True(File.Exists(Path.Combine(dir, "report", "curves.png")), "bcm train draws the training curves at the end");
        Assert.Equal(5e-4, Trainer.SavedOptions(dir)!.LearningRate);
        r = CliRunner.Bcm("train", "--out", dir, "--preset", "digits");
        Assert.Equal(2, r.Code);
        Assert.Contains("preset: the run has \"tiny\", asked for \"digits\" (cannot change on resume)", r.Err);
    }

    [Trait("Category", "Slow")]
    [Fact]
    public void InitFromAConsistencyModelTakesTheOfficialFineTuningSettingsUnlessGiven()
    {
        var ict = TestPaths.NewTempDir();
        using (var t = Trainer.OpenOrResume(Tiny(1) with { CtOnly = true }, ict)) t.Run();
        var edm = TestPaths.NewTempDir();
        using (var t = Trainer.OpenOrResume(Tiny(1) with { Objective = "edm" }, edm)) t.Run();
        Assert.Equal(ModelKind.ConsistencyModel, ModelKinds.Read(ict));
        Assert.Equal(ModelKind.Denoiser, ModelKinds.Read(edm));
        Assert.Equal(ModelKind.Bcm, ModelKinds.Read(TestPaths.Golden("adm-tiny-uncond.safetensors")));

        TrainOptions Train(string from, params string[] extra)
        {
            var dir = TestPaths.NewTempDir();
            var r = CliRunner.Bcm(["train", "--preset", "tiny", "--init-from", from, "--steps", "1", "--no-report", "--threads", "1", "--out", dir, .. extra]);
            Assert.True(r.Code == 0, r.Err);
            return Trainer.SavedOptions(dir)!;
        }
        var recipe = Train(ict);
        Assert.Equal((FineTuning.Scales, FineTuning.LearningRate), (recipe.FixedScales, recipe.LearningRate));
        var given = Train(ict, "--lr", "0.0005");
        Assert.Equal((FineTuning.Scales, 5e-4), (given.FixedScales, given.LearningRate));
        var fromDenoiser = Train(edm); // a denoiser start keeps the preset's settings
        Assert.Equal((0, Presets.Get("tiny").LearningRate), (fromDenoiser.FixedScales, fromDenoiser.LearningRate));
    }

    [Fact]
    public void OptionsOfOlderVersionsStillLoad()
    {
        var options = Tiny(2);
        string json = options.ToJson();
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(json, "\"kind\""));
        Assert.DoesNotContain("sample_shape", json);
        // Files of earlier versions: "kind" twice with a derived sample_shape, or no kind at all (a UNet).
        string twice = json.Replace("\"kind\": \"adm-unet\",", "\"kind\": \"adm-unet\",\n    \"kind\": \"adm-unet\",\n    \"sample_shape\": [1, 8, 8],");
        string none = json.Replace("\"kind\": \"adm-unet\",", "");
        Assert.NotEqual(json, twice);
        Assert.NotEqual(json, none);
        foreach (var old in new[] { twice, none })
        {
            var read = TrainOptions.FromJson(old);
            Assert.IsType<UNetConfig>(read.Network);
            Assert.Equal(json, read.ToJson());
        }
        var mlp = Presets.Get("mixture2d");
        Assert.IsType<MlpConfig>(TrainOptions.FromJson(mlp.ToJson()).Network);
        Assert.Throws<JsonException>(() => TrainOptions.FromJson(json.Replace("\"kind\": \"adm-unet\"", "\"kind\": \"transformer\"")));
    }
}
