using System.CommandLine;
using Bcm.Reports;
using Bcm.Training;

namespace Bcm.Cli;

/// <summary><c>bcm train</c>: bidirectional consistency training in a run folder, resumable.</summary>
internal static class TrainCommand
{
    public static Command Create()
    {
        var steps = new Option<long?>("--steps") { Description = "Total optimiser steps K (sets the curriculum too; default from the preset)" };
        var batch = new Option<int?>("--batch-size", "-b") { Description = "Images per step (default from the preset)" };
        var lr = new Option<double?>("--lr") { Description = "RAdam learning rate (default from the preset)" };
        var ctOnly = new Option<bool>("--ct-only") { Description = "Train the consistency term alone (the iCT ablation)" };
        var objective = new Option<string?>("--objective") { Description = "bct (default): bidirectional consistency training; edm: the EDM denoiser baseline on the same network (u unused), for Heun sampling, ODE inversion and --init-from" };
        var initFrom = new Option<string?>("--init-from") { Description = "Start from a consistency model or denoiser: an official-layout checkpoint, or a bcm checkpoint/run folder (e.g. an --objective edm run); u-embedding copied from t, align = [I | 0]" };
        var fixedScales = new Option<int?>("--fixed-scales") { Description = "Hold N fixed (e.g. 321 when fine-tuning) instead of the curriculum" };
        var limit = new Option<int?>("--data-limit") { Description = "Use only the first N images" };
        var ckptEvery = new Option<int?>("--checkpoint-every") { Description = "Steps between checkpoints (default from the preset)" };
        var keep = new Option<int?>("--keep") { Description = "Checkpoints to keep (default 3)" };
        var sampleEvery = new Option<int?>("--sample-every") { Description = "Steps between sample grids in samples/ (0 = none)" };
        var flip = new Option<bool?>("--flip") { Description = "Random horizontal flips of training images (default from the preset: off for digits, on for CIFAR-10)" };
        var maxMinutes = new Option<double?>("--max-minutes") { Description = "Stop after this much wall time (checkpoint written; resume later), e.g. to compare runs at equal CPU time" };
        var noReport = new Option<bool>("--no-report") { Description = "Skip the final sample grids and inversion round trip" };
        var cmd = new Command("train", "Train a BCM (bidirectional consistency training). Resumes when --out already holds checkpoints; " +
                                       "writes options.json, stats.jsonl, checkpoints/, samples/ and a final report (grids and inversion MSE).")
        {
            Common.Preset, Common.Data, Common.Out, Common.Seed, Common.Device, Common.Threads, steps, batch, lr, ctOnly, objective, initFrom, fixedScales, limit, ckptEvery, keep, sampleEvery, flip, maxMinutes, noReport,
        };
        cmd.SetAction(parse => Common.Guard(() =>
        {
            Common.ApplyThreads(parse);
            string preset = parse.GetValue(Common.Preset) ?? "digits";
            var o = Presets.Get(preset);
            o = o with
            {
                Data = parse.GetValue(Common.Data) ?? o.Data,
                Steps = parse.GetValue(steps) ?? o.Steps,
                BatchSize = parse.GetValue(batch) ?? o.BatchSize,
                LearningRate = parse.GetValue(lr) ?? o.LearningRate,
                CtOnly = parse.GetValue(ctOnly) || o.CtOnly,
                Objective = parse.GetValue(objective) ?? o.Objective,
                InitFrom = parse.GetValue(initFrom) ?? o.InitFrom,
                FixedScales = parse.GetValue(fixedScales) ?? o.FixedScales,
                DataLimit = parse.GetValue(limit) ?? o.DataLimit,
                CheckpointEvery = parse.GetValue(ckptEvery) ?? o.CheckpointEvery,
                KeepCheckpoints = parse.GetValue(keep) ?? o.KeepCheckpoints,
                SampleEvery = parse.GetValue(sampleEvery) ?? o.SampleEvery,
                RandomFlip = parse.GetValue(flip) ?? o.RandomFlip,
                Seed = parse.GetValue(Common.Seed),
                Device = parse.GetValue(Common.Device) ?? "cpu",
            };
            string runDir = parse.GetValue(Common.Out) ?? Path.Combine("runs", preset);
            var printer = new ProgressPrinter();
            using var trainer = Trainer.OpenOrResume(o, runDir, printer);
            trainer.SamplesDue = TrainingPreview.Save;
            int parameters = (int)trainer.Online.Network.Module.parameters().Sum(p => p.numel());
            Console.Error.WriteLine($"training {trainer.Options.Preset} on {trainer.Options.Data}: {parameters:N0} parameters, " +
                                    $"batch {trainer.Options.BatchSize}, {trainer.Options.Steps} steps{(trainer.Options.CtOnly ? ", CT term only" : "")}{(trainer.Objective.TrainsU ? "" : ", EDM denoiser objective")} → {Path.GetFullPath(runDir)}");
            using var cancel = new CancellationTokenSource();
            bool interrupted = false;
            ConsoleCancelEventHandler onCancel = (_, e) =>
            {
                e.Cancel = true;
                interrupted = true;
                cancel.Cancel();
                Console.Error.WriteLine("\nstopping after this step and saving a checkpoint (Ctrl+C again to abort)…");
            };
            Console.CancelKeyPress += onCancel;
            double? budget = parse.GetValue(maxMinutes);
            if (budget is double m)
            {
                if (!(m > 0)) throw new CliError("--max-minutes must be positive");
                cancel.CancelAfter(TimeSpan.FromMinutes(m));
            }
            try
            {
                trainer.Run(printer, cancel.Token);
            }
            finally
            {
                Console.CancelKeyPress -= onCancel;
            }
            if (interrupted) return 130;
            if (cancel.IsCancellationRequested && trainer.Step < trainer.Options.Steps)
            {
                Console.WriteLine($"time budget of {budget} min reached at step {trainer.Step} (checkpoint written; run again to continue)");
                return 0;
            }
            if (trainer.Options.Network.SampleShape.Length != 3 || !trainer.Objective.TrainsU)
            {
                Console.WriteLine($"trained; measure it with: bcm eval -c {runDir}");
            }
            else if (!parse.GetValue(noReport))
            {
                var real = (Bcm.Data.ImageDataset)Trainer.LoadData(trainer.Options.Data.StartsWith("mnist") || trainer.Options.Data.StartsWith("fashion-mnist")
                    ? trainer.Options with { Data = trainer.Options.Data + "@test", DataLimit = 0 } : trainer.Options);
                var numbers = RunReport.Write(trainer.Ema, real, Path.Combine(runDir, "report"), runDir, trainer.Step, log: printer);
                Console.WriteLine($"report: {Path.GetFullPath(Path.Combine(runDir, "report", "report.md"))}");
                Console.WriteLine($"inversion round trip MSE {numbers.RoundTripMse:F4} (PSNR {numbers.RoundTripPsnr:F2} dB) vs {numbers.RandomSampleMse:F4} for an unrelated sample");
            }
            return 0;
        }));
        return cmd;
    }
}
