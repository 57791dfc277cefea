using Bcm.Errors;
using Bcm.Networks;
using Bcm.Training;
using static TorchSharp.torch;

namespace Bcm.Reports;

/// <summary>
/// What <c>bcm bench</c> measures: every network at every thread count and batch size, validated before any timing
/// (unknown presets, unreadable configurations and out-of-range counts fail first). The measurement itself is
/// <see cref="Throughput.Measure"/>, <see cref="LayerProfile.Measure"/> or an engine comparison, given to <see cref="Run{T}"/>.
/// </summary>
public sealed record BenchSweep(IReadOnlyList<(string Name, NetworkConfig Config)> Networks, int[] ThreadCounts, int[] BatchSizes, int Repeats)
{
    /// <summary>The presets measured when none are named.</summary>
    public static readonly string[] DefaultPresets = ["tiny", "digits", "mnist", "cifar10"];

    /// <summary>
    /// The sweep over <paramref name="presets"/> or the networks of <paramref name="configs"/> (JSON network
    /// configurations, run folders or checkpoints; not both), by default <see cref="DefaultPresets"/>.
    /// </summary>
    /// <exception cref="BadInputException">Both kinds of network given, an unknown preset or a count out of range.</exception>
    public static BenchSweep Of(string[]? presets, string[]? configs, int[] threadCounts, int[] batchSizes, int repeats)
    {
        if (presets is { Length: > 0 } && configs is { Length: > 0 }) throw new BadInputException("give --presets or --config, not both");
        var sweep = new BenchSweep(configs is { Length: > 0 }
                ? configs.Select(f => (Path.GetFileName(Path.TrimEndingDirectorySeparator(f)), Throughput.ConfigOf(f))).ToList()
                : (presets is { Length: > 0 } ? presets : DefaultPresets).Select(n => (n, Presets.Get(n).Network)).ToList(),
            threadCounts, batchSizes, repeats);
        sweep.Validate();
        return sweep;
    }

    /// <summary>Names the option, the value and the allowed range of the first count out of range.</summary>
    public void Validate()
    {
        if (Repeats is < 1 or > 1000) throw new BadInputException($"--repeats must be in 1..1000, got {Repeats}");
        if (BatchSizes.Length == 0 || BatchSizes.Any(b => b is < 1 or > 65_536)) throw new BadInputException($"--batch-size must be in 1..65536, got {string.Join(",", BatchSizes)}");
        if (ThreadCounts.Length == 0 || ThreadCounts.Any(n => n is < 1 or > 1024)) throw new BadInputException($"--thread-counts must be in 1..1024, got {string.Join(",", ThreadCounts)}");
        if (Networks.Count == 0) throw new BadInputException("no network to measure");
    }

    /// <summary>
    /// Runs <paramref name="measure"/> (name, network, batch size, threads) over the sweep, networks outermost and batch
    /// sizes innermost, with libtorch set to each thread count; <paramref name="each"/> sees every result as it comes.
    /// </summary>
    public List<T> Run<T>(Func<string, NetworkConfig, int, int, T> measure, Action<T>? each = null)
    {
        var results = new List<T>();
        foreach (var (name, network) in Networks)
            foreach (int n in ThreadCounts)
                foreach (int b in BatchSizes)
                {
                    set_num_threads(n);
                    var r = measure(name, network, b, n);
                    results.Add(r);
                    each?.Invoke(r);
                }
        return results;
    }
}
