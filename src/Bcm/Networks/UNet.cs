using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using Bcm.Tensors;

namespace Bcm.Networks;

/// <summary>
/// The ADM UNet of the official BCM implementation with separate t and u embeddings, the bias-free align
/// projection and optional class labels (method §3). Parameter names equal the official state_dict keys.
/// </summary>
public sealed class UNet : Module<Tensor, Tensor, Tensor, Tensor?, Tensor>, IBcmNetwork
{
    private readonly Sequential time_embed;
    private readonly Sequential time_embed_end;
    private readonly Linear time_embed_align;
    private readonly Embedding? label_emb;
    private readonly ModuleList<EmbedSequential> input_blocks = new();
    private readonly EmbedSequential middle_block;
    private readonly ModuleList<EmbedSequential> output_blocks = new();
    private readonly Sequential @out;
    private readonly UNetConfig config;

    /// <summary>The ADM UNet of <paramref name="config"/>, with the official key names and initialisation.</summary>
    /// <exception cref="ArgumentException">The configuration is invalid.</exception>
    public UNet(UNetConfig config) : base(nameof(UNet))
    {
        config.Validate();
        this.config = config;
        int mc = config.ModelChannels;
        var build = new Builder(config);
        long embDim = build.EmbDim;
        // Modules are made in the official order, so a seed gives the same initial weights.
        time_embed = Sequential(("0", Linear(mc, embDim)), ("1", SiLU()), ("2", Linear(embDim, embDim)));
        time_embed_end = Sequential(("0", Linear(mc, embDim)), ("1", SiLU()), ("2", Linear(embDim, embDim)));
        time_embed_align = Linear(2 * embDim, embDim, hasBias: false);
        if (config.NumClasses > 0) label_emb = Embedding(config.NumClasses, embDim);
        build.InputBlocks(input_blocks);
        middle_block = build.MiddleBlock();
        build.OutputBlocks(output_blocks);
        @out = Sequential(("0", Layers.Norm(build.Channels)), ("1", SiLU()),
            ("2", Layers.Zero(new OutputConv((long)config.ChannelMult[0] * mc, config.OutChannels))));
        MacsPerSample = build.Macs + build.Channels * config.OutChannels * 9 * build.Resolution(1) * build.Resolution(1);
        ActivationsPerSample = build.Activations + build.Channels * build.Resolution(1) * build.Resolution(1);
        RegisterComponents();
    }

    /// <summary>
    /// Makes the blocks of the encoder, middle and decoder in order, tracking channels, the downsampling factor, the
    /// skip connections and the multiply-accumulates of one forward pass per sample (convolutions, linear layers and
    /// the attention products; normalisations and activations are not counted).
    /// </summary>
    private sealed class Builder(UNetConfig config)
    {
        private readonly int levels = config.ChannelMult.Length;
        private readonly Stack<long> skipChannels = new();
        private int ds = 1;

        public long EmbDim { get; } = 4L * config.ModelChannels;
        public long Channels { get; private set; } = (long)config.ChannelMult[0] * config.ModelChannels;
        public long Macs { get; private set; } = EmbeddingMacs(config.ModelChannels, 4L * config.ModelChannels);
        public long Activations { get; private set; }

        /// <summary>The t and u embeddings (two linear layers each, mc → E → E) and the align projection (2E → E).</summary>
        private static long EmbeddingMacs(long mc, long e) => 2 * (mc * e + e * e) + 2 * e * e;

        public long Resolution(int factor) => config.ImageSize / factor;

        // Dropout is asymmetric in the official code: see method §3.
        private double InputDropout(int level) => level >= 2 ? config.DropoutHighRes : config.Dropout;
        private double OutputDropout(int level) => level >= levels - 2 ? config.DropoutHighRes : config.Dropout;

        private ResBlock Res(long cin, double dropout, long cout, bool down = false, bool up = false)
        {
            var block = new ResBlock(cin, EmbDim, dropout, cout, up: up, down: down);
            long res = Resolution(down ? ds * 2 : up ? ds / 2 : ds);
            Macs += (cin + cout) * cout * 9 * res * res + (cin != cout ? cin * cout * res * res : 0) + EmbDim * cout;
            Activations += (cin + cout) * res * res;
            return block;
        }

        private AttentionBlock Attention(long c)
        {
            long res = Resolution(ds);
            Macs += 4 * c * c * res * res + 2 * res * res * res * res * c;
            Activations += c / config.NumHeadChannels * res * res * res * res + 4 * c * res * res;
            return new AttentionBlock(c, config.NumHeadChannels);
        }

        public void InputBlocks(ModuleList<EmbedSequential> blocks)
        {
            long inputs = config.InputChannels; // a conditioning image is concatenated to the input
            blocks.Add(new EmbedSequential(Layers.Conv3x3(inputs, Channels)));
            Macs += inputs * Channels * 9 * Resolution(1) * Resolution(1);
            Activations += Channels * Resolution(1) * Resolution(1);
            skipChannels.Push(Channels);
            for (int level = 0; level < levels; level++)
            {
                for (int i = 0; i < config.NumResBlocks; i++)
                {
                    long outCh = (long)config.ChannelMult[level] * config.ModelChannels;
                    var block = new EmbedSequential(Res(Channels, InputDropout(level), outCh));
                    Channels = outCh;
                    if (config.AttentionResolutions.Contains(ds)) block.Add(Attention(Channels));
                    blocks.Add(block);
                    skipChannels.Push(Channels);
                }
                if (level != levels - 1)
                {
                    blocks.Add(new EmbedSequential(Res(Channels, InputDropout(level), Channels, down: true)));
                    skipChannels.Push(Channels);
                    ds *= 2;
                }
            }
        }

