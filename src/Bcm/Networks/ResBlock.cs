using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using F = TorchSharp.torch.nn.functional;
using Bcm.Tensors;

namespace Bcm.Networks;

/// <summary>
/// ADM residual block conditioned on the embedding (method §3). A down (up) block resamples both paths
/// between in_layers' SiLU and its convolution, and then has no skip convolution.
/// </summary>
internal sealed class ResBlock : Module<Tensor, Tensor, Tensor>
{
    private readonly Sequential in_layers;
    private readonly Sequential emb_layers;
    private readonly Sequential out_layers;
    private readonly Conv2d? skip_connection;
    // Delegates (not module fields, which would be registered twice) to run in_layers around the resampling.
    private readonly Func<Tensor, Tensor> inNorm;
    private readonly Func<Tensor, Tensor> inConv;
    private readonly bool up, down;

    public ResBlock(long channels, long embChannels, double dropout, long outChannels, bool up = false, bool down = false)
        : base(nameof(ResBlock))
    {
        this.up = up;
        this.down = down;
        var norm = Layers.Norm(channels);
        var conv = Layers.Conv3x3(channels, outChannels);
        inNorm = norm.call;
        inConv = conv.call;
        in_layers = Sequential(("0", norm), ("1", SiLU()), ("2", conv));
        emb_layers = Sequential(("0", SiLU()), ("1", Linear(embChannels, outChannels)));
        out_layers = Sequential(
            ("0", Layers.Norm(outChannels)), ("1", SiLU()), ("2", Dropout(dropout)),
            ("3", Layers.Zero(Layers.Conv3x3(outChannels, outChannels))));
        if (outChannels != channels) skip_connection = Layers.Conv1x1(channels, outChannels);
        register_module(nameof(in_layers), in_layers);
        register_module(nameof(emb_layers), emb_layers);
        register_module(nameof(out_layers), out_layers);
        if (skip_connection is not null) register_module(nameof(skip_connection), skip_connection);
    }

    public override Tensor forward(Tensor x, Tensor emb)
    {
        using var scope = NewDisposeScope();
        Tensor h;
        if (up || down)
        {
            h = F.silu(inNorm(x));
            h = Resample(h);
            x = Resample(x);
            h = inConv(h);
        }
        else
        {
            h = in_layers.call(x);
        }
        var embOut = emb_layers.call(emb);
        h = h.Plus(embOut.unsqueeze(-1).unsqueeze(-1));
        h = out_layers.call(h);
        var skip = skip_connection is null ? x : skip_connection.call(x);
        return skip.Plus(h).MoveToOuterDisposeScope();
    }

    /// <summary>This block's nodes (eval mode), its parameters under <paramref name="key"/> in <paramref name="weights"/>.</summary>
    public string Emit(IGraphWriter g, string key, string x, string emb, IReadOnlyDictionary<string, Tensor> weights)
    {
        string h;
        if (up || down)
        {
            h = Resample(g, g.SiLU(g.GroupNorm(x, key + ".in_layers.0", weights)));
            x = Resample(g, x);
            h = g.Conv(h, key + ".in_layers.2", weights);
        }
        else
        {
            h = g.Conv(g.SiLU(g.GroupNorm(x, key + ".in_layers.0", weights)), key + ".in_layers.2", weights);
        }
        var e = g.Node("Unsqueeze", [g.Linear(g.SiLU(emb), key + ".emb_layers.1", weights), g.Constant([2, 3])]);
        h = g.Node("Add", [h, e]);
        h = g.Conv(g.SiLU(g.GroupNorm(h, key + ".out_layers.0", weights)), key + ".out_layers.3", weights);
        var skip = skip_connection is null ? x : g.Conv(x, key + ".skip_connection", weights);
        return g.Node("Add", [skip, h]);
    }

    // Average pooling by 2, or nearest upsampling by 2 (PyTorch's nearest is floor(i / 2): asymmetric coordinates, floor).
    private string Resample(IGraphWriter g, string x) => down
        ? g.Node("AveragePool", [x], ("kernel_shape", new[] { 2L, 2L }), ("strides", new[] { 2L, 2L }))
        : g.Node("Resize", [x, "", g.Constant([1f, 1f, 2f, 2f], [4])], ("mode", "nearest"), ("coordinate_transformation_mode", "asymmetric"), ("nearest_mode", "floor"));

    private Tensor Resample(Tensor x) => down
        ? F.avg_pool2d(x, 2, 2)
        : F.interpolate(x, scale_factor: [2.0, 2.0], mode: InterpolationMode.Nearest);
}
