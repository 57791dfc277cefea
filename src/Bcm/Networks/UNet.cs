using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

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

    public UNet(UNetConfig config) : base(nameof(UNet))
    {
        config.Validate();
        this.config = config;
        int mc = config.ModelChannels;
        long embDim = 4L * mc;
        time_embed = Sequential(("0", Linear(mc, embDim)), ("1", SiLU()), ("2", Linear(embDim, embDim)));
        time_embed_end = Sequential(("0", Linear(mc, embDim)), ("1", SiLU()), ("2", Linear(embDim, embDim)));
        time_embed_align = Linear(2 * embDim, embDim, hasBias: false);
        if (config.NumClasses > 0) label_emb = Embedding(config.NumClasses, embDim);

        int levels = config.ChannelMult.Length;
        // Dropout is asymmetric in the official code: see method §3.
        double InputDropout(int level) => level >= 2 ? config.DropoutHighRes : config.Dropout;
        double OutputDropout(int level) => level >= levels - 2 ? config.DropoutHighRes : config.Dropout;
        AttentionBlock Attention(long ch) => new(ch, config.NumHeadChannels);

        // Multiply-accumulates of one forward pass per sample, counted as the layers are built (convolutions,
        // linear layers and the attention products; normalisations and activations are not counted).
        long macs = 2L * (mc * embDim + embDim * embDim) + 2 * embDim * embDim;
        long Res(int factor) => config.ImageSize / factor;
        long ResBlockMacs(long cin, long cout, long res) => (cin + cout) * cout * 9 * res * res + (cin != cout ? cin * cout * res * res : 0) + embDim * cout;
        long AttentionMacs(long c, long res) => 4 * c * c * res * res + 2 * res * res * res * res * c;

        long ch = (long)config.ChannelMult[0] * mc;
        input_blocks.Add(new EmbedSequential(Layers.Conv3x3(config.InChannels, ch)));
        macs += config.InChannels * ch * 9 * Res(1) * Res(1);
        var skipChannels = new Stack<long>();
        skipChannels.Push(ch);
        int ds = 1;
        for (int level = 0; level < levels; level++)
        {
            for (int i = 0; i < config.NumResBlocks; i++)
            {
                long outCh = (long)config.ChannelMult[level] * mc;
                var block = new EmbedSequential(new ResBlock(ch, embDim, InputDropout(level), outCh));
                macs += ResBlockMacs(ch, outCh, Res(ds));
                ch = outCh;
                if (config.AttentionResolutions.Contains(ds))
                {
                    block.Add(Attention(ch));
                    macs += AttentionMacs(ch, Res(ds));
                }
                input_blocks.Add(block);
                skipChannels.Push(ch);
            }
            if (level != levels - 1)
            {
                input_blocks.Add(new EmbedSequential(new ResBlock(ch, embDim, InputDropout(level), ch, down: true)));
                skipChannels.Push(ch);
                ds *= 2;
                macs += ResBlockMacs(ch, ch, Res(ds));
            }
        }

        middle_block = new EmbedSequential(
            new ResBlock(ch, embDim, config.DropoutHighRes, ch),
            Attention(ch),
            new ResBlock(ch, embDim, config.DropoutHighRes, ch));
        macs += 2 * ResBlockMacs(ch, ch, Res(ds)) + AttentionMacs(ch, Res(ds));

        for (int level = levels - 1; level >= 0; level--)
        {
            for (int i = 0; i <= config.NumResBlocks; i++)
            {
                long skip = skipChannels.Pop();
                long outCh = (long)config.ChannelMult[level] * mc;
                var block = new EmbedSequential(new ResBlock(ch + skip, embDim, OutputDropout(level), outCh));
                macs += ResBlockMacs(ch + skip, outCh, Res(ds));
                ch = outCh;
                if (config.AttentionResolutions.Contains(ds))
                {
                    block.Add(Attention(ch));
                    macs += AttentionMacs(ch, Res(ds));
                }
                if (level > 0 && i == config.NumResBlocks)
                {
                    block.Add(new ResBlock(ch, embDim, OutputDropout(level), ch, up: true));
                    ds /= 2;
                    macs += ResBlockMacs(ch, ch, Res(ds));
                }
                output_blocks.Add(block);
            }
        }

        @out = Sequential(("0", Layers.Norm(ch)), ("1", SiLU()),
            ("2", Layers.Zero(new OutputConv((long)config.ChannelMult[0] * mc, config.OutChannels))));
        macs += ch * config.OutChannels * 9 * Res(1) * Res(1);
        MacsPerSample = macs;
        RegisterComponents();
    }

    /// <summary>Multiply-accumulates of one forward pass for one sample (convolutions, linear layers, attention products).</summary>
    public long MacsPerSample { get; }

    public long[] SampleShape => [config.InChannels, config.ImageSize, config.ImageSize];

    public int NumClasses => config.NumClasses;

    public Module Module => this;

    public NetworkConfig Config => config;

    public Tensor Forward(Tensor x, Tensor cNoiseT, Tensor cNoiseU, Tensor? y) => forward(x, cNoiseT, cNoiseU, y);

    public override Tensor forward(Tensor x, Tensor cNoiseT, Tensor cNoiseU, Tensor? y)
    {
        using var scope = NewDisposeScope();
        if (label_emb is not null && y is null)
            throw new ArgumentException("this model is class-conditional: class labels are required");
        if (label_emb is null && y is not null)
            throw new ArgumentException("this model is unconditional: it takes no class labels");
        int mc = config.ModelChannels;
        var embT = time_embed.forward(Layers.TimestepEmbedding(cNoiseT, mc));
        var embU = time_embed_end.forward(Layers.TimestepEmbedding(cNoiseU, mc));
        var emb = time_embed_align.forward(cat([embT, embU], 1));
        if (label_emb is not null) emb = emb + label_emb.forward(y!);

        var skips = new Stack<Tensor>();
        var h = x;
        foreach (var block in input_blocks)
        {
            h = block.forward(h, emb);
            skips.Push(h);
        }
        h = middle_block.forward(h, emb);
        foreach (var block in output_blocks)
        {
            using var cat = torch.cat([h, skips.Pop()], 1);
            h = block.forward(cat, emb);
        }
        return @out.forward(h).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Fine-tuning initialisation from a consistency model (method §4): copy time_embed into time_embed_end and set
    /// time_embed_align = [I | 0], so that the network ignores u and reproduces the consistency model exactly.
    /// </summary>
    public void InitialiseFromConsistencyModel() => Layers.AlignToT(time_embed, time_embed_end, time_embed_align);

    public bool IsUParameter(string name) => Layers.IsUParameter(name);
}
