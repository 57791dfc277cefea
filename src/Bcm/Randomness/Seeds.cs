namespace Bcm.Randomness;

/// <summary>Counter-based seeds: every random draw of training and sampling comes from (seed, purpose, counter),
/// so runs are reproducible, resumable without saving generator state, and independent of batch composition.</summary>
public static class Seeds
{
    /// <summary>SplitMix64 mixing of a seed with any number of counters.</summary>
    public static ulong Mix(long seed, params long[] counters)
    {
        ulong z = unchecked((ulong)seed);
        foreach (var c in counters)
        {
            z = unchecked(z + 0x9E3779B97F4A7C15UL + (ulong)c);
            z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
            z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
            z ^= z >> 31;
        }
        return z;
    }

    /// <summary>A System.Random for one purpose and counter.</summary>
    public static Random Random(long seed, params long[] counters) => new(unchecked((int)Mix(seed, counters)));

    /// <summary>A standard normal draw (Box-Muller) from a System.Random.</summary>
    public static double Normal(Random rng) =>
        Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    /// <summary>A torch generator for one purpose and counter.</summary>
    public static TorchSharp.torch.Generator Generator(long seed, params long[] counters) =>
        new(Mix(seed, counters) & 0x7FFF_FFFF_FFFF_FFFFUL);

    // Purposes (arbitrary distinct constants).
    /// <summary>The purposes of the random streams: data order, pair indices, noise, dropout masks, flips, sampling.</summary>
    public const long Data = 1, Indices = 2, Noise = 3, Dropout = 4, Flip = 5, Sample = 6;
}
