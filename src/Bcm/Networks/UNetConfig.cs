namespace Bcm.Networks;

/// <summary>
/// The ADM UNet of the official BCM code (method §3). Attention is placed where the downsampling factor
/// (1, 2, 4, …) is in <see cref="AttentionResolutions"/>, as the official code does.
/// </summary>
public sealed record UNetConfig : NetworkConfig
{
    public override string Kind => "adm-unet";
    public int ImageSize { get; init; } = 32;
    public int InChannels { get; init; } = 3;
    public int OutChannels { get; init; } = 3;
    public int ModelChannels { get; init; } = 64;
    public int[] ChannelMult { get; init; } = [1, 2, 2];
    public int NumResBlocks { get; init; } = 2;
    /// <summary>Downsampling factors (not pixel sizes) at which attention blocks are inserted.</summary>
    public int[] AttentionResolutions { get; init; } = [2];
    public int NumHeadChannels { get; init; } = 32;
    public override int NumClasses { get; init; }
    public override long[] SampleShape => [InChannels, ImageSize, ImageSize];
    public double Dropout { get; init; }
    public double DropoutHighRes { get; init; }
    public bool ResBlockUpDown { get; init; } = true;

    public override void Validate()
    {
        if (ImageSize < 1) throw new ArgumentException($"image size must be positive, got {ImageSize}");
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
