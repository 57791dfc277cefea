using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using Bcm.Tensors;

namespace Bcm.Networks;

/// <summary>
/// Residual MLP for vectors behind <see cref="IBcmNetwork"/>. The noise levels enter as in the UNet: sinusoidal
/// embeddings of c_noise(t) and c_noise(u), each through Linear → SiLU → Linear, joined by a bias-free align
/// projection (so the consistency-model initialisation [I | 0] applies unchanged); each block adds a projection
/// of the embedding. The output layer starts at zero, so an untrained f is the identity plus the skip scaling.
/// </summary>
public sealed class Mlp : Module<Tensor, Tensor, Tensor, Tensor?, Tensor>, IBcmNetwork
{
    private readonly Sequential time_embed;
    private readonly Sequential time_embed_end;
    private readonly Linear time_embed_align;
    private readonly Embedding? label_emb;
    private readonly Linear input;
    private readonly ModuleList<MlpBlock> blocks = new();
    private readonly Sequential @out;
    private readonly MlpConfig config;

    /// <summary>A network of <paramref name="config"/>, with the official initialisation (zero output layer).</summary>
    /// <exception cref="ArgumentException">The configuration is invalid.</exception>
    public Mlp(MlpConfig config) : base(nameof(Mlp))
    {
        config.Validate();
        this.config = config;
        long e = config.EmbedChannels, emb = 4L * e, h = config.Hidden;
        time_embed = Sequential(("0", Linear(e, emb)), ("1", SiLU()), ("2", Linear(emb, emb)));
        time_embed_end = Sequential(("0", Linear(e, emb)), ("1", SiLU()), ("2", Linear(emb, emb)));
        time_embed_align = Linear(2 * emb, emb, hasBias: false);
        if (config.NumClasses > 0) label_emb = Embedding(config.NumClasses, emb);
        input = Linear(config.Dim, h);
        for (int i = 0; i < config.Blocks; i++) blocks.Add(new MlpBlock(h, emb, config.Dropout));
        @out = Sequential(("0", LayerNorm(h)), ("1", SiLU()), ("2", Layers.Zero(Linear(h, config.Dim))));
        MacsPerSample = 2 * (e * emb + emb * emb) + 2 * emb * emb + config.Dim * h
                        + config.Blocks * (2 * h * h + emb * h) + h * config.Dim;
        ActivationsPerSample = 4 * emb + config.Dim + h + config.Blocks * 3 * h + h + config.Dim;
        RegisterComponents();
    }

    /// <inheritdoc/>
    public long[] SampleShape => [config.Dim];
    /// <inheritdoc/>
    public int NumClasses => config.NumClasses;
    /// <inheritdoc/>
    public Module Module => this;
    /// <inheritdoc/>
    public NetworkConfig Config => config;
    /// <inheritdoc/>
    public long MacsPerSample { get; }
    /// <inheritdoc/>
    public long ActivationsPerSample { get; }

    /// <inheritdoc/>
    public Tensor Forward(Tensor x, Tensor cNoiseT, Tensor cNoiseU, Tensor? y) => forward(x, cNoiseT, cNoiseU, y);

    /// <summary>F_θ on a batch (see <see cref="Forward"/>).</summary>
    public override Tensor forward(Tensor x, Tensor cNoiseT, Tensor cNoiseU, Tensor? y)
    {
        using var scope = NewDisposeScope();
        if ((label_emb is null) != (y is null))
            throw new ArgumentException(label_emb is null ? "this model is unconditional: it takes no class labels" : "this model is class-conditional: class labels are required");
        int e = config.EmbedChannels;
        var embT = time_embed.call(Layers.TimestepEmbedding(cNoiseT, e));
        var embU = time_embed_end.call(Layers.TimestepEmbedding(cNoiseU, e));
        var emb = time_embed_align.call(cat([embT, embU], 1));
        if (label_emb is not null) emb = emb.Plus(label_emb.call(y!));
        var h = input.call(x);
        foreach (var block in blocks) h = block.call(h, emb);
        return @out.call(h).MoveToOuterDisposeScope();
    }

    /// <inheritdoc/>
    public void InitialiseFromConsistencyModel() => Layers.AlignToT(time_embed, time_embed_end, time_embed_align);

    /// <inheritdoc/>
    public string WriteGraph(IGraphWriter g, string x, string cNoiseT, string cNoiseU, string? y)
    {
        if ((label_emb is null) != (y is null))
            throw new ArgumentException(label_emb is null ? "this model is unconditional: it takes no class labels" : "this model is class-conditional: class labels are required");
        var weights = named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);
        var emb = g.NoiseEmbedding(cNoiseT, cNoiseU, y, config.EmbedChannels, weights);
        var h = g.Linear(x, "input", weights);
        for (int i = 0; i < blocks.Count; i++)
        {
            string k = $"blocks.{i}";
            var a = g.Node("Add", [g.Linear(g.SiLU(g.LayerNorm(h, k + ".norm", weights)), k + ".fc1", weights), g.Linear(g.SiLU(emb), k + ".emb_proj", weights)]);
            h = g.Node("Add", [h, g.Linear(g.SiLU(a), k + ".fc2", weights)]);
        }
        return g.Linear(g.SiLU(g.LayerNorm(h, "out.0", weights)), "out.2", weights);
    }

    /// <inheritdoc/>
    public bool IsUParameter(string name) => Layers.IsUParameter(name);
}

/// <summary>h + Linear(Dropout(SiLU(Linear(SiLU(LayerNorm(h))) + Linear(SiLU(emb))))).</summary>
internal sealed class MlpBlock : Module<Tensor, Tensor, Tensor>
{
    private readonly LayerNorm norm;
    private readonly Linear fc1, fc2, emb_proj;
    private readonly Dropout dropout;

    public MlpBlock(long hidden, long embDim, double dropout) : base(nameof(MlpBlock))
    {
        norm = LayerNorm(hidden);
        fc1 = Linear(hidden, hidden);
        emb_proj = Linear(embDim, hidden);
        fc2 = Linear(hidden, hidden);
        this.dropout = Dropout(dropout);
        RegisterComponents();
    }

    public override Tensor forward(Tensor h, Tensor emb)
    {
        using var scope = NewDisposeScope();
        var a = fc1.call(functional.silu(norm.call(h))).Plus(emb_proj.call(functional.silu(emb)));
        a = fc2.call(dropout.call(functional.silu(a)));
        return h.Plus(a).MoveToOuterDisposeScope();
    }
}
