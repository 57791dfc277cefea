using System.Text.Json;
using System.Text.Json.Serialization;

namespace Bcm.Networks;

/// <summary>
/// Configuration of a network F_θ. Serialised as JSON with a <c>kind</c> field that selects the implementation
/// (<c>adm-unet</c>, <c>mlp</c>); a configuration without <c>kind</c> is a UNet (files written before MLPs existed).
/// </summary>
[JsonConverter(typeof(NetworkConfigConverter))]
public abstract record NetworkConfig
{
    [JsonIgnore] public abstract string Kind { get; }

    /// <summary>Shape of one sample, e.g. [C, H, W] or [d].</summary>
    [JsonIgnore] public abstract long[] SampleShape { get; }

    /// <summary>Number of classes, 0 for an unconditional model.</summary>
    public abstract int NumClasses { get; init; }

    /// <summary>Checks the configuration, with a message naming the bad field.</summary>
    public abstract void Validate();
}

/// <summary>Reads and writes <see cref="NetworkConfig"/> with its <c>kind</c> discriminator.</summary>
public sealed class NetworkConfigConverter : JsonConverter<NetworkConfig>
{
    private static readonly Dictionary<string, Type> Kinds = new(StringComparer.Ordinal)
    {
        ["adm-unet"] = typeof(UNetConfig),
        ["mlp"] = typeof(MlpConfig),
    };

    public override NetworkConfig Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        using var doc = JsonDocument.ParseValue(ref reader);
        string kind = doc.RootElement.TryGetProperty("kind", out var k) ? k.GetString() ?? "" : "adm-unet";
        if (!Kinds.TryGetValue(kind, out var type))
            throw new JsonException($"unknown network kind '{kind}' (known: {string.Join(", ", Kinds.Keys)})");
        // The records' Kind is [JsonIgnore], so the "kind" member is skipped like any unknown one.
        return (NetworkConfig)(doc.RootElement.Deserialize(type, options) ?? throw new JsonException("empty network configuration"));
    }

    public override void Write(Utf8JsonWriter writer, NetworkConfig value, JsonSerializerOptions options)
    {
        var element = JsonSerializer.SerializeToElement(value, value.GetType(), options);
        writer.WriteStartObject();
        writer.WriteString("kind", value.Kind);
        foreach (var p in element.EnumerateObject()) p.WriteTo(writer);
        writer.WriteEndObject();
    }

    // The attribute on the abstract base is not inherited (System.Text.Json reads it with inherit: false), so the
    // concrete records serialise by reflection without coming back here.
    public override bool CanConvert(Type typeToConvert) => typeToConvert == typeof(NetworkConfig);
}
