namespace Bcm.Networks;

/// <summary>Builds a network from its configuration.</summary>
public static class NetworkFactory
{
    public static IBcmNetwork Create(NetworkConfig config) => config switch
    {
        UNetConfig unet => new UNet(unet),
        MlpConfig mlp => new Mlp(mlp),
        _ => throw new NotSupportedException($"unknown network kind {config.Kind}"),
    };
}
