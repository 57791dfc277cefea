using Bcm.Checkpoints;

namespace Bcm.Training;

/// <summary>A run folder holds a file its own run did not write (a checkpoint of another run, or a link in place of a state file).</summary>
public sealed class ForeignFileException(string message) : Errors.BadInputException(message);

/// <summary>
/// What belongs to a run folder. A run is identified by the id in its options.json (<see cref="TrainOptions.RunId"/>,
/// written when the run starts and carried inside every checkpoint's options), and a checkpoint is the run's own only
/// when it is a bcm training checkpoint with that id, the run's network and the run's objective. Resuming, pruning and
/// loading a run folder go through here, so a file dropped into <c>checkpoints/</c> is never adopted, trained on or
/// sampled from, and nothing the run did not write is deleted or truncated. The files a run writes in place (the lock,
/// its PID, stats.jsonl) must not be symbolic links: a link there would send the run's writes into another file.
/// </summary>
public static class RunFolder
{
    /// <summary>The run's own options file.</summary>
    public static string OptionsPath(string runDir) => Path.Combine(runDir, "options.json");

    /// <summary>The files of a run folder that a run writes in place or reads as its own, which must not be links.</summary>
    public static readonly string[] StateFiles = [".lock", ".lock.pid", "stats.jsonl", "options.json", "checkpoints", "samples", "report"];

    /// <summary>The run's own options (options.json), or null for a folder that has none (not a run yet).</summary>
    /// <exception cref="InvalidDataException">options.json is not a readable options file.</exception>
    public static TrainOptions? OwnOptions(string runDir)
    {
        string path = OptionsPath(runDir);
        if (!File.Exists(path)) return null;
        try
        {
            var options = TrainOptions.FromJson(IO.InputFile.ReadAllText(path, 1 << 20, "options file"));
            options.Validate();
            return options;
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or NotSupportedException or ArgumentException or InvalidOperationException)
        {
            throw new InvalidDataException($"{path}: not a readable options file of bcm train ({e.Message})", e);
        }
    }

    /// <summary>Refuses a run folder one of whose <see cref="StateFiles"/> is a symbolic link.</summary>
    /// <exception cref="ForeignFileException">A state file is a link; the message names it and its target.</exception>
    public static void RefuseLinks(string runDir)
    {
        foreach (var name in StateFiles)
        {
            var path = Path.Combine(runDir, name);
            FileSystemInfo info = Directory.Exists(path) ? new DirectoryInfo(path) : new FileInfo(path);
            if (info.LinkTarget is string target)
                throw new ForeignFileException($"{path} is a symbolic link (to {target}): a run writes its state files itself and never through a link. " +
                                               "Remove the link (the run recreates the file) or train into another --out folder.");
        }
    }

    /// <summary>
    /// Every checkpoint of the run, oldest first, each checked to be the run's own (see <see cref="Foreign"/>); the run's
    /// options are options.json's, or for a folder without one (an older version's run copied without it) the newest checkpoint's.
    /// </summary>
    /// <exception cref="ForeignFileException">A file in checkpoints/ is not the run's own; the message names it and what differs.</exception>
    public static List<(long Step, string Path)> OwnCheckpoints(string runDir)
    {
        var all = TrainingCheckpoint.List(runDir);
        if (all.Count == 0) return all;
        var own = OwnOptions(runDir) ?? ReadOptions(all[^1].Path);
        foreach (var (_, path) in all)
            if (Foreign(path, own) is string why) throw Refusal(runDir, path, why);
        return all;
    }

    /// <summary>The newest checkpoint of the run, checked to be the run's own, or null for a run without one.</summary>
    /// <exception cref="ForeignFileException">It is not the run's own.</exception>
    public static string? NewestOwnCheckpoint(string runDir)
    {
        var newest = TrainingCheckpoint.List(runDir).LastOrDefault();
        if (newest.Path is null) return null;
        if (OwnOptions(runDir) is { } own && Foreign(newest.Path, own) is string why) throw Refusal(runDir, newest.Path, why);
        return newest.Path;
    }

    /// <summary>
    /// Why the file at <paramref name="path"/> is not a checkpoint of the run whose options are <paramref name="own"/>,
    /// or null when it is: it must be a bcm training checkpoint carrying the run's id (where the run has one), and the
    /// run's network and objective.
    /// </summary>
    public static string? Foreign(string path, TrainOptions own)
    {
        TrainOptions theirs;
        try
        {
            var (_, meta) = SafeTensors.Inspect(path);
            if (!ModelLoader.IsTrainingCheckpoint(meta)) return "it is not a bcm training checkpoint (an export or an official state_dict?)";
            theirs = TrainingCheckpoint.ReadOptions(meta, path);
        }
        catch (Exception e) when (e is CheckpointException or InvalidDataException or IOException)
        {
            return $"it cannot be read as a training checkpoint ({e.Message})";
        }
        string ourNet = System.Text.Json.JsonSerializer.Serialize(own.Network, IO.JsonFormat.Lines);
        string theirNet = System.Text.Json.JsonSerializer.Serialize(theirs.Network, IO.JsonFormat.Lines);
        if (ourNet != theirNet) return $"its network differs (it has {theirNet}, the run has {ourNet})";
        if (ModelKinds.Of(theirs) != ModelKinds.Of(own))
            return $"its objective differs (it has {Objective(theirs)}, the run has {Objective(own)})";
        if (own.RunId is not null && theirs.RunId != own.RunId)
            return $"it belongs to another run (run id {theirs.RunId ?? "none"}, this run's is {own.RunId})";
        return null;
    }

    /// <summary>
    /// Deletes all but the newest <paramref name="keep"/> of the run's own checkpoints; a file that is not the run's own
    /// is never deleted (it is left where it is and reported).
    /// </summary>
    /// <returns>The files left in place because they are not the run's own.</returns>
    public static List<string> Prune(string runDir, int keep, TrainOptions own)
    {
        var all = TrainingCheckpoint.List(runDir).Select(c => (c.Path, Own: Foreign(c.Path, own) is null)).ToList();
        var mine = all.Where(c => c.Own).ToList();
        foreach (var (path, _) in mine.Take(Math.Max(0, mine.Count - keep))) File.Delete(path);
        return all.Where(c => !c.Own).Select(c => c.Path).ToList();
    }

    private static string Objective(TrainOptions o) => o.CtOnly ? o.Objective + " (CT term only)" : o.Objective;

    private static TrainOptions ReadOptions(string path) => TrainingCheckpoint.ReadOptions(SafeTensors.Inspect(path).Metadata, path);

    private static ForeignFileException Refusal(string runDir, string path, string why) =>
        new($"{path} is not a checkpoint of the run in {runDir}: {why}. Nothing was changed; move the file out of {Path.Combine(runDir, "checkpoints")} " +
            "and run again, or train or sample from another folder.");
}
