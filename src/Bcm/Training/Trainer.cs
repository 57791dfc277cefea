using System.Diagnostics;
using System.Text.Json;
using Bcm.Checkpoints;
using Bcm.Data;
using Bcm.Distributed;
using Bcm.IO;
using Bcm.Model;
using Bcm.Networks;
using Bcm.Randomness;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using Bcm.Tensors;

namespace Bcm.Training;

/// <summary>
/// Bidirectional consistency training (method §4) in a run folder: options.json, checkpoints/ (safetensors, the last K
/// kept, written atomically), stats.jsonl, samples/. An interrupted run resumes exactly from its newest checkpoint.
/// Under <c>mpirun -np N</c> (a <see cref="ICommunicator"/> of N ranks) it trains data-parallel: each rank takes its
/// share of every step's global batch (the same images, noise and noise levels as one process at that batch, since all
/// come from seeds), the gradients are averaged by one all-reduce per step, and rank 0 alone writes files.
/// </summary>
public sealed class Trainer : IDisposable
{
    private readonly IBcmNetwork online, target, ema;
    private readonly RAdam optimiser;
    private readonly ITrainingData data;
    private readonly Device device;
    private readonly Parameter[] onlineParams, targetParams, emaParams;
    private readonly DataParallel parallel;
    private RunLock? runLock;
    private int[]? epochOrder;
    private long epochOfOrder = -1;
    private string? pendingEvent;

    /// <summary>Steps between the checks that every rank holds the same weights (also at every checkpoint and at the start).</summary>
    public const int SyncCheckEvery = 100;

    /// <summary>
    /// A trainer of <paramref name="options"/> on <paramref name="data"/> writing to <paramref name="runDir"/>, at step 0 (use <see cref="OpenOrResume"/> to resume a run).
    /// Under MPI every rank constructs one with its <paramref name="communicator"/>.
    /// </summary>
    /// <exception cref="ArgumentException">Invalid options, data of the wrong shape, or a batch that does not divide over the ranks.</exception>
    public Trainer(TrainOptions options, ITrainingData data, string runDir, ICommunicator? communicator = null)
    {
        options.Validate();
        Communicator = communicator ?? SingleProcess.Instance;
        if (options.BatchSize % Communicator.Size != 0)
            throw new ArgumentException($"the global batch ({options.BatchSize}) must divide by the number of processes ({Communicator.Size}): " +
                                        $"choose a batch size that is a multiple of {Communicator.Size}");
        data.CheckShape(options.Network.SampleShape);
        if (options.Network.NumClasses > 0 && (data.Labels is null || data.NumClasses > options.Network.NumClasses))
            throw new ArgumentException($"the network is class-conditional with {options.Network.NumClasses} classes, but {data.Name} has {(data.Labels is null ? "no labels" : data.NumClasses + " classes")}");
        Options = options;
        RunDir = runDir;
        this.data = data;
        device = new Device(options.Device);
        if (device.type == DeviceType.CUDA && !cuda.is_available())
            throw new ArgumentException("--device cuda was asked for, but CUDA is not available (install a TorchSharp CUDA backend)");
        Objective = TrainingObjectives.For(options);
        manual_seed((long)(Seeds.Mix(options.Seed, 0) & 0x7FFFFFFF));
        online = NetworkFactory.Create(options.Network);
        try
        {
            if (device.type == DeviceType.CPU) StepMemory.Check(online, options, Communicator.Size);
        }
        catch
        {
            online.Module.Dispose();
            throw;
        }
        if (options.InitFrom is not null) LoadConsistencyModel(online, options.InitFrom);
        else if (!Objective.Kind.TrainsU()) online.InitialiseFromConsistencyModel();
        target = NetworkFactory.Create(options.Network);
        ema = NetworkFactory.Create(options.Network);
        online.Module.to(device);
        target.Module.to(device);
        ema.Module.to(device);
        // A denoiser (the EDM baseline) ignores u: its u parameters (align [I | 0], u embedding) stay frozen.
        var trainable = online.Module.named_parameters().Where(p => Objective.Kind.TrainsU() || !online.IsUParameter(p.name)).ToArray();
        var names = trainable.Select(p => p.name).ToHashSet();
        foreach (var (name, p) in online.Module.named_parameters()) p.requires_grad = names.Contains(name);
        onlineParams = trainable.Select(p => p.parameter).ToArray();
        targetParams = target.Module.named_parameters().Where(p => names.Contains(p.name)).Select(p => p.parameter).ToArray();
        emaParams = ema.Module.named_parameters().Where(p => names.Contains(p.name)).Select(p => p.parameter).ToArray();
        CopyInto(online.Module, target.Module);
        CopyInto(online.Module, ema.Module);
        foreach (var p in target.Module.parameters().Concat(ema.Module.parameters())) p.requires_grad = false;
        online.Module.train();
        target.Module.train(); // the official target stays in train mode (same dropout as the online network)
        ema.Module.eval();
        optimiser = new RAdam(trainable.Select(p => (p.name, p.parameter)), options.LearningRate, options.Beta1, options.Beta2);
        parallel = new DataParallel(Communicator, onlineParams);
        Online = new BcmModel(online);
        Target = new BcmModel(target);
        Ema = new BcmModel(ema);
    }

