using System.CommandLine;
using System.Runtime.InteropServices;
using Bcm.Data;
using Bcm.Distributed;
using Bcm.Reports;
using Bcm.Training;

namespace Bcm.Cli;

/// <summary><c>bcm train</c>: bidirectional consistency training in a run folder, resumable.</summary>
internal static class TrainCommand
{
    private static readonly Option<string?> Preset = new("--preset", "-p") { Description = "Preset of a new run: " + string.Join(", ", Presets.All.Keys) + " (default digits)" };
    private static readonly Option<string?> RunFolder = new("--out", "-o") { Description = "Run folder (default runs/<preset>); a folder that holds checkpoints is resumed" };
    private static readonly Option<long?> Steps = new("--steps") { Description = "Total optimiser steps K (sets the curriculum too; default from the preset)" };
    private static readonly Option<int?> Batch = new("--batch-size", "-b") { Description = "Images per step (default from the preset)" };
    private static readonly Option<double?> Lr = new("--lr") { Description = "RAdam learning rate (default from the preset)" };
    private static readonly Option<bool> CtOnly = new("--ct-only") { Description = "Train the consistency term alone (the iCT ablation)" };
    private static readonly Option<string?> Objective = new("--objective") { Description = "bct (default): bidirectional consistency training; edm: the EDM denoiser baseline on the same network (u unused), for Heun sampling, ODE inversion and --init-from" };
    private static readonly Option<string?> InitFrom = new("--init-from")
    {
        Description = "Start from a consistency model or denoiser: an official-layout checkpoint, or a bcm checkpoint/run folder (e.g. an --objective edm or --ct-only run); " +
                      "u-embedding copied from t, align = [I | 0]. From a consistency model the official fine-tuning settings apply unless given: --fixed-scales 321 and --lr 1e-4",
    };
    private static readonly Option<int?> FixedScales = new("--fixed-scales") { Description = "Hold N fixed (e.g. 321 when fine-tuning) instead of the curriculum" };
    private static readonly Option<int?> Limit = new("--data-limit") { Description = "Use only the first N images" };
    private static readonly Option<int?> CheckpointEvery = new("--checkpoint-every") { Description = "Steps between checkpoints (default from the preset)" };
    private static readonly Option<int?> Keep = new("--keep") { Description = "Checkpoints to keep (default 3)" };
    private static readonly Option<int?> SampleEvery = new("--sample-every") { Description = "Steps between sample grids in samples/ (0 = none)" };
    private static readonly Option<bool?> Flip = new("--flip") { Description = "Random horizontal flips of training images (default from the preset: off for digits, on for CIFAR-10)" };
    private static readonly Option<double?> MaxMinutes = new("--max-minutes") { Description = "Stop after this much wall time (checkpoint written; resume later), e.g. to compare runs at equal CPU time" };
    private static readonly Option<bool> NoReport = new("--no-report") { Description = "Skip the final sample grids and inversion round trip" };
    private static readonly Option<string[]> Override = new("--override")
    {
        Description = "On resume, options (comma-separated names, e.g. lr,batch-size) whose new values from the command line replace the run's own from this step on; recorded in options.json and stats.jsonl",
        AllowMultipleArgumentsPerToken = false,
        CustomParser = r => r.Tokens.SelectMany(t => t.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).ToArray(),
    };

    public static Command Create()
    {
        var cmd = new Command("train", "Train a BCM (bidirectional consistency training). Resumes when --out already holds checkpoints: the run's own " +
                                       "options win, --steps changes the total, and any other option given with a different value is refused unless --override names it; " +
                                       "writes options.json, stats.jsonl, checkpoints/, samples/ and a final report (grids and inversion MSE). " +
                                       "Ctrl+C or SIGTERM (a scheduler's preemption) stops after the current step and writes a checkpoint.")
        {
            Preset, Common.Data, RunFolder, Common.Seed, Common.Device, Common.Threads, Steps, Batch, Lr, CtOnly, Objective, InitFrom, FixedScales,
            Limit, CheckpointEvery, Keep, SampleEvery, Flip, MaxMinutes, NoReport, Override,
        };
        cmd.SetAction(parse => Common.Guard(() => Run(parse)));
        return cmd;
    }

    // A timer runs at most 2³² − 2 ms (49.7 days).
    private const double MaxBudgetMinutes = 70_000;

