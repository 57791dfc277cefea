namespace Bcm.Randomness;

/// <summary>Counter-based seeds (<see cref="SeedStreams"/>) with the libtorch engine's generators.</summary>
public static class Seeds
{
    /// <summary>SplitMix64 mixing of a seed with any number of counters (<see cref="SeedStreams.Mix"/>).</summary>
    public static ulong Mix(long seed, params long[] counters) => SeedStreams.Mix(seed, counters);

    /// <summary>A System.Random for one purpose and counter.</summary>
    public static Random Random(long seed, params long[] counters) => new(unchecked((int)Mix(seed, counters)));

    /// <summary>A standard normal draw (Box-Muller) from a System.Random.</summary>
    public static double Normal(Random rng) =>
        Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    /// <summary>A torch generator for one purpose and counter; <see cref="TorchCpuNormal"/> draws its normals without libtorch.</summary>
    public static TorchSharp.torch.Generator Generator(long seed, params long[] counters) => new(SeedStreams.GeneratorSeed(seed, counters));

    /// <summary>The purposes of the random streams: data order, pair indices, noise, dropout masks, flips, sampling.</summary>
    public const long Data = SeedStreams.Data, Indices = SeedStreams.Indices, Noise = SeedStreams.Noise, Dropout = SeedStreams.Dropout,
        Flip = SeedStreams.Flip, Sample = SeedStreams.Sample;
}
