using Bcm.Model;
using static TorchSharp.torch;
using Bcm.Tensors;
using static Bcm.Tensors.ScalarMath;

namespace Bcm.Training;

/// <summary>Per-sample terms of the bidirectional consistency training loss (before the batch mean).</summary>
internal sealed record BctTerms(Tensor Ct, Tensor Soft) : IDisposable
{
    /// <summary>Per-sample total ct + soft.</summary>
    public Tensor Total => Ct.Plus(Soft);

    /// <summary>Frees the per-sample terms.</summary>
    public void Dispose()
    {
        Ct.Dispose();
        Soft.Dispose();
    }
}

/// <summary>
/// Bidirectional consistency training loss (method §4):
/// mean over the batch of d(A,B)/(t − s) + d(C,B)/|u − t|, with A = f_θ(x_t,t,ε), B = f_θ⁻(x_s,s,ε) (detached),
/// E = f_θ(x_t,t,u), C = f_θ⁻(E,u,ε) (frozen weights, gradient flowing into E), d the pseudo-Huber distance.
/// </summary>
internal static class BctLoss
{
    /// <summary>iCT's pseudo-Huber constant c = 0.00054·sqrt(D) for samples of D numbers.</summary>
    public static double HuberC(long sampleSize) => 0.00054 * Math.Sqrt(sampleSize);

    /// <summary>Pseudo-Huber distance per sample, as the official code normalises it: (sqrt(‖a − b‖² + c²) − c) / sqrt(D).</summary>
    public static Tensor PseudoHuber(Tensor a, Tensor b, double c)
    {
        var dims = Enumerable.Range(1, (int)a.dim() - 1).Select(i => (long)i).ToArray();
        long d = a.shape.Skip(1).Aggregate(1L, (x, y) => x * y);
        return (a - b).Squared().sum(dims).Plus(c * c).sqrt().Minus(c).Over(Math.Sqrt(d));
    }

    /// <summary>
    /// Computes the two loss terms per sample. <paramref name="intervals"/> holds n (t = ts[n+1], s = ts[n]) and
    /// <paramref name="uIndices"/> holds m (u = ts[m]) for each sample; <paramref name="noise"/> is the one z shared by x_t and x_s.
    /// When <paramref name="dropoutSeed"/> is given, the global RNG is re-seeded with it before each of the four evaluations,
    /// so that all four see the same dropout mask, as the official code does.
    /// A and E share their input x_t and level t and both need gradients: with <paramref name="fuseAE"/> they are one pass
    /// over a batch of 2B (E's rows end at u instead of ε) when no dropout is active — every layer treats samples
    /// independently, so the result is the same up to float rounding. It is off by default: on the CPU it was slower at
    /// the presets' batch of 32 (README, Performance). With dropout active the official scheme needs one mask pattern of
    /// batch size B for all four evaluations, so A and E always stay separate passes then.
    /// </summary>
    public static BctTerms Compute(BcmModel online, BcmModel target, Tensor x0, Tensor noise, IReadOnlyList<double> ts,
        IReadOnlyList<int> intervals, IReadOnlyList<int> uIndices, Tensor? labels, double huberC, bool ctOnly = false, long? dropoutSeed = null,
        bool fuseAE = false)
    {
        using var scope = NewDisposeScope();
        int batch = (int)x0.shape[0];
        var t = tensor(intervals.Select(n => (float)ts[n + 1]).ToArray(), device: x0.device);
        var s = tensor(intervals.Select(n => (float)ts[n]).ToArray(), device: x0.device);
        var eps = Full([batch], (float)online.SigmaMin, device: x0.device);
        var xt = x0.Plus(PerSample.Broadcast(t, x0) * noise);
        var xs = x0.Plus(PerSample.Broadcast(s, x0) * noise);

        void Seed()
        {
            if (dropoutSeed is long seed) manual_seed(seed);
        }

        bool fused = fuseAE && !ctOnly && !(online.Network.Config.HasDropout && online.Network.Module.training);
        Tensor a, e = null!;
        var u = tensor(uIndices.Select(m => (float)ts[m]).ToArray(), device: x0.device);
        Seed();
        if (fused)
        {
            var both = online.Jump(cat([xt, xt]), cat([t, t]), cat([eps, u]), labels is null ? null : cat([labels, labels]));
            (a, e) = (both[..batch], both[batch..]);
        }
        else a = online.Jump(xt, t, eps, labels);
        Tensor b;
        using (no_grad())
        {
            Seed();
            b = target.Jump(xs, s, eps, labels).detach();
        }
        var ct = PseudoHuber(a, b, huberC) / (t - s);
        Tensor soft;
        if (ctOnly)
        {
            soft = zeros_like(ct);
        }
        else
        {
            if (!fused)
            {
                Seed();
                e = online.Jump(xt, t, u, labels);
            }
            Seed();
            var c = target.Jump(e, u, eps, labels);
            soft = PseudoHuber(c, b, huberC) / (u - t).abs();
        }
        return new BctTerms(ct.MoveToOuterDisposeScope(), soft.MoveToOuterDisposeScope());
    }
}
