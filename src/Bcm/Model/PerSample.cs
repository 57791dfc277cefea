using static TorchSharp.torch;

namespace Bcm.Model;

/// <summary>Per-sample coefficients ([B]) applied to batches of any rank (k-diffusion's <c>append_dims</c>).</summary>
internal static class PerSample
{
    /// <summary>Reshapes <paramref name="perSample"/> [B] to [B, 1, …, 1] so that it broadcasts over <paramref name="like"/>.</summary>
    public static Tensor Broadcast(Tensor perSample, Tensor like)
    {
        var shape = new long[like.dim()];
        Array.Fill(shape, 1L);
        shape[0] = perSample.shape[0];
        return perSample.reshape(shape);
    }
}
