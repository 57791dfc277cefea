using System.Text.Json;
using System.Text.Json.Serialization;

namespace Bcm.IO;

/// <summary>The JSON form of every file the library writes (options, stats, reports): snake_case, nulls left out, plans readable.</summary>
public static class JsonFormat
{
    /// <summary>Indented, snake_case, nulls omitted; characters such as &gt; in plans stay as they are.</summary>
    public static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        AllowOutOfOrderMetadataProperties = true, // a hand-written network configuration may give its kind anywhere
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping, // plans such as 80>0.002 stay readable
    };

    /// <summary>As <see cref="Options"/>, and a field the type does not have is an error: for files people write by hand
    /// (a network configuration for <c>bcm bench --config</c>), where a misspelt or camelCase name would otherwise be
    /// ignored and its default used in silence.</summary>
    public static readonly JsonSerializerOptions Strict = new(Options) { UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow };

    /// <summary>One object per line (stats.jsonl).</summary>
    public static readonly JsonSerializerOptions Lines = new(Options) { WriteIndented = false };

    /// <summary>As <see cref="Options"/>, with NaN and ±∞ written as strings (report tables may hold them).</summary>
    public static readonly JsonSerializerOptions Reports = new(Options) { NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals };

    /// <summary>Serialises <paramref name="value"/> and writes it atomically.</summary>
    public static void Write<T>(string path, T value, JsonSerializerOptions? options = null) =>
        AtomicFile.WriteAllText(path, JsonSerializer.Serialize(value, options ?? Options));
}
