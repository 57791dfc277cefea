using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using Bcm.Tensors;
using static Bcm.Tensors.ScalarMath;

namespace Bcm.Networks;

/// <summary>Layer constructors shared by the networks, with the initialisations the official code uses.</summary>
internal static class Layers
{
    /// <summary>GroupNorm with 32 groups and eps 1e-5, weight 1 and bias 0 (TorchSharp leaves them uninitialised).</summary>
    public static GroupNorm Norm(long channels)
    {
        var gn = GroupNorm(32, channels, eps: 1e-5);
        using (no_grad())
        {
            gn.weight!.Fill(1);
            gn.bias!.Fill(0);
        }
        return gn;
    }

    public static Conv2d Conv3x3(long inCh, long outCh) => Conv2d(inCh, outCh, 3, padding: 1);

    public static Conv2d Conv1x1(long inCh, long outCh) => Conv2d(inCh, outCh, 1);

    /// <summary>Sets every parameter of a module to zero (the official zero_module).</summary>
    public static T Zero<T>(T module) where T : Module
    {
        using (no_grad())
            foreach (var p in module.parameters()) p.zero_();
        return module;
    }

    /// <summary>
    /// Sinusoidal embedding of width <paramref name="dim"/>: [cos(s·freq), sin(s·freq)], freq_i = exp(−ln(10000)·i/half),
    /// computed in float32 as the official code does and returned in the dtype of <paramref name="s"/> when that is a
    /// floating type (so a float64 copy of a network runs end to end in float64).
    /// </summary>
    public static Tensor TimestepEmbedding(Tensor s, int dim, double maxPeriod = 10000)
    {
        int half = dim / 2;
        var freqs = TimestepFrequencies(half, maxPeriod, s.device);
        var args = s.to(ScalarType.Float32).unsqueeze(1) * freqs.unsqueeze(0);
        var emb = cat([cos(args), sin(args)], 1);
        if (dim % 2 == 1) emb = cat([emb, zeros_like(emb[.., ..1])], 1);
        return s.is_floating_point() && s.dtype != ScalarType.Float32 ? emb.to(s.dtype) : emb;
    }

    /// <summary>
    /// The consistency-model initialisation of method §4 for any network with the t/u embedding pair: copy the t
    /// embedding into the u embedding and set the align projection to [I | 0], so the network ignores u.
    /// </summary>
    /// <summary>exp(−ln(max_period)·i/half) for i &lt; half, in float32 as the official code computes it.</summary>
    public static Tensor TimestepFrequencies(int half, double maxPeriod = 10000, Device? device = null) =>
        exp(Range(half, dtype: ScalarType.Float32, device: device).Times(-Math.Log(maxPeriod)).Over(half));

    public static void AlignToT(Module timeEmbed, Module timeEmbedEnd, Linear align)
    {
        using var _ = no_grad();
        var src = timeEmbed.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var (name, p) in timeEmbedEnd.named_parameters()) p.copy_(src[name]);
        long embDim = align.weight!.shape[0];
        align.weight.copy_(cat([eye(embDim), zeros(embDim, embDim)], 1));
    }

    /// <summary>Parameters that matter only through u (the u embedding and the align projection).</summary>
    public static bool IsUParameter(string name) =>
        name.StartsWith("time_embed_end.", StringComparison.Ordinal) || name == "time_embed_align.weight";
}