    /// <summary>The run's options (after any overrides on resume).</summary>
    public TrainOptions Options { get; }
    /// <summary>What the run minimises (chosen by <see cref="TrainOptions.Objective"/>).</summary>
    public ITrainingObjective Objective { get; }
    /// <summary>The run folder.</summary>
    public string RunDir { get; }
    /// <summary>Optimiser steps done.</summary>
    public long Step { get; private set; }
    /// <summary>The network being trained.</summary>
    public BcmModel Online { get; }
    /// <summary>The target network (the online weights after every step, in train mode).</summary>
    public BcmModel Target { get; }
    /// <summary>The evaluation model (EMA weights).</summary>
    public BcmModel Ema { get; }

    /// <summary>The processes this run trains on (one outside mpirun); rank 0 writes every file.</summary>
    public ICommunicator Communicator { get; }

    /// <summary>One line for the start of a run: what it trains on, its size, batch (per rank under MPI), steps and objective.</summary>
    public string Describe()
    {
        var o = Options;
        long parameters = Online.Network.Module.parameters().Sum(p => p.numel());
        int ranks = Communicator.Size;
        return $"training {o.Preset} on {o.Data}: {parameters:N0} parameters, batch {o.BatchSize}" +
               $"{(ranks > 1 ? $" ({o.BatchSize / ranks} on each of {ranks} ranks)" : "")}, {o.Steps} steps" +
               (Objective is JpegRestorerObjective ? $", Palette-style JPEG restorer (EDM denoiser conditioned on JPEG images of quality {string.Join("/", o.JpegQualities ?? [])})"
                   : Objective.Kind switch { ModelKind.ConsistencyModel => ", CT term only", ModelKind.Denoiser => ", EDM denoiser objective", _ => "" });
    }

    /// <summary>Called after the gradients are averaged over the ranks and before clipping and the optimiser step, with the online parameters.</summary>
    public Action<IReadOnlyList<Parameter>>? GradientHook { get; set; }

    /// <summary>Called once for each file in checkpoints/ that is not the run's own and was therefore left in place when old checkpoints were pruned.</summary>
    public Action<string>? ForeignFileLeft { get; set; }

    private readonly HashSet<string> warnedForeign = [];

    /// <summary>Called every <see cref="TrainOptions.SampleEvery"/> steps (e.g. to save a preview grid from <see cref="Ema"/>).</summary>
    public Action<Trainer>? SamplesDue { get; set; }

    /// <summary>
    /// Creates a trainer for a new run folder, or resumes the run already there. On resume the run's own options win:
    /// <paramref name="options"/> may differ from them only in the total of steps, the device and the options named in
    /// <paramref name="overrides"/> (recorded in <see cref="TrainOptions.History"/>; see <see cref="Resume.Reconcile"/>),
    /// and stats.jsonl is cut back to the checkpoint's step. Every rank of a data-parallel job calls it with the same
    /// folder (a file system they share) and resumes from the same checkpoint; rank 0 alone writes.
    /// </summary>
    /// <remarks>The writer (rank 0) holds the folder's <see cref="RunLock"/> until the trainer is disposed; a second writer gets <see cref="RunLockedException"/>.</remarks>
    /// <exception cref="ResumeConflictException">The options differ from the run's in a way not allowed.</exception>
    public static Trainer OpenOrResume(TrainOptions options, string runDir, IProgress<string>? log = null, ICommunicator? communicator = null,
                                       IReadOnlyCollection<string>? overrides = null)
    {
        options.Validate(); // every option, before a file is touched or compared
        var runLock = (communicator?.Rank ?? 0) == 0 ? RunLock.Acquire(runDir) : null;
        try
        {
            if (runLock is not null) RemoveStaleTemporaries(runDir, log);
            var trainer = OpenOrResumeLocked(options, runDir, log, communicator, overrides ?? []);
            trainer.runLock = runLock;
            return trainer;
        }
        catch
        {
            runLock?.Dispose();
            throw;
        }
    }

