using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using Bcm.Tensors;

namespace Bcm.Networks;

/// <summary>
/// Self-attention of the iCT/BCM UNet (method §3): qkv ordered (three, heads, d); q, k, v normalised per head to
/// unit RMS over d ("cosine attention"), then softmax((q·d^-¼)ᵀ(k·d^-¼)) v, projected and added to the input.
/// </summary>
internal sealed class AttentionBlock : Module<Tensor, Tensor>
{
    private readonly GroupNorm norm;
    private readonly Conv2d qkv;
    private readonly Conv2d proj_out;
    private readonly long heads;

    public AttentionBlock(long channels, long headChannels) : base(nameof(AttentionBlock))
    {
        heads = channels / headChannels;
        norm = Layers.Norm(channels);
        qkv = Layers.Conv1x1(channels, 3 * channels);
        proj_out = Layers.Zero(Layers.Conv1x1(channels, channels));
        RegisterComponents();
    }

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], c = x.shape[1], length = x.shape[2] * x.shape[3];
        long d = c / heads;
        var chunks = qkv.call(norm.call(x)).reshape(b, 3 * c, length).chunk(3, 1);
        double scale = 1 / Math.Sqrt(Math.Sqrt(d));
        var q = Normalise(chunks[0].reshape(b * heads, d, length)).Times(scale);
        var k = Normalise(chunks[1].reshape(b * heads, d, length)).Times(scale);
        var v = Normalise(chunks[2].reshape(b * heads, d, length));
        var weight = softmax(bmm(q.transpose(1, 2), k), -1);      // [bh, t, s]
        var a = bmm(v, weight.transpose(1, 2)).reshape(b, c, x.shape[2], x.shape[3]);
        return x.Plus(proj_out.call(a)).MoveToOuterDisposeScope();
    }

    /// <summary>This block's nodes, its parameters under <paramref name="key"/> in <paramref name="weights"/>.</summary>
    public string Emit(IGraphWriter g, string key, string x, IReadOnlyDictionary<string, Tensor> weights)
    {
        long c = weights[key + ".qkv.weight"].shape[1], d = c / heads;
        var qkvOut = g.Conv(g.GroupNorm(x, key + ".norm", weights), key + ".qkv", weights);
        var flat = g.Node("Reshape", [qkvOut, g.Constant([0, 3 * c, -1])]);
        var parts = g.Node("Split", [flat, g.Constant([c, c, c])], 3, ("axis", 1L));
        string Head(string part) => g.Node("Reshape", [part, g.Constant([-1, d, 0])]);
        float scale = (float)(1 / Math.Sqrt(Math.Sqrt(d)));
        string Norm(string v)
        {
            var rms = g.Node("Sqrt", [g.Node("ReduceMean", [g.Node("Mul", [v, v])], ("axes", new[] { 1L }), ("keepdims", 1L))]);
            return g.Node("Div", [v, g.Node("Add", [rms, g.Constant([1e-4f], [1])])]);
        }
        var qh = g.Node("Mul", [Norm(Head(parts[0])), g.Constant([scale], [1])]);
        var kh = g.Node("Mul", [Norm(Head(parts[1])), g.Constant([scale], [1])]);
        var vh = Norm(Head(parts[2]));
        var weight = g.Node("Softmax", [g.Node("MatMul", [g.Node("Transpose", [qh], ("perm", new[] { 0L, 2, 1 })), kh])], ("axis", -1L));
        var a = g.Node("MatMul", [vh, g.Node("Transpose", [weight], ("perm", new[] { 0L, 2, 1 }))]);
        var back = g.Node("Reshape", [a, g.Node("Shape", [x])]);
        return g.Node("Add", [x, g.Conv(back, key + ".proj_out", weights)]);
    }

    // x / (1e-4 + rms(x)) over the channel (d) axis of each head.
    private static Tensor Normalise(Tensor x) => x / x.Squared().mean([1], keepdim: true).sqrt().Plus(1e-4);
}
