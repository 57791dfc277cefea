using System.Runtime.Intrinsics;

namespace Bcm.Randomness;

/// <summary>
/// libtorch's CPU standard normal draws, reproduced: what <c>torch.randn(n, generator: new Generator(seed))</c> gives in
/// float32 on the CPU, without libtorch, so that a seed gives the same noise, and so the same image, in the libtorch engine
/// and in the ONNX Runtime inference package (and in the browser page, which does the same in JavaScript).
/// </summary>
/// <remarks>
/// libtorch (ATen's CPU <c>normal_kernel</c>, 2.x) seeds a 32-bit Mersenne Twister (mt19937) with the seed's low 32 bits.
/// A contiguous float tensor of at least 16 values is first filled with uniforms u = (r &amp; (2²⁴ − 1))·2⁻²⁴ of one 32-bit
/// draw each; then each block of 16 becomes 16 normals by Box-Muller, the first 8 paired with the last 8
/// (radius √(−2 ln(1 − u_j)), angle 2π·u_{j+8}: cos into j, sin into j + 8); when the count is not a multiple of 16, the
/// last 16 values are drawn again as uniforms and transformed as one block (overwriting the tail of the previous one).
/// Fewer than 16 values are drawn one at a time in float64: u₁ and u₂ of 53 bits from two 32-bit draws each, the value
/// √(−2·log1p(−u₂))·cos(2π·u₁), and its sine kept for the next value. libtorch transforms the blocks with vectorised
/// float32 logarithms and sines of a float32 angle; this forms the angle the same way and takes the functions in float64,
/// so a value can differ in its last bits (within 1e-6, checked against TorchSharp for every size class in the tests).
/// </remarks>
public static class TorchCpuNormal
{
    /// <summary>The normals libtorch draws from a generator seeded with <paramref name="seed"/> for a float32 tensor of <paramref name="count"/> values.</summary>
    public static float[] Draw(ulong seed, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var values = new float[count];
        Fill(seed, values);
        return values;
    }

    /// <summary>Fills <paramref name="destination"/> as libtorch fills a contiguous float32 tensor of its length from a generator seeded with <paramref name="seed"/>.</summary>
    public static void Fill(ulong seed, Span<float> destination)
    {
        var twister = new MersenneTwister(unchecked((uint)seed));
        int n = destination.Length;
        if (n >= 16)
        {
            for (int i = 0; i < n; i++) destination[i] = Uniform24(twister.Next());
            for (int i = 0; i + 16 <= n; i += 16) Block(destination.Slice(i, 16));
            if (n % 16 != 0)
            {
                var tail = destination[(n - 16)..];
                for (int i = 0; i < 16; i++) tail[i] = Uniform24(twister.Next());
                Block(tail);
            }
            return;
        }
        double? cached = null;
        for (int i = 0; i < n; i++)
        {
            if (cached is double c)
            {
                destination[i] = (float)c;
                cached = null;
                continue;
            }
            double u1 = Uniform53(twister.Next64()), u2 = Uniform53(twister.Next64());
            double r = Math.Sqrt(-2.0 * Math.Log(1 - u2)), theta = 2.0 * Math.PI * u1;
            cached = r * Math.Sin(theta);
            destination[i] = (float)(r * Math.Cos(theta));
        }
    }

    private static float Uniform24(uint r) => (r & 0xFF_FFFF) * (1f / (1 << 24));

    private static double Uniform53(ulong r) => (r & ((1UL << 53) - 1)) * (1.0 / (1UL << 53));

    private const float TwoPi = (float)(2 * Math.PI);

    // Box-Muller on a block of 16 uniforms, as libtorch's vectorised kernel takes it: the first 8 paired with the last 8,
    // all in float32 (the angle a float32 product with 2π rounded to float32), with .NET's vectorised logarithm, square
    // root, sine and cosine where the machine has 256-bit vectors (libtorch's float32 approximations differ in the last bits).
    private static void Block(Span<float> data)
    {
        if (Vector256.IsHardwareAccelerated)
        {
            var u1 = Vector256<float>.One - Vector256.Create<float>(data[..8]);
            var theta = Vector256.Create(TwoPi) * Vector256.Create<float>(data[8..16]);
            var radius = Vector256.Sqrt(Vector256.Create(-2f) * Vector256.Log(u1));
            var (sin, cos) = Vector256.SinCos(theta);
            (radius * cos).CopyTo(data[..8]);
            (radius * sin).CopyTo(data[8..16]);
            return;
        }
        for (int j = 0; j < 8; j++)
        {
            float u1 = 1f - data[j], theta = TwoPi * data[j + 8];
            double radius = Math.Sqrt(-2 * Math.Log(u1));
            var (sin, cos) = Math.SinCos(theta);
            data[j] = (float)(radius * cos);
            data[j + 8] = (float)(radius * sin);
        }
    }

    // mt19937 as libtorch seeds it (at::mt19937: the standard initialisation from a 32-bit seed).
    private sealed class MersenneTwister
    {
        private const int N = 624, M = 397;
        private readonly uint[] state = new uint[N];
        private int index = N;

        public MersenneTwister(uint seed)
        {
            state[0] = seed;
            for (int j = 1; j < N; j++) state[j] = unchecked(1812433253u * (state[j - 1] ^ (state[j - 1] >> 30)) + (uint)j);
        }

        public uint Next()
        {
            if (index >= N) Twist();
            uint y = state[index++];
            y ^= y >> 11;
            y ^= (y << 7) & 0x9D2C5680u;
            y ^= (y << 15) & 0xEFC60000u;
            y ^= y >> 18;
            return y;
        }

        // libtorch's random64(): two 32-bit draws, the first the high half.
        public ulong Next64()
        {
            ulong hi = Next(), lo = Next();
            return (hi << 32) | lo;
        }

        private void Twist()
        {
            const uint upper = 0x8000_0000u, lower = 0x7FFF_FFFFu, matrix = 0x9908_B0DFu;
            var mt = state;
            int i = 0;
            for (; i < N - M; i++)
            {
                uint y = (mt[i] & upper) | (mt[i + 1] & lower);
                mt[i] = mt[i + M] ^ (y >> 1) ^ (0u - (y & 1) & matrix);
            }
            for (; i < N - 1; i++)
            {
                uint y = (mt[i] & upper) | (mt[i + 1] & lower);
                mt[i] = mt[i + M - N] ^ (y >> 1) ^ (0u - (y & 1) & matrix);
            }
            uint last = (mt[N - 1] & upper) | (mt[0] & lower);
            mt[N - 1] = mt[M - 1] ^ (last >> 1) ^ (0u - (last & 1) & matrix);
            index = 0;
        }
    }
}
