using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Bcm.Networks;

/// <summary>A sequence whose residual blocks also receive the embedding (ADM's TimestepEmbedSequential); children are named 0, 1, ….</summary>
internal sealed class EmbedSequential : Module<Tensor, Tensor, Tensor>
{
    private readonly List<Module> layers = [];

    public EmbedSequential(params Module[] modules) : base(nameof(EmbedSequential))
    {
        foreach (var m in modules) Add(m);
    }

    public void Add(Module module)
    {
        register_module(layers.Count.ToString(System.Globalization.CultureInfo.InvariantCulture), module);
        layers.Add(module);
    }

    public override Tensor forward(Tensor x, Tensor emb)
    {
        var h = x;
        foreach (var layer in layers)
        {
            var next = layer switch
            {
                Module<Tensor, Tensor, Tensor> withEmb => withEmb.call(h, emb),
                Module<Tensor, Tensor> plain => plain.call(h),
                _ => throw new InvalidOperationException($"unsupported layer {layer.GetType().Name}"),
            };
            if (!ReferenceEquals(h, x)) h.Dispose();
            h = next;
        }
        return h;
    }
}
