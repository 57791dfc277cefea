namespace Bcm.Networks;

/// <summary>Builds a network from its configuration.</summary>
public static class NetworkFactory
{
    /// <summary>A fresh network of <paramref name="config"/>'s kind.</summary>
    /// <exception cref="NotSupportedException">An unknown kind.</exception>
    public static IBcmNetwork Create(NetworkConfig config) => config switch
    {
        UNetConfig unet => new UNet(unet),
        MlpConfig mlp => new Mlp(mlp),
        _ => throw new NotSupportedException($"unknown network kind {config.Kind}"),
    };
}
