using System.Globalization;

namespace Bcm.Checkpoints;

/// <summary>Typed reads of a checkpoint's string metadata: a missing key or a malformed value is a <see cref="CheckpointException"/> naming both.</summary>
public static class Metadata
{
    /// <summary>The text of metadata <paramref name="key"/>; missing is an error naming <paramref name="path"/>.</summary>
    public static string Text(IReadOnlyDictionary<string, string> meta, string key, string path) =>
        meta.TryGetValue(key, out var v) ? v : throw new CheckpointException($"{path}: metadata {key} is missing");

    /// <summary>An integer in <paramref name="min"/>..<paramref name="max"/> from metadata <paramref name="key"/>.</summary>
    public static int Int(IReadOnlyDictionary<string, string> meta, string key, string path, int min = int.MinValue, int max = int.MaxValue)
    {
        string v = Text(meta, key, path);
        return int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int i) && i >= min && i <= max ? i
            : throw new CheckpointException($"{path}: metadata {key} is '{v}', expected an integer in {min}..{max}");
    }

    /// <summary>A non-negative count (a step, an optimiser step) of a checkpoint's metadata.</summary>
    public static long Count(IReadOnlyDictionary<string, string> meta, string key, string path) =>
        meta.TryGetValue(key, out var text) && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long v)
            ? v : throw new CheckpointException($"{path}: metadata {key} is missing or not a non-negative integer");

    /// <summary>A finite real number from metadata <paramref name="key"/>.</summary>
    public static double Real(IReadOnlyDictionary<string, string> meta, string key, string path) =>
        double.TryParse(Text(meta, key, path), NumberStyles.Float, CultureInfo.InvariantCulture, out double d) && double.IsFinite(d) ? d
            : throw new CheckpointException($"{path}: metadata {key} is '{meta[key]}', expected a number");

    /// <summary>A list of integers written as Python writes a tuple or list: <c>(1, 2, 4)</c> or <c>[1, 2]</c>.</summary>
    public static int[] Ints(IReadOnlyDictionary<string, string> meta, string key, string path) =>
        Text(meta, key, path).Trim('(', ')', '[', ']').Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(v => int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int i) ? i
                : throw new CheckpointException($"{path}: metadata {key} holds '{v}', not an integer"))
            .ToArray();
}
