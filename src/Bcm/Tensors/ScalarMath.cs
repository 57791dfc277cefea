// This file is the one place in the library that turns .NET numbers into TorchSharp Scalars; the rest of the library
// is built with build/BannedSymbols.txt, which forbids every way TorchSharp 0.107 does it unsafely.
#pragma warning disable RS0030
using TorchSharp;
using static TorchSharp.torch;

namespace Bcm.Tensors;

/// <summary>
/// Tensor arithmetic with .NET numbers that is safe when other threads start garbage collections.
/// </summary>
/// <remarks>
/// <para>TorchSharp 0.107 turns the number in <c>tensor * 0.5</c>, <c>tensor.clamp(-1, 1)</c> or <c>full_like(x, 1)</c> into a
/// <see cref="Scalar"/> that no dispose scope tracks and only its finalizer frees, and passes its native handle to
/// libtorch without keeping the Scalar reachable. A collection that another thread starts during the native call can
/// finalize it while libtorch still reads it: "Expected false to be true … toFloat at Scalar.h:140", a wrong value or a
/// native crash. Even <c>a + b</c> on two tensors does it (its alpha of 1), and so does <c>square()</c> (its exponent 2).
/// <c>tools/scalar-race</c> reproduces it within seconds.</para>
/// <para>Every method here makes the same libtorch call as the operator it replaces (so results are bit-identical) with a
/// Scalar that stays reachable until the call has returned: a <c>using</c> local, or a static that is never collected.
/// The analyser banned-symbol list in build/BannedSymbols.txt sends every other use here, and
/// <c>TorchSharpScalarTests</c> checks that list against TorchSharp's own IL.</para>
/// </remarks>
public static class ScalarMath
{
    // Never collected, so never finalized: safe to pass to any number of native calls.
    private static readonly Scalar One = 1.ToScalar();
    private static readonly Scalar Two = 2.ToScalar();

    /// <summary>a + b (what <c>a + b</c> computes: add with alpha 1).</summary>
    public static Tensor Plus(this Tensor a, Tensor b) => a.add(b, One);

    /// <summary>a + s.</summary>
    public static Tensor Plus(this Tensor a, double s) { using var c = s.ToScalar(); return a.add(c, One); }

    /// <summary>a + s, keeping an integer tensor's dtype.</summary>
    public static Tensor Plus(this Tensor a, long s) { using var c = s.ToScalar(); return a.add(c, One); }

    /// <summary>a − s.</summary>
    public static Tensor Minus(this Tensor a, double s) { using var c = s.ToScalar(); return a.sub(c); }

    /// <summary>a − s, keeping an integer tensor's dtype.</summary>
    public static Tensor Minus(this Tensor a, long s) { using var c = s.ToScalar(); return a.sub(c); }

    /// <summary>s − a (what <c>s - a</c> computes: −a + s).</summary>
    public static Tensor SubtractedFrom(this Tensor a, double s) { using var c = s.ToScalar(); return a.negative().add(c, One); }

    /// <summary>a · s.</summary>
    public static Tensor Times(this Tensor a, double s) { using var c = s.ToScalar(); return a.mul(c); }

    /// <summary>a · s, keeping an integer tensor's dtype.</summary>
    public static Tensor Times(this Tensor a, long s) { using var c = s.ToScalar(); return a.mul(c); }

    /// <summary>a / s.</summary>
    public static Tensor Over(this Tensor a, double s) { using var c = s.ToScalar(); return a.div(c); }

    /// <summary>s / a (what <c>s / a</c> computes: s · (1/a)).</summary>
    public static Tensor Into(this Tensor a, double s) { using var c = s.ToScalar(); return a.reciprocal().mul(c); }

    /// <summary>a mod s (Python's sign convention, as <c>%</c>).</summary>
    public static Tensor Mod(this Tensor a, long s) { using var c = s.ToScalar(); return a.remainder(c); }

    /// <summary>a² (what <c>square()</c> computes: pow 2).</summary>
    public static Tensor Squared(this Tensor a) => a.pow(Two);

    /// <summary>aᵖ.</summary>
    public static Tensor Power(this Tensor a, double p) { using var c = p.ToScalar(); return a.pow(c); }

    /// <summary>aᵖ for an integer p (what <c>pow(3)</c> computes).</summary>
    public static Tensor Power(this Tensor a, long p) { using var c = p.ToScalar(); return a.pow(c); }

    /// <summary>a clamped to [min, max].</summary>
    public static Tensor Clamped(this Tensor a, double min, double max)
    {
        using var lo = min.ToScalar();
        using var hi = max.ToScalar();
        return a.clamp(lo, hi);
    }

    /// <summary>a clamped below at min.</summary>
    public static Tensor AtLeast(this Tensor a, double min) { using var c = min.ToScalar(); return a.clamp_min(c); }

    /// <summary>a &lt; s, elementwise.</summary>
    public static Tensor Below(this Tensor a, double s) { using var c = s.ToScalar(); return a.lt(c); }

    /// <summary>a &gt; s, elementwise.</summary>
    public static Tensor Above(this Tensor a, double s) { using var c = s.ToScalar(); return a.gt(c); }

    /// <summary>Sets every element of a to s, in place.</summary>
    public static Tensor Fill(this Tensor a, double s) { using var c = s.ToScalar(); return a.fill_(c); }

    /// <summary>a + b·c·s, in place (addcmul_ with value s).</summary>
    public static Tensor AddProductInPlace(this Tensor a, Tensor b, Tensor c, double s)
    {
        using var value = s.ToScalar();
        return a.addcmul_(b, c, value);
    }

    /// <summary>a · s, in place.</summary>
    public static Tensor TimesInPlace(this Tensor a, double s) { using var c = s.ToScalar(); return a.mul_(c); }

    /// <summary>A tensor shaped like <paramref name="like"/> (dtype and device too) filled with s.</summary>
    public static Tensor FullLike(Tensor like, double s) { using var c = s.ToScalar(); return full_like(like, c); }

    /// <summary>A tensor of the given shape filled with s.</summary>
    public static Tensor Full(long[] shape, double s, ScalarType? dtype = null, Device? device = null)
    {
        using var c = s.ToScalar();
        return full(shape, c, dtype: dtype, device: device);
    }

    /// <summary>0, 1, …, n − 1 (int64 unless a dtype is given).</summary>
    public static Tensor Range(long n, ScalarType? dtype = null, Device? device = null)
    {
        using var start = 0.ToScalar();
        using var stop = n.ToScalar();
        return arange(start, stop, One, dtype: dtype, device: device);
    }
}
