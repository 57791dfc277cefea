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
        var count = Common.Count("Number of images (default 64)", 64);
        var batch = new Option<int>("--batch-size", "-b") { Description = "Images per forward pass; results do not depend on it (default 64)", DefaultValueFactory = _ => 64 };
        var label = new Option<string?>("--class") { Description = "Class for a conditional model: its name (a labelled folder's class) or its index (default: 0, 1, 2, … in turn)" };
        var individual = new Option<bool>("--individual") { Description = "Also write each image as its own PNG" };
        var seeds = new Option<string?>("--seeds")
        {
            Description = "Write one PNG per seed, SEED.png in --out (EDM's generate.py convention, for FID tools that read a folder): e.g. 0-49999 or 0,5,10-19. " +
                          "Seeds already written (a file that decodes to an image of the model's size) are skipped, so an interrupted job resumes, and a broken file is made again, named; under mpirun the seeds are split over the ranks",
        };
        var npz = new Option<string?>("--npz")
        {
            Description = "Write the images of --seeds (default 0 to --count − 1) as FILE.npz in the ADM evaluator's layout: uint8 NHWC arr_0, int64 labels arr_1 for a conditional model. " +
                          "The images go through one PNG per seed in FILE.npz.seeds/, so the job resumes and splits over mpirun's ranks as --seeds does",
        };
        var trajectory = new Option<bool>("--trajectory") { Description = "Also write a picture of every step of the plan (trajectory.png: one row per step)" };
        var cmd = new Command("sample", "Generate images (or vectors) from a checkpoint with a sampling plan; writes samples.png (a grid, or a scatter plot of 2-D vectors), samples.safetensors, plan.txt, and samples.csv for vectors.")
        {
            Common.Checkpoint, Common.Weights, Common.Preset, Common.Out, Common.Seed, Common.Device, Common.Threads, Common.Engine, plan, jumps, count, batch, label, individual, trajectory, seeds, npz,
        };
        cmd.SetAction(parse => Common.Guard(() =>
        {
            Common.ApplyThreads(parse);
            long[]? seedList = parse.GetValue(seeds) is string seedText ? SeedImages.Parse(seedText) : null; // checked before the model loads
            string? npzFile = parse.GetValue(npz);
            if (seedList is not null && npzFile is null && parse.GetValue(Common.Out) is null) throw new BadInputException("--seeds writes one PNG per seed into a folder: give it with --out DIR");
            if (npzFile is not null && !npzFile.EndsWith(".npz", StringComparison.OrdinalIgnoreCase)) throw new BadInputException($"--npz {npzFile}: give a file name ending in .npz");
            if (npzFile is not null && parse.GetResult(Common.Out) is { Implicit: false }) throw new BadInputException("--npz names its own file (and FILE.npz.seeds/ beside it); --out does not apply with it");
            var loaded = Common.LoadModel(parse);
            var p = parse.GetValue(jumps) is int k ? PlanPresets.Ancestral(k) : PlanPresets.Resolve(parse.GetValue(plan)!);
            if (p.IsInversion) throw new BadInputException($"plan '{p}' goes up in noise level: that is an inversion, use bcm invert");
            int n = parse.GetValue(count), b = parse.GetValue(batch);
            if (n < 1 || b < 1) throw new BadInputException("--count and --batch-size must be ≥ 1");
            int classes = loaded.Model.Network.NumClasses;
            int? classLabel = parse.GetValue(label) is string className ? Bcm.Training.TrainOptions.ClassLabel(className, loaded.Options?.ClassNames, classes) : null;
            if (seedList is not null && new Option[] { count, individual, trajectory, Common.Seed }.FirstOrDefault(o => parse.GetResult(o) is { Implicit: false }) is { } clash)
                throw new BadInputException($"--seeds names every image's seed; {clash.Name} does not apply with it");
            if (npzFile is not null && new Option[] { individual, trajectory, Common.Seed }.FirstOrDefault(o => parse.GetResult(o) is { Implicit: false }) is { } npzClash)
                throw new BadInputException($"--npz writes the images of --seeds (default 0 to --count − 1); {npzClash.Name} does not apply with it");
            long seed = parse.GetValue(Common.Seed);
            bool images = loaded.Model.Network.SampleShape.Length == 3;
            if (!images && (parse.GetValue(individual) || parse.GetValue(trajectory)))
                throw new BadInputException("--individual and --trajectory write images; this model makes vectors (use bcm eval for its plots)");
            var job = World.Current; // under mpirun -np N each rank makes its share of the seeds
            bool lead = job.Rank == 0;
            if (npzFile is not null)
            {
                if (!images) throw new BadInputException("--npz holds images; this model makes vectors (bcm sample writes its samples.csv)");
                return Npz(loaded.Model, p, seedList ?? Enumerable.Range(0, n).Select(i => (long)i).ToArray(), npzFile, b, classLabel, job);
            }
            if (seedList is not null) return PerSeed(parse, loaded.Model, p, seedList, b, classLabel, job);
            string outDir = Common.OutDir(parse.GetValue(Common.Out), "samples");
            var frames = new List<Tensor>();
            var printer = new ProgressPrinter();
            // The trajectory picture: every step of the first (up to) 8 samples of the first batch.
            Action<int, PlanProgress>? keepFrames = parse.GetValue(trajectory) && lead
                ? (first, step) => { if (first == 0) frames.Add(step.X[..Math.Min(b, 8)].cpu().DetachFromDisposeScope()); }
                : null;
            using var made = Sharded.Generate(job, loaded.Model, p, n, seed, b, classLabel, keepFrames,
                lead ? new SyncProgress<int>(done => printer.Line($"{done}/{n / job.Size} images ({p.Nfe} NFE each){(job.Size > 1 ? $" on each of {job.Size} ranks" : "")}", done == n / job.Size)) : null);
            if (parse.GetValue(individual)) SampleOutputs.WriteIndividual(outDir, made.Local, seed + made.First); // each rank its own seeds
            if (made.All is null) return 0;
            SampleOutputs.Write(outDir, made.All, p, seed, loaded.Source, individual: false, frames);
            Console.WriteLine($"{n} samples ({p}, {p.Nfe} NFE) → {Path.GetFullPath(Path.Combine(outDir, images ? "samples.png" : "samples.csv"))}");
            return 0;
        }));
        return cmd;
    }

    // --npz: the ADM evaluator's file, through per-seed PNGs (resumable, split over the ranks).
    private static int Npz(Bcm.Model.BcmModel model, Plan plan, long[] seedList, string file, int batch, int? label, ICommunicator job)
    {
        var printer = new ProgressPrinter();
        var r = NpzImages.Write(model, plan, seedList, file, batch, label, job,
            job.Rank == 0 ? new SyncProgress<(int Done, int Of)>(d => printer.Line($"{d.Done}/{d.Of} images ({plan.Nfe} NFE each){(job.Size > 1 ? $" on each of {job.Size} ranks" : "")}", d.Done == d.Of)) : null);
        if (job.Rank == 0)
        {
            Broken(r.Seeds);
            Console.WriteLine($"{r.Images:N0} images ({plan}, {plan.Nfe} NFE; {r.Seeds.Skipped:N0} already made) → {Path.GetFullPath(r.Path)} (uint8 NHWC arr_0" +
                              $"{(model.Network.NumClasses > 0 ? ", labels arr_1" : "")}; the per-seed PNGs stay in {NpzImages.SeedFolder(r.Path)})");
        }
        return 0;
    }

    private static void Broken(SeedImages.Result r)
    {
        if (r.Broken is { Count: > 0 } broken)
            Console.Error.WriteLine($"bcm: {broken.Count:N0} existing file{(broken.Count == 1 ? " did" : "s did")} not decode to an image of the model's size and " +
                                    $"{(broken.Count == 1 ? "was" : "were")} made again: {string.Join(", ", broken.Take(10))}{(broken.Count > 10 ? ", …" : "")}");
    }

    // --seeds: one PNG per seed, resumable, split over the ranks.
    private static int PerSeed(ParseResult parse, Bcm.Model.BcmModel model, Plan plan, long[] seedList, int batch, int? label, ICommunicator job)
    {
        string outDir = parse.GetValue(Common.Out)!;
        var printer = new ProgressPrinter();
        var r = SeedImages.Write(model, plan, seedList, outDir, batch, label, job,
            job.Rank == 0 ? new SyncProgress<(int Done, int Of)>(d => printer.Line($"{d.Done}/{d.Of} images ({plan.Nfe} NFE each){(job.Size > 1 ? $" on each of {job.Size} ranks" : "")}", d.Done == d.Of)) : null);
        if (job.Rank == 0) Broken(r);
        if (job.Rank == 0)
            Console.WriteLine($"{r.Total:N0} seeds ({plan}, {plan.Nfe} NFE): {r.Skipped:N0} already written, {r.Written:N0} written{(job.Size > 1 ? " by rank 0" : "")} → {Path.GetFullPath(outDir)}");
        return 0;
    }
}
