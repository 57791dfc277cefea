namespace Bcm.Randomness;

/// <summary>
/// Counter-based seeds without a tensor library: every random draw of training and sampling comes from (seed, purpose,
/// counter), so runs are reproducible, resumable without saving generator state, and independent of batch composition.
/// The libtorch engine (<c>Seeds</c>) and the ONNX Runtime inference package derive their generators' seeds here.
/// </summary>
public static class SeedStreams
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

    /// <summary>The seed a torch generator gets for one purpose and counter (63 bits: libtorch takes a non-negative seed).</summary>
    public static ulong GeneratorSeed(long seed, params long[] counters) => Mix(seed, counters) & 0x7FFF_FFFF_FFFF_FFFFUL;

    // Purposes (arbitrary distinct constants).
    /// <summary>The purposes of the random streams: data order, pair indices, noise, dropout masks, flips, sampling.</summary>
    public const long Data = 1, Indices = 2, Noise = 3, Dropout = 4, Flip = 5, Sample = 6;
}
