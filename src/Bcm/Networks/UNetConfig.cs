using System.Text.Json.Serialization;

namespace Bcm.Networks;

/// <summary>
/// The ADM UNet of the official BCM code (method §3). Attention is placed where the downsampling factor
/// (1, 2, 4, …) is in <see cref="AttentionResolutions"/>, as the official code does.
/// </summary>
public sealed record UNetConfig : NetworkConfig
{
    /// <summary>The JSON kind of this network: <c>adm-unet</c>.</summary>
    [JsonIgnore] public override string Kind => "adm-unet";
    /// <inheritdoc/>
    [JsonIgnore] public override bool HasDropout => Dropout > 0 || DropoutHighRes > 0;
    /// <summary>Height and width of the images, in pixels.</summary>
    public int ImageSize { get; init; } = 32;
    /// <summary>Channels of the input image (3 for RGB, 1 for grey).</summary>
    public int InChannels { get; init; } = 3;
    /// <summary>Channels of the output (equal to the input channels for a BCM).</summary>
    public int OutChannels { get; init; } = 3;
    /// <summary>Base channel count C of the first level (a multiple of 32).</summary>
    public int ModelChannels { get; init; } = 64;
    /// <summary>Channel multiplier of each resolution level (one entry per level).</summary>
    public int[] ChannelMult { get; init; } = [1, 2, 2];
    /// <summary>Residual blocks per level.</summary>
    public int NumResBlocks { get; init; } = 2;
    /// <summary>Downsampling factors (not pixel sizes) at which attention blocks are inserted.</summary>
    public int[] AttentionResolutions { get; init; } = [2];
    /// <summary>Channels per attention head.</summary>
    public int NumHeadChannels { get; init; } = 32;
    /// <summary>Number of classes of a class-conditional model, 0 for an unconditional one.</summary>
    public override int NumClasses { get; init; }
    /// <summary>
    /// Channels of a conditioning image concatenated to the (scaled) input, as Palette conditions on its degraded image;
    /// 0 (the default, and every BCM) for none. A conditioned network takes the image in place of class labels.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public int ConditionChannels { get; init; }
    /// <inheritdoc/>
    [JsonIgnore] public override int ConditionChannelCount => ConditionChannels;
    /// <summary>Channels the input convolution takes: the sample's, and a conditioning image's concatenated to it (the official <c>in_channels</c>).</summary>
    [JsonIgnore] public int InputChannels => InChannels + ConditionChannels;
    /// <summary>Shape of one sample: [channels, size, size].</summary>
    [JsonIgnore] public override long[] SampleShape => [InChannels, ImageSize, ImageSize];
    /// <summary>Dropout rate of the residual blocks at the two highest resolutions (input levels 0-1 and the matching output levels); see <see cref="DropoutHighRes"/>.</summary>
    public double Dropout { get; init; }
    /// <summary>Dropout rate of the other residual blocks (input levels ≥ 2, the middle block, output levels ≥ len(mult) − 2: the official, asymmetric scheme of method §3, where it is 0.2 at ImageNet-64).</summary>
    public double DropoutHighRes { get; init; }
    /// <summary>Down- and upsample with residual blocks (the official configuration) instead of plain convolutions.</summary>
    public bool ResBlockUpDown { get; init; } = true;

    /// <summary>Checks every field, with a message naming the field at fault.</summary>
    public override void Validate()
    {
        // Upper bounds far above any published model: checkpoint metadata is input, and an absurd architecture must be
        // refused before libtorch is asked for it.
        if (ImageSize is < 1 or > 1024) throw new ArgumentException($"image size must be in 1..1024, got {ImageSize}");
        if (InChannels is < 1 or > 64 || OutChannels is < 1 or > 64) throw new ArgumentException($"in and out channels must be in 1..64, got {InChannels} and {OutChannels}");
        if (ConditionChannels is < 0 or > 64) throw new ArgumentException($"condition channels must be in 0..64, got {ConditionChannels}");
        if (ConditionChannels > 0 && NumClasses > 0) throw new ArgumentException("a network is conditioned on class labels or on an image, not both");
        if (NumClasses is < 0 or > 100_000) throw new ArgumentException($"number of classes must be in 0..100000, got {NumClasses}");
        if (ModelChannels > 4096) throw new ArgumentException($"model channels must be at most 4096, got {ModelChannels}");
        if (ChannelMult.Length > 8 || ChannelMult.Any(m => m > 16)) throw new ArgumentException("channel mult: at most 8 levels of at most 16 each");
        if (NumResBlocks > 32) throw new ArgumentException($"num res blocks must be at most 32, got {NumResBlocks}");
        if (AttentionResolutions.Any(r => r < 1)) throw new ArgumentException("attention resolutions must be ≥ 1");
        if (ModelChannels < 32 || ModelChannels % 32 != 0)
            throw new ArgumentException($"model channels must be a positive multiple of 32 (GroupNorm uses 32 groups), got {ModelChannels}");
        if (ChannelMult.Length == 0) throw new ArgumentException("channel mult must have at least one level");
        if (ChannelMult.Any(m => m < 1)) throw new ArgumentException("channel mult entries must be ≥ 1");
        int factor = 1 << (ChannelMult.Length - 1);
        if (ImageSize % factor != 0)
            throw new ArgumentException($"image size {ImageSize} must be divisible by {factor} for {ChannelMult.Length} levels");
        if (NumResBlocks < 1) throw new ArgumentException("num res blocks must be ≥ 1");
        if (NumHeadChannels < 1) throw new ArgumentException("head channels must be ≥ 1");
        foreach (var m in ChannelMult)
            if (ModelChannels * m % NumHeadChannels != 0)
                throw new ArgumentException($"channels {ModelChannels * m} are not divisible by head width {NumHeadChannels}");
        if (Dropout is < 0 or >= 1 || DropoutHighRes is < 0 or >= 1) throw new ArgumentException("dropout must be in [0, 1)");
    }
}