    private static int Run(ParseResult parse)
    {
        Common.ApplyThreads(parse);
        string preset = parse.GetValue(Preset) ?? "digits";
        double? budget = parse.GetValue(MaxMinutes);
        if (budget is double minutes && !(minutes > 0 && minutes <= MaxBudgetMinutes))
            throw new BadInputException($"--max-minutes must be positive and at most {MaxBudgetMinutes:N0} (48 days), got {minutes}");
        string runDir = parse.GetValue(RunFolder) ?? Path.Combine("runs", preset);
        var job = World.Current; // one process, or the ranks of mpirun -np N (data-parallel)
        bool lead = job.Rank == 0;
        var printer = new ProgressPrinter(ranks: job.Size);
        var saved = Trainer.SavedOptions(runDir);
        var overrides = parse.GetValue(Override) ?? [];
        if (saved is null && overrides.Length > 0) throw new BadInputException($"--override applies when resuming, but {runDir} holds no checkpoint yet");
        // A new run starts from the preset; a resumed run from its own options. Either way the options given here go on top.
        var options = Given(parse, saved ?? Presets.Get(preset), fresh: saved is null);
        if (saved is null && FineTuning.Recipe(options, parse.GetValue(FixedScales), parse.GetValue(Lr)) is (var recipe, true))
        {
            options = recipe; // the paper's recipe from a consistency model, unless the command line says otherwise
            if (lead)
                Console.Error.WriteLine($"fine-tuning from a consistency model: N fixed at {options.FixedScales}, learning rate {options.LearningRate} " +
                                        $"(the official settings are {FineTuning.Scales} and {FineTuning.LearningRate}; --fixed-scales and --lr override them)");
        }
        if (saved is not null && parse.GetValue(Preset) is string p) options = options with { Preset = p };
        if (job.Size > 1 && lead) Trainer.LoadData(options, printer); // fetch a data set once, before every rank reads it
        if (job.Size > 1) job.Barrier();
        if (lead) WarnIfTheMachineIsBusy();
        using var trainer = Trainer.OpenOrResume(options, runDir, lead ? printer : null, job, overrides);
        trainer.SamplesDue = TrainingPreview.Save;
        trainer.ForeignFileLeft = path => Console.Error.WriteLine($"bcm: warning: {path} is not one of this run's checkpoints; left in place, not pruned");
        int parameters = (int)trainer.Online.Network.Module.parameters().Sum(p => p.numel());
        var o = trainer.Options;
        if (lead)
            Console.Error.WriteLine($"training {o.Preset} on {o.Data}: {parameters:N0} parameters, batch {o.BatchSize}" +
                                    $"{(job.Size > 1 ? $" ({o.BatchSize / job.Size} on each of {job.Size} ranks)" : "")}, {o.Steps} steps" +
                                    $"{trainer.Objective.Kind switch { ModelKind.ConsistencyModel => ", CT term only", ModelKind.Denoiser => ", EDM denoiser objective", _ => "" }} → {Path.GetFullPath(runDir)}");
        var stop = RunUntilStopped(trainer, lead ? printer : null, budget);
        if (lead && trainer.Step > 0) Console.WriteLine($"training curves: {Path.GetFullPath(TrainingCurves.Write(runDir).Png)}");
        if (stop is not null || !lead) return stop ?? 0;
        if (o.Network.SampleShape.Length != 3 || trainer.Objective.Kind == ModelKind.Denoiser)
            Console.WriteLine($"trained; measure it with: bcm eval -c {runDir}");
        else if (!parse.GetValue(NoReport))
        {
            var numbers = RunReport.ForRun(trainer, runDir, printer);
            Console.WriteLine($"report: {Path.GetFullPath(Path.Combine(runDir, "report", "report.md"))}");
            Console.WriteLine($"inversion round trip ({numbers.InvertPlan}, then {numbers.GeneratePlan}): MSE {numbers.RoundTripMse:F4} (PSNR {numbers.RoundTripPsnr:F2} dB; pixels on [0, 1]) " +
                              $"vs {numbers.RandomSampleMse:F4} for an unrelated sample; {numbers.OneJumpMse:F4} with the one-jump inversion 0.07>80");
        }
        return 0;
    }

    /// <summary>
    /// <paramref name="o"/> (a preset's options, or a resumed run's) with the options given on the command line; the
    /// seed and device defaults apply only to a <paramref name="fresh"/> run.
    /// </summary>
    private static TrainOptions Given(ParseResult parse, TrainOptions o, bool fresh)
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

    /// <summary>
    /// Trains until the end, a time budget, Ctrl+C or SIGTERM; the trainer writes a checkpoint whenever it stops.
    /// Returns the exit code when the run did not reach its last step (130 after Ctrl+C, 143 after SIGTERM, 0 at the budget), else null.
    /// </summary>
    private static int? RunUntilStopped(Trainer trainer, ProgressPrinter? printer, double? budgetMinutes)
    {
        using var cancel = new CancellationTokenSource();
        int? signalled = null;
        void Stop(int code, string what)
        {
            signalled = code;
            cancel.Cancel();
            Console.Error.WriteLine($"\n{what}: stopping after this step and saving a checkpoint…");
        }
        ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; Stop(130, "interrupted (Ctrl+C again aborts)"); };
        Console.CancelKeyPress += onCancel;
        using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => { context.Cancel = true; Stop(143, "SIGTERM"); });
        if (budgetMinutes is double m) cancel.CancelAfter(TimeSpan.FromMinutes(m));
        try
        {
            trainer.Run(printer, cancel.Token);
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
        if (signalled is int code) return code;
        if (trainer.Step < trainer.Options.Steps) // the time budget, or another rank was asked to stop
        {
            if (trainer.Communicator.Rank == 0)
                Console.WriteLine(cancel.IsCancellationRequested
                    ? $"time budget of {budgetMinutes} min reached at step {trainer.Step} (checkpoint written; run again to continue)"
                    : $"stopped at step {trainer.Step}: another rank was asked to stop (checkpoint written; run again to continue)");
            return 0;
        }
        return null;
    }

    // libtorch's threads spin: training beside other CPU work on the same cores was measured 15-35 times slower here.
    // The load average (Linux) counts the processes running or waiting; above the cores, say so once at the start.
    private static void WarnIfTheMachineIsBusy()
    {
        if (!OperatingSystem.IsLinux() || !File.Exists("/proc/loadavg")) return;
        try
        {
            var first = File.ReadAllText("/proc/loadavg").Split(' ')[0];
            if (double.TryParse(first, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double load) &&
                load > Environment.ProcessorCount)
                Console.Error.WriteLine($"bcm: warning: the machine's load is {load:F1} on {Environment.ProcessorCount} cores: training shares them with other work " +
                                        "and can run many times slower (15-35x was measured on 2 shared cores); see what else runs (top) before timing anything");
        }
        catch (IOException)
        {
            // no warning where the load cannot be read
        }
    }
}