    // Temporary files of atomic writes that a killed run left (a checkpoint's can be as large as the checkpoint). Only
    // the lock holder writes here, so every such file is stale.
    private static void RemoveStaleTemporaries(string runDir, IProgress<string>? log)
    {
        foreach (var dir in new[] { runDir, Path.Combine(runDir, "checkpoints"), Path.Combine(runDir, "samples") }.Where(Directory.Exists))
            foreach (var file in Directory.GetFiles(dir, ".*.tmp"))
            {
                File.Delete(file);
                log?.Report($"removed {file}, left by an interrupted write");
            }
    }

    /// <summary>The options of the run in <paramref name="runDir"/> (from its newest checkpoint), or null when it has no checkpoint yet.</summary>
    /// <exception cref="ForeignFileException">A file in its checkpoints/ is not the run's own.</exception>
    public static TrainOptions? SavedOptions(string runDir)
    {
        var latest = RunFolder.OwnCheckpoints(runDir).LastOrDefault();
        return latest.Path is null ? null : TrainingCheckpoint.ReadOptions(SafeTensors.Inspect(latest.Path).Metadata, latest.Path);
    }

    private static Trainer OpenOrResumeLocked(TrainOptions options, string runDir, IProgress<string>? log, ICommunicator? communicator, IReadOnlyCollection<string> overrides)
    {
        // Every checkpoint is checked to be the run's own before anything is read, cut back or pruned.
        var latest = RunFolder.OwnCheckpoints(runDir).LastOrDefault();
        if (latest.Path is not null)
        {
            var (tensors, meta) = SafeTensors.Load(latest.Path);
            try
            {
                var saved = TrainingCheckpoint.ReadOptions(meta, latest.Path);
                long step = Metadata.Count(meta, "step", latest.Path);
                var resumed = Resume.Reconcile(saved, options, step, overrides);
                var trainer = new Trainer(resumed, LoadData(resumed, log), runDir, communicator);
                trainer.Restore(tensors, meta, latest.Path);
                var changes = resumed.History.Skip(saved.History.Count).ToArray();
                if (trainer.Communicator.Rank == 0) trainer.RecordResume(changes);
                log?.Report($"resumed {runDir} at step {trainer.Step} from {Path.GetFileName(latest.Path)}" +
                            string.Concat(changes.Select(c => $"; {c.Name} {c.From} → {c.To}")));
                return trainer;
            }
            finally
            {
                foreach (var t in tensors.Values) t.Dispose();
            }
        }
        if (options.RunId is null) options = options with { RunId = Guid.NewGuid().ToString("D") };
        var fresh = new Trainer(options, LoadData(options, log), runDir, communicator);
        if (fresh.Communicator.Rank == 0)
        {
            Directory.CreateDirectory(runDir);
            AtomicFile.WriteAllText(Path.Combine(runDir, "options.json"), options.ToJson());
            // The class list beside the run, for a reader that does not parse options.json: label i is line i.
            if (options.ClassNames is { } names) AtomicFile.WriteAllText(Path.Combine(runDir, "classes.txt"), string.Join("\n", names) + "\n");
        }
        return fresh;
    }

    // On resume: stats.jsonl loses the lines of steps after the checkpoint (and a line torn by a kill); options.json
    // and the first stats line say what changed.
    private void RecordResume(IReadOnlyList<OptionOverride> changes)
    {
        string stats = Path.Combine(RunDir, "stats.jsonl");
        if (File.Exists(stats))
        {
            var kept = File.ReadLines(stats).TakeWhile(line => StatsStep(line) is long s && s <= Step).ToArray();
            AtomicFile.WriteAllText(stats, kept.Length == 0 ? "" : string.Join("\n", kept) + "\n");
        }
        if (changes.Count > 0)
        {
            AtomicFile.WriteAllText(Path.Combine(RunDir, "options.json"), Options.ToJson());
            pendingEvent = "resumed with " + string.Join(", ", changes.Select(c => $"{c.Name} {c.From} → {c.To}"));
        }
    }

