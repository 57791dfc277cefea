using System.CommandLine;
using Bcm.Training;

namespace Bcm.Cli;

/// <summary>The options of <c>bcm train</c>, and the training options they make.</summary>
internal static class TrainOptionsParser
{
    public static readonly Option<string?> Preset = new("--preset", "-p") { Description = "Preset of a new run: " + string.Join(", ", Presets.All.Keys) + " (default digits)" };
    public static readonly Option<string?> RunDir = new("--out", "-o") { Description = "Run folder (default runs/<preset>); a folder that holds checkpoints is resumed" };
    public static readonly Option<long?> Steps = new("--steps") { Description = "Total optimiser steps K (sets the curriculum too; default from the preset)" };
    public static readonly Option<int?> Batch = new("--batch-size", "-b") { Description = "Images per step (default from the preset)" };
    public static readonly Option<double?> Lr = new("--lr") { Description = "RAdam learning rate (default from the preset)" };
    public static readonly Option<bool> CtOnly = new("--ct-only") { Description = "Train the consistency term alone (the iCT ablation)" };
    public static readonly Option<string?> Objective = new("--objective") { Description = "bct (default): bidirectional consistency training; edm: the EDM denoiser baseline on the same network (u unused), for Heun sampling, ODE inversion and --init-from; " +
                      "palette: the task-specific JPEG restorer (an EDM denoiser on the same UNet with the JPEG image concatenated to its input), for bcm restore --restorer" };
    public static readonly Option<string?> JpegQualities = new("--jpeg-qualities") { Description = "With --objective palette: the JPEG qualities of its training pairs, comma-separated (default 10,20)" };
    public static readonly Option<string?> InitFrom = new("--init-from")
    {
        Description = "Start from a consistency model or denoiser: an official-layout checkpoint, or a bcm checkpoint/run folder (e.g. an --objective edm or --ct-only run); " +
                      "u-embedding copied from t, align = [I | 0]. From a consistency model the official fine-tuning settings apply unless given: --fixed-scales 321 and --lr 1e-4",
    };
    public static readonly Option<int?> FixedScales = new("--fixed-scales") { Description = "Hold N fixed (e.g. 321 when fine-tuning) instead of the curriculum" };
    public static readonly Option<int?> Limit = new("--data-limit") { Description = "Use only the first N images" };
    public static readonly Option<int?> CheckpointEvery = new("--checkpoint-every") { Description = "Steps between checkpoints (default from the preset)" };
    public static readonly Option<int?> Keep = new("--keep") { Description = "Checkpoints to keep (default 3)" };
    public static readonly Option<int?> SampleEvery = new("--sample-every") { Description = "Steps between sample grids in samples/ (0 = none)" };
    public static readonly Option<bool> ClassConditional = new("--class-conditional")
    {
        Description = "A new run conditioned on the data's labels: one class per label (a folder is labelled when its images sit in one subfolder per class, named by its class; MNIST and CIFAR-10 have theirs); sample a class with bcm sample --class NAME",
    };
    public static readonly Option<bool?> Flip = new("--flip") { Description = "Random horizontal flips of training images (default from the preset: off for digits, on for CIFAR-10)" };
    public static readonly Option<double?> MaxMinutes = new("--max-minutes") { Description = "Stop after this much wall time (checkpoint written; resume later), e.g. to compare runs at equal CPU time" };
    public static readonly Option<bool> NoReport = new("--no-report") { Description = "Skip the final sample grids and inversion round trip" };
    public static readonly Option<string[]> Override = new("--override")
    {
        Description = "On resume, options (comma-separated names, e.g. lr,batch-size) whose new values from the command line replace the run's own from this step on; recorded in options.json and stats.jsonl",
        AllowMultipleArgumentsPerToken = false,
        CustomParser = r => r.Tokens.SelectMany(t => t.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToArray(),
    };

    /// <summary>
    /// <paramref name="o"/> (a preset's options, or a resumed run's) with the options given on the command line; the
    /// seed and device defaults apply only to a <paramref name="fresh"/> run.
    /// </summary>
    public static TrainOptions Given(ParseResult parse, TrainOptions o, bool fresh)
    {
        bool Explicit(Option option) => parse.GetResult(option) is { Implicit: false };
        return o with
        {
            Data = parse.GetValue(Common.Data) ?? o.Data,
            Steps = parse.GetValue(Steps) ?? o.Steps,
            BatchSize = parse.GetValue(Batch) ?? o.BatchSize,
            LearningRate = parse.GetValue(Lr) ?? o.LearningRate,
            CtOnly = parse.GetValue(CtOnly) || o.CtOnly,
            Objective = parse.GetValue(Objective) ?? o.Objective,
            JpegQualities = parse.GetValue(JpegQualities) is string q ? Common.Integers(q, "--jpeg-qualities", 1, 100) : o.JpegQualities,
            InitFrom = parse.GetValue(InitFrom) ?? o.InitFrom,
            FixedScales = parse.GetValue(FixedScales) ?? o.FixedScales,
            DataLimit = parse.GetValue(Limit) ?? o.DataLimit,
            CheckpointEvery = parse.GetValue(CheckpointEvery) ?? o.CheckpointEvery,
            KeepCheckpoints = parse.GetValue(Keep) ?? o.KeepCheckpoints,
            SampleEvery = parse.GetValue(SampleEvery) ?? o.SampleEvery,
            RandomFlip = parse.GetValue(Flip) ?? o.RandomFlip,
            Seed = fresh || Explicit(Common.Seed) ? parse.GetValue(Common.Seed) : o.Seed,
            Device = fresh || Explicit(Common.Device) ? parse.GetValue(Common.Device) ?? "cpu" : o.Device,
        };
    }
}
