using Bcm.Errors;
using Bcm.Reports;
using Xunit;
using static TorchSharp.torch;

namespace Bcm.Tests;

/// <summary>bcm bench's sweep: validated before any timing, networks outermost and batch sizes innermost, each at its thread count.</summary>
public sealed class BenchSweepTests
{
    [Fact]
    public void RunsEveryNetworkThreadCountAndBatchInOrder()
    {
        var sweep = BenchSweep.Of(["tiny", "digits"], null, [1, 2], [2, 4], repeats: 1);
        int before = get_num_threads();
        try
        {
            var seen = new List<string>();
            var results = sweep.Run((name, network, b, n) => $"{name} {n} {b} {get_num_threads()} {network.Kind}", seen.Add);
            Assert.Equal(results, seen);
            Assert.Equal(["tiny 1 2 1", "tiny 1 4 1", "tiny 2 2 2", "tiny 2 4 2", "digits 1 2 1", "digits 1 4 1", "digits 2 2 2", "digits 2 4 2"],
                results.Select(r => string.Join(' ', r.Split(' ')[..4])));
        }
        finally { set_num_threads(before); }
        Assert.Equal(BenchSweep.DefaultPresets, BenchSweep.Of(null, [], [1], [1], 1).Networks.Select(n => n.Name));
    }

    [Fact]
    public void BadSweepsAreRefusedNamingTheOption()
    {
        Assert.Contains("not both", Assert.Throws<BadInputException>(() => BenchSweep.Of(["tiny"], ["net.json"], [1], [1], 1)).Message);
        Assert.Contains("--repeats", Assert.Throws<BadInputException>(() => BenchSweep.Of(["tiny"], null, [1], [1], 0)).Message);
        Assert.Contains("--batch-size", Assert.Throws<BadInputException>(() => BenchSweep.Of(["tiny"], null, [1], [0], 1)).Message);
        Assert.Contains("--thread-counts", Assert.Throws<BadInputException>(() => BenchSweep.Of(["tiny"], null, [], [1], 1)).Message);
        Assert.Contains("unknown preset", Assert.Throws<ArgumentException>(() => BenchSweep.Of(["no-such"], null, [1], [1], 1)).Message);
    }
}
