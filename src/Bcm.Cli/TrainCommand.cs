using System.CommandLine;
using Bcm.Data;
using Bcm.Distributed;
using Bcm.Reports;
using Bcm.Training;
using static Bcm.Cli.TrainOptionsParser;

namespace Bcm.Cli;

/// <summary><c>bcm train</c>: bidirectional consistency training in a run folder, resumable.</summary>
internal static class TrainCommand
{
    public static Command Create()
    {
        var cmd = new Command("train", "Train a BCM (bidirectional consistency training). Resumes when --out already holds checkpoints: the run's own " +
                                       "options win, --steps changes the total, and any other option given with a different value is refused unless --override names it; " +
                                       "writes options.json, stats.jsonl, checkpoints/, samples/ and a final report (grids and inversion MSE). " +
                                       "Ctrl+C or SIGTERM (a scheduler's preemption) stops after the current step and writes a checkpoint.")
        {
            Preset, Common.Data, RunDir, Common.Seed, Common.Device, Common.Threads, Steps, Batch, Lr, CtOnly, Objective, JpegQualities, InitFrom, FixedScales,
            Limit, CheckpointEvery, Keep, SampleEvery, Flip, ClassConditional, MaxMinutes, NoReport, Override,
        };
        cmd.SetAction(parse => Common.Guard(() => Run(parse)));
        return cmd;
    }

    private static int Run(ParseResult parse)
    {
        Common.ApplyThreads(parse);
        string preset = parse.GetValue(Preset) ?? "digits";
        double? budget = parse.GetValue(MaxMinutes);
        StopSignals.CheckBudget(budget);
        string runDir = parse.GetValue(RunDir) ?? Path.Combine("runs", preset);
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
        options = JpegRestorerObjective.Prepare(options); // a restorer's UNet takes the JPEG image beside its input
        if (parse.GetValue(ClassConditional))
        {
            if (saved is not null) throw new BadInputException($"--class-conditional starts a new run; {runDir} already holds one (its network is {(saved.Network.NumClasses > 0 ? "class-conditional" : "unconditional")})");
            options = options.ConditionedOn(Trainer.LoadData(options, lead ? printer : null));
        }
        if (job.Size > 1 && lead) Trainer.LoadData(options, printer); // fetch a data set once, before every rank reads it
        if (job.Size > 1) job.Barrier();
        if (lead) StopSignals.WarnIfTheMachineIsBusy();
        using var trainer = Trainer.OpenOrResume(options, runDir, lead ? printer : null, job, overrides);
        trainer.SamplesDue = TrainingPreview.Save;
        trainer.ForeignFileLeft = path => Console.Error.WriteLine($"bcm: warning: {path} is not one of this run's checkpoints; left in place, not pruned");
        if (lead) Console.Error.WriteLine($"{trainer.Describe()} → {Path.GetFullPath(runDir)}");
        int? signalled = StopSignals.Run(token => trainer.Run(lead ? printer : null, token), budget, out bool budgetReached);
        if (lead && trainer.Step > 0) Console.WriteLine($"training curves: {Path.GetFullPath(TrainingCurves.Write(runDir).Png)}");
        if (signalled is int code) return code;
        if (trainer.Step < trainer.Options.Steps) // the time budget, or another rank was asked to stop
        {
            if (lead)
                Console.WriteLine(budgetReached
                    ? $"time budget of {budget} min reached at step {trainer.Step} (checkpoint written; run again to continue)"
                    : $"stopped at step {trainer.Step}: another rank was asked to stop (checkpoint written; run again to continue)");
            return 0;
        }
        if (!lead) return 0;
        if (trainer.Objective is JpegRestorerObjective)
            Console.WriteLine($"trained; measure it beside a BCM with: bcm restore -c BCM_RUN --data DATA@test --nfe 1,2,4,8 --restorer {runDir}");
        else if (trainer.Options.Network.SampleShape.Length != 3 || trainer.Objective.Kind == ModelKind.Denoiser)
            Console.WriteLine($"trained; measure it with: bcm eval -c {runDir}");
        else if (!parse.GetValue(NoReport))
        {
            var numbers = RunReport.ForRun(trainer, runDir, printer);
            Console.WriteLine($"report: {Path.GetFullPath(Path.Combine(runDir, "report", "report.md"))}");
            Console.WriteLine(numbers.Describe());
        }
        return 0;
    }
}
