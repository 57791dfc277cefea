using Bcm.Randomness;
using Xunit;
using static TorchSharp.torch;

namespace Bcm.Tests;

/// <summary>
/// libtorch's CPU normal generator reproduced without libtorch (what the inference package and the browser page draw):
/// the same values as TorchSharp's <c>randn</c> for the same seed, for every size class of ATen's kernel.
/// </summary>
public sealed class TorchCpuNormalTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(17)]
    [InlineData(64)]
    [InlineData(100)]
    [InlineData(256)]
    [InlineData(784)]
    [InlineData(3072)]
    public void DrawsWhatTorchSharpDrawsForTheSameSeed(int count)
    {
        foreach (long s in new long[] { 0, 1, 7, 12345 })
        foreach (long step in new long[] { 0, 1, 3 })
        {
            ulong seed = SeedStreams.GeneratorSeed(s, SeedStreams.Sample, step);
            using var g = Seeds.Generator(s, Seeds.Sample, step);
            using var expected = randn([count], dtype: ScalarType.Float32, generator: g);
            var want = expected.data<float>().ToArray();
            var got = TorchCpuNormal.Draw(seed, count);
            for (int i = 0; i < count; i++)
                Assert.True(Math.Abs(want[i] - got[i]) <= 1e-6, $"seed {s}, step {step}, {count} values: [{i}] libtorch {want[i]:R}, ours {got[i]:R}");
        }
    }

    [Fact]
    public void ASeedsDrawDoesNotDependOnItsCounterBeingTheLowBitsOnly()
    {
        // Generator seeds that share their low 32 bits give libtorch the same stream (mt19937 takes 32 bits): so must ours.
        ulong a = 0x1234_5678UL, b = a | (1UL << 40);
        Assert.Equal(TorchCpuNormal.Draw(a, 32), TorchCpuNormal.Draw(b, 32));
        using var ga = new Generator(a);
        using var gb = new Generator(b);
        using var ta = randn([32], generator: ga);
        using var tb = randn([32], generator: gb);
        Assert.Equal(ta.data<float>().ToArray(), tb.data<float>().ToArray());
        Assert.NotEqual(TorchCpuNormal.Draw(a, 32), TorchCpuNormal.Draw(a + 1, 32));
    }
}