    private static long? StatsStep(string line)
    {
        try
        {
            using var doc = JsonDocument.Parse(line);
            return doc.RootElement.TryGetProperty("step", out var s) && s.TryGetInt64(out long step) ? step : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The training data of <paramref name="options"/> (downloaded and checked where needed).</summary>
    public static ITrainingData LoadData(TrainOptions options, IProgress<string>? log = null) =>
        DataSources.LoadForTraining(options.Data, options.Network.SampleShape, options.DataLimit, log);

    private void Restore(Dictionary<string, Tensor> tensors, Dictionary<string, string> meta, string path)
    {
        StateDict.Load(online.Module, tensors, path, "online.");
        StateDict.Load(ema.Module, tensors, path, "ema.");
        CopyInto(online.Module, target.Module);
        var optimState = tensors.Where(kv => kv.Key.StartsWith("optim.", StringComparison.Ordinal))
            .ToDictionary(kv => kv.Key["optim.".Length..], kv => kv.Value.to(device));
        optimiser.LoadState(optimState, Metadata.Count(meta, "optimizer_step", path), path);
        Step = Metadata.Count(meta, "step", path);
    }

    /// <summary>
    /// Fine-tuning from a consistency model or a denoiser (method §4): its weights (official layout, where a consistency
    /// model has no time_embed_end or time_embed_align; or a bcm checkpoint or run folder, whose EMA weights are used),
    /// then time_embed_end = time_embed and time_embed_align = [I | 0].
    /// </summary>
    public static void LoadConsistencyModel(IBcmNetwork net, string path)
    {
        path = ModelLoader.ResolveCheckpoint(path);
        var (tensors, meta) = ModelLoader.ReadTensors(path);
        try
        {
            var (weights, prefix) = ModelLoader.SelectWeights(tensors, meta);
            StateDict.Load(net.Module, weights, path, prefix, optional: net.IsUParameter);
            net.InitialiseFromConsistencyModel();
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    /// <summary>N(k) at the current step (0 for an objective without a grid).</summary>
    public int CurrentScales => Objective.Scales(Step);

    /// <summary>One optimiser step; returns (loss, ct, soft, gradient norm before clipping), the losses averaged over the global batch.</summary>
    public (double Loss, double Ct, double Soft, double GradNorm) TrainStep()
    {
        var r = TrainStep(stopRequested: false);
        return (r.Loss, r.Ct, r.Soft, r.GradNorm);
    }

    // One step; under MPI also agrees with the other ranks whether any of them asked to stop.
    private (double Loss, double Ct, double Soft, double GradNorm, bool Stop) TrainStep(bool stopRequested)
    {
        using var scope = NewDisposeScope();
        int share = Options.BatchSize / Communicator.Size, start = Communicator.Rank * share;
        var draw = Objective.Draw(Seeds.Random(Options.Seed, Seeds.Indices, Step), Options.BatchSize, Step);
        var mine = Communicator.Size == 1 ? draw : draw.Slice(start, share);
        var (x0, labels, noise) = StepBatch(mine.Flips, start);
        var loss = Objective.Loss(Online, Target, mine, x0, noise, labels, DropoutSeed);
        var (lossValue, ct, soft, gradNorm, stop) = Optimise(loss, stopRequested);
        return (lossValue, ct, soft, gradNorm, stop);
    }

    // This rank's share of the step's data (in the seeded epoch order of the global batch), labels and noise (drawn for
    // the global batch, then sliced); tensors go to the caller's dispose scope.
    private (Tensor X0, Tensor? Labels, Tensor Noise) StepBatch(bool[] flips, int start)
    {
        var indices = BatchIndices(Options.BatchSize)[start..(start + flips.Length)];
        var x0 = data.Batch(indices, Options.Network.SampleShape, Options.RandomFlip ? flips : null, device);
        var labels = Options.Network.NumClasses > 0 ? data.LabelBatch(indices, device) : null;
        using var gen = Seeds.Generator(Options.Seed, Seeds.Noise, Step);
        using var all = randn([Options.BatchSize, .. Options.Network.SampleShape], generator: gen);
        return (x0, labels, all.narrow(0, start, flips.Length).to(device));
    }

    // The seed that gives every network evaluation of this step the same dropout mask. Each rank draws the masks of its
    // own samples from its own seed (rank 0's is the one-process seed), so with dropout the masks, though not the data,
    // noise or noise levels, differ from one process at the same global batch; a run is reproducible for a fixed N.
    private long DropoutSeed => (long)((Communicator.Rank == 0 ? Seeds.Mix(Options.Seed, Seeds.Dropout, Step)
        : Seeds.Mix(Options.Seed, Seeds.Dropout, Step, Communicator.Rank)) & 0x7FFF_FFFF_FFFF_FFFF);

    // Backward, the average over the ranks, clipping, the optimiser step, EMA and target: shared by both objectives.
    // Every decision (non-finite loss or gradient, stop) is taken on values all ranks share.
    private (double Loss, double Ct, double Soft, double GradNorm, bool Stop) Optimise(StepLoss stepLoss, bool stopRequested)
    {
        foreach (var param in onlineParams) param.grad?.zero_();
        stepLoss.Loss.backward();
        var (lossValue, ct, soft, stop) = parallel.Reduce(stepLoss.Loss.item<float>(), stepLoss.Ct, stepLoss.Soft, stopRequested);
        if (!double.IsFinite(lossValue))
            throw new TrainingDivergedException($"the loss became {lossValue} at step {Step}; the last good checkpoint is kept. Lower the learning rate (now {Options.LearningRate}) or check the data.");
        GradientHook?.Invoke(onlineParams);
        double gradNorm = Options.GradClip > 0
            ? nn.utils.clip_grad_norm_(onlineParams, Options.GradClip)
            : Math.Sqrt(onlineParams.Where(q => q.grad is not null).Sum(q => q.grad!.Squared().sum().item<float>()));
        if (!double.IsFinite(gradNorm))
            throw new TrainingDivergedException($"the gradient became non-finite at step {Step}; the weights were not updated and the last good checkpoint is kept. Lower the learning rate (now {Options.LearningRate}) or check the data.");
        optimiser.Step();
        Step++;
        UpdateEmaAndTarget();
        return (lossValue, ct, soft, gradNorm, stop);
    }

    /// <summary>Trains until <see cref="TrainOptions.Steps"/>, checkpointing, logging and sampling as configured.</summary>
    /// <remarks>
    /// Under MPI every rank calls it; a stop (<paramref name="cancel"/> on any rank) takes effect on all ranks after the
    /// same step, and rank 0 writes the checkpoint.
    /// </remarks>
    public void Run(IProgress<TrainProgress>? progress = null, CancellationToken cancel = default)
    {
        bool writer = Communicator.Rank == 0;
        if (writer) Directory.CreateDirectory(RunDir);
        var clock = Stopwatch.StartNew();
        long startStep = Step;
        double firstStepSeconds = 0;
        if (writer) RunFolder.RefuseLinks(RunDir); // stats.jsonl is appended to in place
        using var stats = writer ? new StreamWriter(Path.Combine(RunDir, "stats.jsonl"), append: true) { AutoFlush = true } : null;
        parallel.CheckInSync(online.Module.parameters(), Step);
        bool stop = false;
        while (Step < Options.Steps && !stop)
        {
            if (Communicator.Size == 1 && cancel.IsCancellationRequested) break;
            int scales = CurrentScales;
            (double loss, double ct, double soft, double gradNorm, stop) = TrainStep(cancel.IsCancellationRequested);
            double elapsed = clock.Elapsed.TotalSeconds;
            // The first step of a process is slow (allocations, kernel selection): the rate, and so the ETA, is measured
            // from the end of it once a second step is done.
            if (Step - startStep == 1) firstStepSeconds = elapsed;
            double ips = Step - startStep >= 2
                ? (Step - startStep - 1) * Options.BatchSize / Math.Max(elapsed - firstStepSeconds, 1e-9)
                : Options.BatchSize / Math.Max(elapsed, 1e-9);
            double eta = (Options.Steps - Step) * Options.BatchSize / Math.Max(ips, 1e-9);
            string? evt = pendingEvent;
            pendingEvent = null;
            bool checkpoint = Step % Options.CheckpointEvery == 0 || Step == Options.Steps;
            if (checkpoint || Step % SyncCheckEvery == 0) parallel.CheckInSync(online.Module.parameters(), Step);
            if (checkpoint)
            {
                SaveCheckpoint();
                evt = evt is null ? "checkpoint" : evt + "; checkpoint";
            }
            if (writer && Options.SampleEvery > 0 && Step % Options.SampleEvery == 0) SamplesDue?.Invoke(this);
            var report = new TrainProgress(Step, Options.Steps, scales, loss, ct, soft, gradNorm, ips, elapsed, eta, evt, parallel.LastAllReduceSeconds,
                Environment.WorkingSet / 1048576.0);
            stats?.WriteLine(JsonSerializer.Serialize(report, JsonFormat.Lines));
            if (writer) progress?.Report(report);
        }
        if ((stop || cancel.IsCancellationRequested) && TrainingCheckpoint.List(RunDir).LastOrDefault().Step != Step) SaveCheckpoint();
    }

    /// <summary>
    /// Writes checkpoints/ckpt-STEP.safetensors atomically and keeps the newest K (rank 0 only; other ranks do nothing).
    /// A checkpoint is written only when it is usable: finite weights, and finite one-step samples from its EMA model
    /// (a run can blow its weights up to 1e5 without a non-finite loss); otherwise training stops with the newest
    /// usable checkpoint named.
    /// </summary>
    public void SaveCheckpoint()
    {
        if (Communicator.Rank != 0) return;
        if (Unusable() is string why)
        {
            var last = TrainingCheckpoint.List(RunDir).LastOrDefault();
            throw new TrainingDivergedException($"at step {Step} {why}; no checkpoint was written. " +
                (last.Path is null ? "There is no earlier checkpoint." : $"The newest usable checkpoint is {last.Path} (step {last.Step}).") +
                $" Lower the learning rate (now {Options.LearningRate}).");
        }
        string path = Path.Combine(RunDir, "checkpoints", TrainingCheckpoint.FileName(Step));
        TrainingCheckpoint.Save(path, online.Module, ema.Module, optimiser, Step, Options);
        foreach (var left in RunFolder.Prune(RunDir, Options.KeepCheckpoints, Options))
            if (warnedForeign.Add(left)) ForeignFileLeft?.Invoke(left);
    }

    // Why the current weights should not be saved, or null: non-finite weights, or non-finite one-step samples of the EMA model.
    private string? Unusable()
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        foreach (var (name, p) in online.Module.named_parameters().Concat(ema.Module.named_parameters()))
            if (!p.isfinite().all().item<bool>()) return $"the weights hold NaN or infinite values ({name})";
        using var g = Seeds.Generator(Options.Seed, Seeds.Sample, Step); // its own generator: training's random streams are untouched
        var x = randn([2, .. Options.Network.SampleShape], generator: g).to(device).Times(Ema.SigmaMax);
        var labels = Options.Network.NumClasses > 0 ? zeros([2], ScalarType.Int64, device: device) : Options.Network.StandInCondition(2, device);
        if (!Ema.Jump(x, Ema.SigmaMax, Ema.SigmaMin, labels).isfinite().all().item<bool>())
            return "the EMA model's one-step samples are NaN or infinite";
        return null;
    }

    // Data order: one seeded permutation per epoch; position k·B + j of the stream is image order[epoch][…].
    private int[] BatchIndices(int batch)
    {
        var result = new int[batch];
        for (int j = 0; j < batch; j++)
        {
            long position = Step * batch + j;
            long epoch = position / data.Count;
            if (epoch != epochOfOrder)
            {
                var rng = Seeds.Random(Options.Seed, Seeds.Data, epoch);
                epochOrder = Enumerable.Range(0, data.Count).ToArray();
                rng.Shuffle(epochOrder);
                epochOfOrder = epoch;
            }
            result[j] = epochOrder![position % data.Count];
        }
        return result;
    }

    private void UpdateEmaAndTarget()
    {
        using var _ = no_grad();
        double images = (double)Step * Options.BatchSize;
        double halfLife = Options.EmaHalfLifeImages;
        if (Options.EmaRampUp > 0) halfLife = Math.Min(halfLife, images * Options.EmaRampUp);
        double beta = Math.Pow(0.5, Options.BatchSize / Math.Max(halfLife, 1e-8));
        for (int i = 0; i < onlineParams.Length; i++)
        {
            emaParams[i].lerp_(onlineParams[i], 1 - beta);
            targetParams[i].copy_(onlineParams[i]); // iCT: the target is the online network after every step
        }
    }

    private static void CopyInto(nn.Module from, nn.Module to)
    {
        using var _ = no_grad();
        var src = from.state_dict();
        foreach (var (name, t) in to.state_dict()) t.copy_(src[name]);
    }

    /// <summary>Releases the run folder's lock and frees the networks and optimiser state.</summary>
    public void Dispose()
    {
        runLock?.Dispose();
        optimiser.Dispose();
        online.Module.Dispose();
        target.Module.Dispose();
        ema.Module.Dispose();
    }
}
