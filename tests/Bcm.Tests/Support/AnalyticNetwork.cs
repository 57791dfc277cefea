using Bcm.Model;
using Bcm.Networks;
using static TorchSharp.torch;

namespace Bcm.Tests;

/// <summary>
/// A network exact for data N(0, s²I) in d dimensions: it recovers t, u and x from its inputs and returns
/// F = (g − c_skip·x)/c_out, where g is the exact jump f*(x, t, u) = x·sqrt((s² + u²)/(s² + t²)) (a perfect BCM), or,
/// for a denoiser, the posterior mean D(x, t) = s²/(s² + t²)·x (a perfect EDM model, which ignores u). Float64 inside.
/// </summary>
internal sealed class AnalyticGaussianNetwork : nn.Module, IBcmNetwork
{
    private readonly double s;
    private readonly bool denoiser;
    private readonly MlpConfig config;

    public AnalyticGaussianNetwork(int dim, double s, bool denoiser) : base(nameof(AnalyticGaussianNetwork))
    {
        this.s = s;
        this.denoiser = denoiser;
        config = new MlpConfig { Dim = dim };
    }

    public long[] SampleShape => [config.Dim];
    public int NumClasses => 0;
    public nn.Module Module => this;
    public long MacsPerSample => 0;
    public NetworkConfig Config => config;
    public void InitialiseFromConsistencyModel() { }
    public bool IsUParameter(string name) => false;

    public Tensor Forward(Tensor xIn, Tensor cNoiseT, Tensor cNoiseU, Tensor? y)
    {
        using var scope = NewDisposeScope();
        var t = (cNoiseT.to(ScalarType.Float64) / 250).exp().unsqueeze(1);
        var u = (cNoiseU.to(ScalarType.Float64) / 250).exp().unsqueeze(1);
        double sd = Bcm.Schedules.Sigmas.Data, sd2 = sd * sd;
        var x = xIn.to(ScalarType.Float64) * (t.square() + sd2).sqrt();
        var exact = denoiser ? x * (s * s / (s * s + t.square())) : x * ((s * s + u.square()) / (s * s + t.square())).sqrt();
        var cSkip = (t * u + sd2) / (t.square() + sd2);
        var cOut = sd * (t - u) / (t.square() + sd2).sqrt();
        return ((exact - cSkip * x) / cOut).to(xIn.dtype).MoveToOuterDisposeScope();
    }

    public static BcmModel Model(int dim, double s) => new(new AnalyticGaussianNetwork(dim, s, denoiser: false));

    public static BcmModel Denoiser(int dim, double s) => new(new AnalyticGaussianNetwork(dim, s, denoiser: true));
}

/// <summary>Wraps a network and counts its forward calls (to check the NFE a plan reports).</summary>
internal sealed class CountingNetwork(IBcmNetwork inner, Action counted) : IBcmNetwork
{
    public long[] SampleShape => inner.SampleShape;
    public int NumClasses => inner.NumClasses;
    public nn.Module Module => inner.Module;
    public long MacsPerSample => inner.MacsPerSample;
    public NetworkConfig Config => inner.Config;
    public void InitialiseFromConsistencyModel() => inner.InitialiseFromConsistencyModel();
    public bool IsUParameter(string name) => inner.IsUParameter(name);

    public Tensor Forward(Tensor xIn, Tensor cNoiseT, Tensor cNoiseU, Tensor? y)
    {
        counted();
        return inner.Forward(xIn, cNoiseT, cNoiseU, y);
    }
}
