using static TorchSharp.torch;

namespace Bcm.Networks;

/// <summary>
/// Where a network writes itself as a computation graph of ONNX operators (opset 17): each module of the UNet and of
/// the MLP emits the nodes of its own forward pass, in ONNX's operator vocabulary, so the graph follows the network's
/// definition rather than a trace. Values are named by strings; the writer (the <c>Bcm.Onnx</c> project) turns the
/// calls into a model file, so the library itself depends on no ONNX package.
/// </summary>
public interface IGraphWriter
{
    /// <summary>A node of operator <paramref name="op"/> on <paramref name="inputs"/> ("" for an omitted optional input); returns its output's name.</summary>
    /// <param name="op">The ONNX operator (e.g. <c>Conv</c>).</param>
    /// <param name="inputs">Input value names.</param>
    /// <param name="attributes">Attributes: <c>long</c>, <c>float</c>, <c>string</c>, <c>long[]</c> or <c>float[]</c> values.</param>
    string Node(string op, IReadOnlyList<string> inputs, params (string Name, object Value)[] attributes) => Node(op, inputs, 1, attributes)[0];

    /// <summary>A node with <paramref name="outputs"/> outputs (e.g. <c>Split</c>); returns their names.</summary>
    string[] Node(string op, IReadOnlyList<string> inputs, int outputs, params (string Name, object Value)[] attributes);

    /// <summary>A weight of the network (a float32 initializer named <paramref name="name"/>, the state_dict key).</summary>
    string Weight(string name, Tensor value);

    /// <summary>A constant float32 tensor of <paramref name="shape"/>.</summary>
    string Constant(float[] values, long[] shape);

    /// <summary>A constant int64 vector (shapes, axes, split sizes).</summary>
    string Constant(long[] values);
}

/// <summary>The nodes that several modules share, written through an <see cref="IGraphWriter"/>.</summary>
public static class GraphOps
{
    /// <summary>x·sigmoid(x).</summary>
    public static string SiLU(this IGraphWriter g, string x) => g.Node("Mul", [x, g.Node("Sigmoid", [x])]);

    /// <summary>The linear layer <paramref name="key"/> of <paramref name="weights"/> on [B, in] rows: x·Wᵀ + b.</summary>
    public static string Linear(this IGraphWriter g, string x, string key, IReadOnlyDictionary<string, Tensor> weights)
    {
        var inputs = new List<string> { x, g.Weight(key + ".weight", weights[key + ".weight"]) };
        if (weights.TryGetValue(key + ".bias", out var bias)) inputs.Add(g.Weight(key + ".bias", bias));
        return g.Node("Gemm", inputs, ("transB", 1L));
    }

    /// <summary>The 2-D convolution <paramref name="key"/> (same-size padding for 3×3, none for 1×1).</summary>
    public static string Conv(this IGraphWriter g, string x, string key, IReadOnlyDictionary<string, Tensor> weights)
    {
        var weight = weights[key + ".weight"];
        long k = weight.shape[^1], pad = k / 2;
        var inputs = new List<string> { x, g.Weight(key + ".weight", weight) };
        if (weights.TryGetValue(key + ".bias", out var bias)) inputs.Add(g.Weight(key + ".bias", bias));
        return g.Node("Conv", inputs, ("kernel_shape", new[] { k, k }), ("pads", new[] { pad, pad, pad, pad }));
    }

    /// <summary>
    /// GroupNorm <paramref name="key"/> (32 groups, ε 1e-5) as opset 17 has it: InstanceNormalization over
    /// [B, G, C/G·H·W] (each group's mean and variance), then the per-channel weight and bias.
    /// </summary>
    public static string GroupNorm(this IGraphWriter g, string x, string key, IReadOnlyDictionary<string, Tensor> weights, long groups = 32, float eps = 1e-5f)
    {
        long channels = weights[key + ".weight"].shape[0];
        var grouped = g.Node("Reshape", [x, g.Constant([0, groups, -1])]);
        var normalised = g.Node("InstanceNormalization", [grouped, g.Constant(Enumerable.Repeat(1f, (int)groups).ToArray(), [groups]),
            g.Constant(new float[groups], [groups])], ("epsilon", eps));
        var back = g.Node("Reshape", [normalised, g.Node("Shape", [x])]);
        var weight = g.Node("Reshape", [g.Weight(key + ".weight", weights[key + ".weight"]), g.Constant([channels, 1, 1])]);
        var bias = g.Node("Reshape", [g.Weight(key + ".bias", weights[key + ".bias"]), g.Constant([channels, 1, 1])]);
        return g.Node("Add", [g.Node("Mul", [back, weight]), bias]);
    }

    /// <summary>LayerNorm <paramref name="key"/> over the last axis (ε 1e-5).</summary>
    public static string LayerNorm(this IGraphWriter g, string x, string key, IReadOnlyDictionary<string, Tensor> weights, float eps = 1e-5f) =>
        g.Node("LayerNormalization", [x, g.Weight(key + ".weight", weights[key + ".weight"]), g.Weight(key + ".bias", weights[key + ".bias"])],
            ("axis", -1L), ("epsilon", eps));

    /// <summary>
    /// The embedding of the noise conditions shared by the UNet and the MLP: time_embed(c_noise(t)) and
    /// time_embed_end(c_noise(u)) through the align projection, plus the class embedding of <paramref name="y"/>.
    /// </summary>
    public static string NoiseEmbedding(this IGraphWriter g, string cNoiseT, string cNoiseU, string? y, int dim, IReadOnlyDictionary<string, Tensor> weights)
    {
        string Mlp(string s, string key) => g.Linear(g.SiLU(g.Linear(g.TimestepEmbedding(s, dim), key + ".0", weights)), key + ".2", weights);
        var both = g.Node("Concat", [Mlp(cNoiseT, "time_embed"), Mlp(cNoiseU, "time_embed_end")], ("axis", 1L));
        var emb = g.Linear(both, "time_embed_align", weights);
        return y is null ? emb : g.Node("Add", [emb, g.Node("Gather", [g.Weight("label_emb.weight", weights["label_emb.weight"]), y], ("axis", 0L))]);
    }

    /// <summary>The sinusoidal embedding of noise conditions s [B]: [cos(s·f), sin(s·f)] with f_i = exp(−ln(10⁴)·i/half) (as <see cref="Layers.TimestepEmbedding"/>).</summary>
    public static string TimestepEmbedding(this IGraphWriter g, string s, int dim, double maxPeriod = 10000)
    {
        int half = dim / 2;
        // The frequencies as libtorch computes them in float32: exp(float32(i · −ln(max_period)) / half).
        using var freqs = Layers.TimestepFrequencies(half, maxPeriod);
        var args = g.Node("Mul", [g.Node("Unsqueeze", [s, g.Constant([1])]), g.Constant(freqs.data<float>().ToArray(), [1, half])]);
        var emb = g.Node("Concat", [g.Node("Cos", [args]), g.Node("Sin", [args])], ("axis", 1L));
        if (dim % 2 == 1)
            emb = g.Node("Concat", [emb, g.Node("Mul", [g.Node("Slice", [args, g.Constant([0]), g.Constant([1]), g.Constant([1])]), g.Constant([0f], [1])])], ("axis", 1L));
        return emb;
    }
}
