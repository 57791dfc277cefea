using System.Text.Json.Serialization;

namespace Bcm.Networks;

/// <summary>
/// A residual MLP F_θ(x, c_noise(t), c_noise(u)) for d-dimensional vectors (method §2 with a different F): the same
/// t/u embeddings and bias-free align projection as the UNet, added into every residual block.
/// </summary>
public sealed record MlpConfig : NetworkConfig
{
    /// <summary>The JSON kind of this network: <c>mlp</c>.</summary>
    [JsonIgnore] public override string Kind => "mlp";
    /// <inheritdoc/>
    [JsonIgnore] public override bool HasDropout => Dropout > 0;
    /// <summary>Dimension d of a sample.</summary>
    public int Dim { get; init; } = 2;
    /// <summary>Width of the hidden layers.</summary>
    public int Hidden { get; init; } = 256;
    /// <summary>Number of residual blocks.</summary>
    public int Blocks { get; init; } = 3;
    /// <summary>Width of the sinusoidal noise-level embedding (the embedding MLP has width 4× this).</summary>
    public int EmbedChannels { get; init; } = 64;
    /// <summary>Number of classes of a class-conditional model, 0 for an unconditional one.</summary>
    public override int NumClasses { get; init; }
    /// <summary>Dropout rate inside the residual blocks.</summary>
    public double Dropout { get; init; }
    /// <summary>Shape of one sample: [dimension].</summary>
    [JsonIgnore] public override long[] SampleShape => [Dim];

    /// <summary>Checks every field, with a message naming the field at fault.</summary>
    public override void Validate()
    {
        if (Dim is < 1 or > 1 << 20) throw new ArgumentException($"mlp dim must be in 1..{1 << 20}, got {Dim}");
        if (Hidden is < 1 or > 65536) throw new ArgumentException($"mlp hidden width must be in 1..65536, got {Hidden}");
        if (Blocks is < 1 or > 256) throw new ArgumentException($"mlp blocks must be in 1..256, got {Blocks}");
        if (EmbedChannels < 2 || EmbedChannels % 2 != 0 || EmbedChannels > 65536) throw new ArgumentException($"mlp embed channels must be even, in 2..65536, got {EmbedChannels}");
        if (NumClasses is < 0 or > 100_000) throw new ArgumentException($"number of classes must be in 0..100000, got {NumClasses}");
        if (Dropout is < 0 or >= 1) throw new ArgumentException("dropout must be in [0, 1)");
    }
}
