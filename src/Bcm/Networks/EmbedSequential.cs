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

    /// <summary>The nodes of each layer in turn, the block's parameters under <paramref name="key"/>.</summary>
    public string Emit(IGraphWriter g, string key, string x, string emb, IReadOnlyDictionary<string, Tensor> weights)
    {
        var h = x;
        for (int i = 0; i < layers.Count; i++)
        {
            string k = $"{key}.{i}";
            h = layers[i] switch
            {
                ResBlock res => res.Emit(g, k, h, emb, weights),
                AttentionBlock attention => attention.Emit(g, k, h, weights),
                TorchSharp.Modules.Conv2d => g.Conv(h, k, weights),
                var other => throw new NotSupportedException($"no graph form for {other.GetType().Name}"),
            };
        }
        return h;
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
