using static TorchSharp.torch;
using Bcm.Tensors;

namespace Bcm.Model;

/// <summary>The BCM parameterisation (method §2): f(x,t,u) = c_skip(t,u)·x + c_out(t,u)·F(c_in(t)·x, c_noise(t), c_noise(u)).</summary>
public static class Scalings
{
    /// <summary>c_in(t) = 1/sqrt(t² + σd²).</summary>
    public static double CIn(double t, double sigmaData = Schedules.Sigmas.Data) => 1 / Math.Sqrt(t * t + sigmaData * sigmaData);

    /// <summary>c_skip(t, u) = (t·u + σd²)/(t² + σd²): f = x when u = t.</summary>
    public static double CSkip(double t, double u, double sigmaData = Schedules.Sigmas.Data) =>
        (t * u + sigmaData * sigmaData) / (t * t + sigmaData * sigmaData);

    /// <summary>c_out(t, u) = σd·(t − u)/sqrt(t² + σd²): zero when u = t.</summary>
    public static double COut(double t, double u, double sigmaData = Schedules.Sigmas.Data) =>
        sigmaData * (t - u) / Math.Sqrt(t * t + sigmaData * sigmaData);

    /// <summary>c_noise(s) = 1000·0.25·ln(s + 1e-44) (the official code's form).</summary>
    public static double CNoise(double s) => 250 * Math.Log(s + 1e-44);

    // Tensor forms, per sample (shape [B]); computed in the dtype of t.
    /// <summary>c_in per sample.</summary>
    public static Tensor CIn(Tensor t, double sigmaData) => t.Squared().Plus(sigmaData * sigmaData).rsqrt();

    /// <summary>c_skip per sample.</summary>
    public static Tensor CSkip(Tensor t, Tensor u, double sigmaData) =>
        (t * u).Plus(sigmaData * sigmaData) / t.Squared().Plus(sigmaData * sigmaData);

    /// <summary>c_out per sample.</summary>
    public static Tensor COut(Tensor t, Tensor u, double sigmaData) =>
        (t - u).Times(sigmaData) / t.Squared().Plus(sigmaData * sigmaData).sqrt();

    /// <summary>c_noise per sample.</summary>
    public static Tensor CNoise(Tensor s) => s.Plus(1e-44).log().Times(250.0);
}
