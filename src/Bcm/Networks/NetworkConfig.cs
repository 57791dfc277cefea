using System.Text.Json;
using System.Text.Json.Serialization;

namespace Bcm.Networks;

/// <summary>
/// Configuration of a network F_θ. Serialised as JSON with a <c>kind</c> field that selects the implementation
/// (<c>adm-unet</c>, <c>mlp</c>), by System.Text.Json's polymorphism. Files of older versions (no <c>kind</c>: a UNet;
/// or <c>kind</c> twice) are read through <see cref="UpgradeLegacyJson"/>.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "kind")]
[JsonDerivedType(typeof(UNetConfig), "adm-unet")]
[JsonDerivedType(typeof(MlpConfig), "mlp")]
public abstract record NetworkConfig
{
    /// <summary>The implementation's name, as in the JSON <c>kind</c> field.</summary>
    [JsonIgnore] public abstract string Kind { get; }

    /// <summary>Shape of one sample, e.g. [C, H, W] or [d].</summary>
    [JsonIgnore] public abstract long[] SampleShape { get; }

    /// <summary>Number of classes, 0 for an unconditional model.</summary>
    public abstract int NumClasses { get; init; }

    /// <summary>Channels of the conditioning image a network takes in place of class labels (0: none; see <see cref="UNetConfig.ConditionChannels"/>).</summary>
    [JsonIgnore] public virtual int ConditionChannelCount => 0;

    /// <summary>
    /// A stand-in for what the network is conditioned on, for timing and checks: random class labels, a zero image of
    /// <see cref="ConditionChannelCount"/> channels, or null for an unconditional network.
    /// </summary>
    public TorchSharp.torch.Tensor? StandInCondition(long batch, TorchSharp.torch.Device? device = null) =>
        NumClasses > 0 ? TorchSharp.torch.randint(NumClasses, [batch], device: device)
        : ConditionChannelCount > 0 ? TorchSharp.torch.zeros([batch, ConditionChannelCount, .. SampleShape[1..]], device: device)
        : null;

    /// <summary>True when any layer drops out in training (then the evaluations of a training step must share one mask pattern).</summary>
    [JsonIgnore] public abstract bool HasDropout { get; }

    /// <summary>Checks the configuration, with a message naming the bad field.</summary>
    public abstract void Validate();

    /// <summary>
    /// Rewrites the <c>network</c> object of an options document written by an older version into today's form: one
    /// <c>kind</c>, first (<c>adm-unet</c> where there was none), and no derived <c>sample_shape</c>. Other documents
    /// are returned unchanged.
    /// </summary>
    /// <exception cref="JsonException">The document is not JSON, or its network kind is not a string.</exception>
    public static string UpgradeLegacyJson(string json)
    {
        using var doc = JsonDocument.Parse(json);
        if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("network", out var network)
            || network.ValueKind != JsonValueKind.Object)
            return json;
        var kinds = network.EnumerateObject().Where(p => p.Name == "kind").Select(p => p.Value).ToArray();
        if (kinds.Any(k => k.ValueKind != JsonValueKind.String)) throw new JsonException("the network's kind must be a string");
        var known = typeof(NetworkConfig).GetCustomAttributes(typeof(JsonDerivedTypeAttribute), false)
            .Select(a => (string)((JsonDerivedTypeAttribute)a).TypeDiscriminator!).ToArray();
        if (kinds.FirstOrDefault(k => !known.Contains(k.GetString())) is { ValueKind: JsonValueKind.String } bad)
            throw new JsonException($"unknown network kind '{bad.GetString()}' (known: {string.Join(", ", known)})");
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                if (p.Name != "network")
                {
                    p.WriteTo(writer);
                    continue;
                }
                writer.WritePropertyName(p.Name);
                writer.WriteStartObject();
                writer.WriteString("kind", kinds.Length > 0 ? kinds[0].GetString() : "adm-unet");
                foreach (var q in network.EnumerateObject().Where(q => q.Name is not ("kind" or "sample_shape"))) q.WriteTo(writer);
                writer.WriteEndObject();
            }
            writer.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
