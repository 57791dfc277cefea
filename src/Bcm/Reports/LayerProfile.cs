using System.Diagnostics;
using TorchSharp;
using Bcm.Model;
using Bcm.Networks;
using Bcm.Plans;
using static TorchSharp.torch;

namespace Bcm.Reports;

/// <summary>
/// Where one-step sampling spends its time, layer by layer: forward hooks time every leaf module (convolutions,
/// normalisations, linear layers, activations) and count the multiply-adds of those with a weight, so each kind of layer
/// gets its share of the time and the GFLOP/s it achieves. What is left ("between layers") is everything the network does
/// outside its leaf modules: the attention products and softmax, the residual additions, the timestep embedding's
/// sines, the scalings of f and the plan's noise.
/// </summary>
/// <remarks>
/// On the CPU each layer's time is its own (libtorch returns when the work is done). On a GPU, kernels run
/// asynchronously, so the device is synchronised around each layer, which makes the profile slower than a plain run.
/// </remarks>
public static class LayerProfile
{
    /// <summary>One kind of layer.</summary>
    /// <param name="Kind">E.g. "conv 3x3", "conv 1x1", "GroupNorm", "Linear", "SiLU"; "between layers" for the rest.</param>
    /// <param name="Calls">Calls per sampling run.</param>
    /// <param name="Seconds">Seconds per sampling run.</param>
    /// <param name="Share">Share of the profiled run's time.</param>
    /// <param name="Gflops">GFLOP/s achieved (2 per multiply-add), for layers with a weight matrix or kernel.</param>
    public sealed record Row(string Kind, long Calls, double Seconds, double Share, double? Gflops);

    /// <summary>A network's profile.</summary>
    /// <param name="Name">The network's name.</param>
    /// <param name="BatchSize">Images per sampling run.</param>
    /// <param name="Threads">libtorch's CPU threads.</param>
    /// <param name="PlainSeconds">Seconds per sampling run without the hooks.</param>
    /// <param name="ProfiledSeconds">Seconds per sampling run with them.</param>
    /// <param name="Rows">Layer kinds, most time first, then "between layers".</param>
    public sealed record Result(string Name, int BatchSize, int Threads, double PlainSeconds, double ProfiledSeconds, IReadOnlyList<Row> Rows);

    /// <summary>A profile's rows as <c>bcm bench --profile</c> prints them, each kind's GFLOP/s also as a share of <paramref name="matmulGflops"/>.</summary>
    public static ReportTable<Row> Table(double matmulGflops) => new(
    [
        Column<Row>.Of(null, "layer", r => r.Kind),
        Column<Row>.Of(null, "calls", r => r.Calls > 0 ? r.Calls : null),
        Column<Row>.Of(null, "ms", r => r.Seconds * 1000, "F2"),
        Column<Row>.Of(null, "share", r => r.Share, "P1"),
        Column<Row>.Of(null, "GFLOP/s", r => r.Gflops, "F1"),
        Column<Row>.Of(null, "of matmul", r => r.Gflops / matmulGflops, "P0"),
    ]);

    /// <summary>Profiles one-step sampling of a freshly initialised network of <paramref name="config"/> (weights do not change the cost).</summary>
    public static Result Measure(string name, NetworkConfig config, int batchSize, int repeats, Device device)
    {
        if (batchSize < 1) throw new ArgumentException($"batch size must be ≥ 1, got {batchSize}");
        if (repeats < 1) throw new ArgumentException($"repeats must be ≥ 1, got {repeats}");
        var net = NetworkFactory.Create(config);
        using var module = net.Module;
        module.to(device);
        module.eval();
        var model = new BcmModel(net);
        using var x = zeros([batchSize, .. config.SampleShape], device: device);
        using var labels = config.StandInCondition(batchSize, device);
        var plan = PlanPresets.Resolve("onestep");
        var seeds = PlanRunner.SeedRange(0, batchSize);
        void Sample()
        {
            using var scope = NewDisposeScope();
            PlanRunner.Run(model, x, plan, seeds, labels);
        }
        double plain = Throughput.Time(repeats, Sample);

        var kinds = new Dictionary<string, (long Calls, long Ticks, double Macs, bool HasMacs)>();
        var started = new Stack<long>();
        bool onGpu = device.type == DeviceType.CUDA;
        var removers = new List<nn.HookableModule<Func<nn.Module<Tensor, Tensor>, Tensor, Tensor>, Func<nn.Module<Tensor, Tensor>, Tensor, Tensor, Tensor>>.HookRemover>();
        foreach (var leaf in module.modules().OfType<nn.Module<Tensor, Tensor>>().Where(m => !m.children().Any()))
        {
            var (kind, macsPerOutput) = Describe(leaf); // once per layer: reading parameters in the hook would dominate its time
            removers.Add(leaf.register_forward_pre_hook((_, input) =>
            {
                if (onGpu) torch.cuda.synchronize(device);
                started.Push(Stopwatch.GetTimestamp());
                return input;
            }));
            removers.Add(leaf.register_forward_hook((_, _, output) =>
            {
                if (onGpu) torch.cuda.synchronize(device);
                long ticks = Stopwatch.GetTimestamp() - started.Pop();
                var k = kinds.GetValueOrDefault(kind);
                kinds[kind] = (k.Calls + 1, k.Ticks + ticks, k.Macs + (macsPerOutput ?? 0) * output.numel(), macsPerOutput is not null);
                return output;
            }));
        }
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < repeats; i++) Sample();
        double profiled = clock.Elapsed.TotalSeconds / repeats;
        foreach (var r in removers) r.remove();

        var rows = kinds.Select(kv =>
            {
                double seconds = kv.Value.Ticks / (double)Stopwatch.Frequency / repeats;
                return new Row(kv.Key, kv.Value.Calls / repeats, seconds, seconds / profiled,
                    kv.Value.HasMacs ? 2 * kv.Value.Macs / repeats / seconds / 1e9 : null);
            })
            .OrderByDescending(r => r.Seconds)
            .ToList();
        double between = Math.Max(0, profiled - rows.Sum(r => r.Seconds));
        rows.Add(new Row("between layers", 0, between, between / profiled, null));
        return new Result(name, batchSize, get_num_threads(), plain, profiled, rows);
    }

    // A layer's kind and multiply-adds per output element: a 4-D weight is a convolution (kernel size in the kind), a
    // Linear's 2-D weight a matrix product; other layers have no multiply-add count.
    private static (string Kind, double? MacsPerOutput) Describe(nn.Module<Tensor, Tensor> m)
    {
        var weight = m.named_parameters(recurse: false).FirstOrDefault(p => p.name == "weight").parameter;
        if (weight is not null && weight.dim() == 4)
            return ($"conv {weight.shape[2]}x{weight.shape[3]}", (double)weight.shape[1] * weight.shape[2] * weight.shape[3]);
        if (weight is not null && weight.dim() == 2 && m.GetType().Name == "Linear")
            return ("Linear", weight.shape[1]);
        return (m.GetType().Name, null);
    }
}