        public EmbedSequential MiddleBlock()
        {
            var first = Res(Channels, config.DropoutHighRes, Channels);
            var attention = Attention(Channels);
            return new EmbedSequential(first, attention, Res(Channels, config.DropoutHighRes, Channels));
        }

        public void OutputBlocks(ModuleList<EmbedSequential> blocks)
        {
            for (int level = levels - 1; level >= 0; level--)
                for (int i = 0; i <= config.NumResBlocks; i++)
                {
                    long skip = skipChannels.Pop();
                    long outCh = (long)config.ChannelMult[level] * config.ModelChannels;
                    var block = new EmbedSequential(Res(Channels + skip, OutputDropout(level), outCh));
                    Channels = outCh;
                    if (config.AttentionResolutions.Contains(ds)) block.Add(Attention(Channels));
                    if (level > 0 && i == config.NumResBlocks)
                    {
                        block.Add(Res(Channels, OutputDropout(level), Channels, up: true));
                        ds /= 2;
                    }
                    blocks.Add(block);
                }
        }
    }

    /// <summary>Multiply-accumulates of one forward pass for one sample (convolutions, linear layers, attention products).</summary>
    public long MacsPerSample { get; }
    /// <inheritdoc/>
    public long ActivationsPerSample { get; }

    /// <inheritdoc/>
    public long[] SampleShape => [config.InChannels, config.ImageSize, config.ImageSize];

    /// <inheritdoc/>
    public int NumClasses => config.NumClasses;

    /// <inheritdoc/>
    public Module Module => this;

    /// <inheritdoc/>
    public NetworkConfig Config => config;

    /// <inheritdoc/>
    public Tensor Forward(Tensor x, Tensor cNoiseT, Tensor cNoiseU, Tensor? y) => forward(x, cNoiseT, cNoiseU, y);

    /// <summary>F_θ on a batch (see <see cref="Forward"/>).</summary>
    public override Tensor forward(Tensor x, Tensor cNoiseT, Tensor cNoiseU, Tensor? y)
    {
        using var scope = NewDisposeScope();
        if (config.ConditionChannels > 0)
        {
            if (y is null || y.dim() != 4 || y.shape[1] != config.ConditionChannels || y.shape[0] != x.shape[0] || y.shape[2] != x.shape[2] || y.shape[3] != x.shape[3])
                throw new ArgumentException($"this model is conditioned on an image ({config.ConditionChannels} channels, the size of its samples): " +
                                            "it restores a degraded image it is given (bcm restore --data … --nfe … --restorer RUN), and cannot generate or invert without one");
            x = cat([x, y.to(x.dtype)], 1);
            y = null;
        }
        else if (label_emb is not null && y is null)
            throw new ArgumentException("this model is class-conditional: class labels are required");
        else if (label_emb is null && y is not null)
            throw new ArgumentException("this model is unconditional: it takes no class labels");
        int mc = config.ModelChannels;
        var embT = time_embed.call(Layers.TimestepEmbedding(cNoiseT, mc));
        var embU = time_embed_end.call(Layers.TimestepEmbedding(cNoiseU, mc));
        var emb = time_embed_align.call(cat([embT, embU], 1));
        if (label_emb is not null) emb = emb.Plus(label_emb.call(y!));

        var skips = new Stack<Tensor>();
        var h = x;
        foreach (var block in input_blocks)
        {
            h = block.call(h, emb);
            skips.Push(h);
        }
        h = middle_block.call(h, emb);
        foreach (var block in output_blocks)
        {
            using var cat = torch.cat([h, skips.Pop()], 1);
            h = block.call(cat, emb);
        }
        return @out.call(h).MoveToOuterDisposeScope();
    }

    /// <inheritdoc/>
    public string WriteGraph(IGraphWriter g, string x, string cNoiseT, string cNoiseU, string? y)
    {
        if (config.ConditionChannels > 0)
            throw new NotSupportedException("a network conditioned on an image (the Palette-style restorer) cannot be exported to ONNX yet: export a BCM or an unconditional baseline");
        if ((label_emb is null) != (y is null))
            throw new ArgumentException(label_emb is null ? "this model is unconditional: it takes no class labels" : "this model is class-conditional: class labels are required");
        var weights = named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);
        var emb = g.NoiseEmbedding(cNoiseT, cNoiseU, y, config.ModelChannels, weights);
        var skips = new Stack<string>();
        var h = x;
        for (int i = 0; i < input_blocks.Count; i++)
        {
            h = input_blocks[i].Emit(g, $"input_blocks.{i}", h, emb, weights);
            skips.Push(h);
        }
        h = middle_block.Emit(g, "middle_block", h, emb, weights);
        for (int i = 0; i < output_blocks.Count; i++)
            h = output_blocks[i].Emit(g, $"output_blocks.{i}", g.Node("Concat", [h, skips.Pop()], ("axis", 1L)), emb, weights);
        return g.Conv(g.SiLU(g.GroupNorm(h, "out.0", weights)), "out.2", weights);
    }

    /// <summary>
    /// Fine-tuning initialisation from a consistency model (method §4): copy time_embed into time_embed_end and set
    /// time_embed_align = [I | 0], so that the network ignores u and reproduces the consistency model exactly.
    /// </summary>
    public void InitialiseFromConsistencyModel() => Layers.AlignToT(time_embed, time_embed_end, time_embed_align);

    /// <inheritdoc/>
    public bool IsUParameter(string name) => Layers.IsUParameter(name);
}
