using System.CommandLine;
using Bcm.Distributed;
using Bcm.Plans;
using Bcm.Reports;
using static TorchSharp.torch;

namespace Bcm.Cli;

/// <summary><c>bcm sample</c>: generate images with any plan (one step by default).</summary>
internal static class SampleCommand
{
    public static Command Create()
    {
        var plan = new Option<string>("--plan") { Description = "Sampling plan: " + PlanPresets.Help + " (default onestep)", DefaultValueFactory = _ => "onestep" };
        var jumps = new Option<int?>("--jumps") { Description = "Shorthand for --plan ancestral:K: K jumps on a Karras schedule from T to ε" };
        var count = new Option<int>("--count", "-n") { Description = "Number of images (default 64)", DefaultValueFactory = _ => 64 };
        var batch = new Option<int>("--batch-size", "-b") { Description = "Images per forward pass; results do not depend on it (default 64)", DefaultValueFactory = _ => 64 };
        var label = new Option<int?>("--class") { Description = "Class label for conditional models (default: 0, 1, 2, … in turn)" };
        var individual = new Option<bool>("--individual") { Description = "Also write each image as its own PNG" };
        var trajectory = new Option<bool>("--trajectory") { Description = "Also write a picture of every step of the plan (trajectory.png: one row per step)" };
        var cmd = new Command("sample", "Generate images (or vectors) from a checkpoint with a sampling plan; writes samples.png (a grid, or a scatter plot of 2-D vectors), samples.safetensors, plan.txt, and samples.csv for vectors.")
        {
            Common.Checkpoint, Common.Weights, Common.Preset, Common.Out, Common.Seed, Common.Device, Common.Threads, plan, jumps, count, batch, label, individual, trajectory,
        };
        cmd.SetAction(parse => Common.Guard(() =>
        {
            Common.ApplyThreads(parse);
            var loaded = Common.LoadModel(parse);
            var p = parse.GetValue(jumps) is int k ? PlanPresets.Ancestral(k) : PlanPresets.Resolve(parse.GetValue(plan)!);
            if (p.IsInversion) throw new CliError($"plan '{p}' goes up in noise level: that is an inversion, use bcm invert");
            int n = parse.GetValue(count), b = parse.GetValue(batch);
            if (n < 1 || b < 1) throw new CliError("--count and --batch-size must be ≥ 1");
            int classes = loaded.Model.Network.NumClasses;
            if (parse.GetValue(label) is int c && (classes == 0 || c < 0 || c >= classes))
                throw new CliError(classes == 0 ? "--class given, but the model is unconditional" : $"--class must be in 0..{classes - 1}");
            long seed = parse.GetValue(Common.Seed);
            bool images = loaded.Model.Network.SampleShape.Length == 3;
            if (!images && (parse.GetValue(individual) || parse.GetValue(trajectory)))
                throw new CliError("--individual and --trajectory write images; this model makes vectors (use bcm eval for its plots)");
            string outDir = Common.OutDir(parse.GetValue(Common.Out), "samples");
            var job = World.Current; // under mpirun -np N each rank makes its share of the seeds
            bool lead = job.Rank == 0;
            var frames = new List<Tensor>();
            var printer = new ProgressPrinter();
            // The trajectory picture: every step of the first (up to) 8 samples of the first batch.
            Action<int, PlanProgress>? keepFrames = parse.GetValue(trajectory) && lead
                ? (first, step) => { if (first == 0) frames.Add(step.X[..Math.Min(b, 8)].cpu().DetachFromDisposeScope()); }
                : null;
            using var made = Sharded.Generate(job, loaded.Model, p, n, seed, b, parse.GetValue(label), keepFrames,
                lead ? new SyncProgress<int>(done => printer.Line($"{done}/{n / job.Size} images ({p.Nfe} NFE each){(job.Size > 1 ? $" on each of {job.Size} ranks" : "")}", done == n / job.Size)) : null);
            if (parse.GetValue(individual)) SampleOutputs.WriteIndividual(outDir, made.Local, seed + made.First); // each rank its own seeds
            if (made.All is null) return 0;
            SampleOutputs.Write(outDir, made.All, p, seed, loaded.Source, individual: false, frames);
            Console.WriteLine($"{n} samples ({p}, {p.Nfe} NFE) → {Path.GetFullPath(Path.Combine(outDir, images ? "samples.png" : "samples.csv"))}");
            return 0;
        }));
        return cmd;
    }
}
