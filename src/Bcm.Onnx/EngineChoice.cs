using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Bcm.IO;
using Bcm.Networks;

namespace Bcm.Onnx;

/// <summary>
/// The engine chosen by measurement: <c>bcm bench --onnx</c> records, per network (its configuration) and thread count,
/// how fast ONNX Runtime sampled against libtorch on this machine; a command whose <c>--engine</c> is not given runs the
/// network on the engine that measured faster there, and says so. Nothing is measured behind the user's back: without a
/// record the engine is libtorch. Kept in <c>$BCM_CACHE_DIR/engines.json</c> (default <c>~/.cache/bcm</c>).
/// </summary>
public static class EngineChoice
{
    /// <summary>ONNX Runtime is chosen when it measured at least this many times libtorch's rate (a margin over run-to-run spread).</summary>
    public const double Margin = 1.05;

    /// <summary>The file of the records.</summary>
    public static string CachePath =>
        Path.Combine(Environment.GetEnvironmentVariable("BCM_CACHE_DIR") is { Length: > 0 } dir ? dir
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "bcm"), "engines.json");

    /// <summary>Records a measurement of <see cref="OnnxThroughput.Measure"/> for <paramref name="config"/>, and returns it.</summary>
    public static OnnxThroughput.Row Record(NetworkConfig config, OnnxThroughput.Row row)
    {
        var all = Read();
        all[Key(config, row.Threads)] = new JsonObject
        {
            ["onnx_over_torch"] = row.Ratio, ["batch_size"] = row.BatchSize, ["network"] = row.Name,
            ["measured"] = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm 'UTC'", System.Globalization.CultureInfo.InvariantCulture),
        };
        AtomicFile.WriteAllText(CachePath, all.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        return row;
    }

    /// <summary>ONNX Runtime's measured rate over libtorch's for <paramref name="config"/> at <paramref name="threads"/> threads, or null when never measured.</summary>
    public static double? Ratio(NetworkConfig config, int threads) =>
        Read()[Key(config, threads)] is JsonObject entry && entry["onnx_over_torch"] is JsonValue v && v.TryGetValue(out double ratio) && double.IsFinite(ratio) ? ratio : null;

    // A damaged or foreign cache file is ignored (it is only a preference) and replaced at the next record.
    private static JsonObject Read()
    {
        try
        {
            return File.Exists(CachePath) && JsonNode.Parse(InputFile.ReadAllText(CachePath, 1 << 20, "engine cache")) is JsonObject o ? o : [];
        }
        catch (Exception e) when (e is JsonException or IOException or InvalidDataException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    private static string Key(NetworkConfig config, int threads)
    {
        var json = JsonSerializer.Serialize(config, JsonFormat.Lines);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(json)))[..16] + $"/threads={threads}";
    }
}
