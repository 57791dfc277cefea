using Bcm.Networks;
using Bcm.Schedules;
using static TorchSharp.torch;
using Bcm.Tensors;
using static Bcm.Tensors.ScalarMath;

namespace Bcm.Model;

/// <summary>
/// The consistency function of a BCM (method §2): f(x,t,u) = c_skip(t,u)·x + c_out(t,u)·F_θ(c_in(t)·x, c_noise(t), c_noise(u), y).
/// It owns a raw network and knows nothing of training or plans; disposing it frees the network's weights.
/// </summary>
public sealed class BcmModel : IDisposable
{
    /// <summary>Wraps <paramref name="network"/> with the scalings for data of standard deviation <paramref name="sigmaData"/> on noise levels [<paramref name="sigmaMin"/>, <paramref name="sigmaMax"/>].</summary>
    public BcmModel(IBcmNetwork network, double sigmaData = Sigmas.Data, double sigmaMin = Sigmas.Min, double sigmaMax = Sigmas.Max)
    {
        Network = network;
        SigmaData = sigmaData;
        SigmaMin = sigmaMin;
        SigmaMax = sigmaMax;
    }

    /// <summary>The raw network F_θ.</summary>
    public IBcmNetwork Network { get; }
    /// <summary>σ_data of the scalings (0.5).</summary>
    public double SigmaData { get; }
    /// <summary>The lowest noise level ε (0.002): a jump to it gives data.</summary>
    public double SigmaMin { get; }
    /// <summary>The highest noise level T (80): generation starts there.</summary>
    public double SigmaMax { get; }

    /// <summary>Frees the network's weights.</summary>
    public void Dispose() => Network.Module.Dispose();

    /// <summary>The device of the network's parameters (the CPU for a network without parameters).</summary>
    public Device Device => Network.Module.parameters().FirstOrDefault()?.device ?? CPU;

    /// <summary>Raw network output F_θ(c_in(t)·x, c_noise(t), c_noise(u), y); u defaults to ε.</summary>
    public Tensor Raw(Tensor x, Tensor t, Tensor? u = null, Tensor? y = null)
    {
        using var scope = NewDisposeScope();
        u ??= FullLike(t, SigmaMin);
        var xIn = x * PerSample.Broadcast(Scalings.CIn(t, SigmaData), x);
        return Network.Forward(xIn, Scalings.CNoise(t), Scalings.CNoise(u), y).MoveToOuterDisposeScope();
    }

    /// <summary>The jump f_θ(x, t, u) along the probability-flow ODE from noise level t to u (either direction); u defaults to ε.</summary>
    public Tensor Jump(Tensor x, Tensor t, Tensor? u = null, Tensor? y = null)
    {
        using var scope = NewDisposeScope();
        u ??= FullLike(t, SigmaMin);
        var raw = Raw(x, t, u, y);
        var result = (PerSample.Broadcast(Scalings.CSkip(t, u, SigmaData), x) * x).Plus(PerSample.Broadcast(Scalings.COut(t, u, SigmaData), x) * raw);
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>The jump with scalar noise levels shared by the whole batch.</summary>
    public Tensor Jump(Tensor x, double t, double u, Tensor? y = null)
    {
        using var scope = NewDisposeScope();
        var tt = Full([x.shape[0]], t, dtype: x.dtype, device: x.device);
        var uu = Full([x.shape[0]], u, dtype: x.dtype, device: x.device);
        return Jump(x, tt, uu, y).MoveToOuterDisposeScope();
    }
}
