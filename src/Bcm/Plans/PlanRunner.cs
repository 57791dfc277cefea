using Bcm.Model;
using Bcm.Randomness;
using static TorchSharp.torch;
using Bcm.Tensors;

namespace Bcm.Plans;

/// <summary>What the per-step callback sees: the step index, the step, the noise level σ reached, and the current batch (do not keep it).</summary>
public sealed record PlanProgress(int Index, PlanStep Step, double Sigma, Tensor X);

/// <summary>
/// The one engine that runs any plan on a batch, in both directions: x = base + Start·z, then each step in order.
/// Noise comes from per-sample seeds, so a sample's result does not depend on the batch it is in.
/// </summary>
public static class PlanRunner
{
    /// <summary>
    /// Runs <paramref name="plan"/> on <paramref name="base"/>: adds <c>Start</c>·z first where the plan starts with noise
    /// (<see cref="Plan.StartsWithNoise"/>; not for latents: <see cref="Plan.FromGiven"/>), then each step; sample i draws its noise from <paramref name="sampleSeeds"/>[i]. <paramref name="callback"/> sees the batch after each step.
    /// </summary>
    public static Tensor Run(BcmModel model, Tensor @base, Plan plan, IReadOnlyList<long> sampleSeeds, Tensor? labels = null,
        Action<PlanProgress>? callback = null)
    {
        if (sampleSeeds.Count != @base.shape[0]) throw new ArgumentException($"{sampleSeeds.Count} seeds for a batch of {@base.shape[0]}");
        using var _ = no_grad();
        using var outer = NewDisposeScope();
        var x = plan.StartsWithNoise ? @base.Plus(Noise(sampleSeeds, @base, 0).Times(plan.Start)) : @base.clone();
        var history = new MultistepHistory();
        for (int i = 0; i < plan.Steps.Count; i++)
        {
            Tensor next;
            using (NewDisposeScope())
            {
                if (plan.Steps[i] is not OdeStep { Method: OdeMethod.DpmSolver2M }) history.Clear();
                next = (plan.Steps[i] switch
                {
                    Jump j => model.Jump(x, j.From, j.To, labels),
                    OdeStep { Method: OdeMethod.DpmSolver2M } o => DpmSolver2MStep(model, x, o, labels, history),
                    OdeStep o => SolveStep(model, x, o, labels),
                    Noise n => x.Plus(Noise(sampleSeeds, x, i + 1).Times(n.ReachSigma ? Math.Sqrt(Math.Max(0, n.Sigma * n.Sigma - model.SigmaMin * model.SigmaMin)) : n.Sigma)),
                    _ => throw new NotSupportedException(plan.Steps[i].GetType().Name),
                }).MoveToOuterDisposeScope();
            }
            x.Dispose(); // each step's intermediates are freed at once, not at the end of the plan
            x = next;
            callback?.Invoke(new PlanProgress(i, plan.Steps[i], plan.Steps[i].Reached, x));
        }
        history.Clear();
        return x.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The round trip, written once: <paramref name="invert"/> on <paramref name="x"/> (with its start noise, unless it is
    /// <see cref="Plan.FromGiven"/>), then <paramref name="generate"/> from exactly the latents it reached, both with
    /// <paramref name="sampleSeeds"/>. Checked first: the inversion goes up and the generation starts where it ended.
    /// </summary>
    public static (Tensor Latents, Tensor Reconstructions) RoundTrip(BcmModel model, Tensor x, Plan invert, Plan generate, IReadOnlyList<long> sampleSeeds,
        Tensor? labels = null)
    {
        Plan.CheckRoundTrip(invert, generate);
        var latents = Run(model, x, invert, sampleSeeds, labels);
        return (latents, Run(model, latents, generate.FromGiven(), sampleSeeds, labels));
    }

    // The previous step's data prediction D(x_{i−1}, σ_{i−1}) and its level, while consecutive DPM-Solver++(2M) steps run.
    private sealed class MultistepHistory
    {
        public Tensor? Denoised;
        public double Sigma;

        public void Set(Tensor denoised, double sigma)
        {
            Denoised?.Dispose();
            Denoised = denoised.clone().DetachFromDisposeScope();
            Sigma = sigma;
        }

        public void Clear()
        {
            Denoised?.Dispose();
            Denoised = null;
        }
    }

    // DPM-Solver++(2M) (Lu et al. 2022, Algorithm 2; k-diffusion's sample_dpmpp_2m) from σ_i to σ_{i+1}, in λ = −log σ
    // with h = log(σ_i/σ_{i+1}): x ← (σ_{i+1}/σ_i)·x + (1 − σ_{i+1}/σ_i)·D', where D' = D_i on the first step and
    // (1 + 1/2r)·D_i − (1/2r)·D_{i−1} after it, r = h_{i−1}/h. Run upward (σ_{i+1} > σ_i) it is the DPM-Solver inversion
    // that editing uses. A step out of ε cannot evaluate D at its start (D(x, ε) = x by the boundary condition), so it is
    // Euler's (DDIM's) inversion step with D at its end on x, x + (σ_{i+1} − ε)·(x − D)/σ_{i+1}: the exponential form with
    // that D would multiply x − D by σ_{i+1}/ε (thousands on a two-step grid). A step into ε needs no evaluation at ε.
    private static Tensor DpmSolver2MStep(BcmModel denoiser, Tensor x, OdeStep step, Tensor? labels, MultistepHistory history)
    {
        double ratio = step.To / step.From;
        bool fromBoundary = OdeStep.AtBoundary(step.From, denoiser.SigmaMin);
        var d = denoiser.Jump(x, fromBoundary ? step.To : step.From, denoiser.SigmaMin, labels);
        var prediction = d;
        if (!fromBoundary && history.Denoised is not null)
        {
            double h = Math.Log(step.From / step.To), hLast = Math.Log(history.Sigma / step.From), r = hLast / h;
            prediction = d.Times(1 + 1 / (2 * r)) - history.Denoised.Times(1 / (2 * r)); // two tensors: no Scalar involved
        }
        var next = fromBoundary
            ? x.Plus((x - d).Times((step.To - step.From) / step.To))
            : x.Times(ratio).Plus(prediction.Times(1 - ratio));
        if (fromBoundary) history.Clear();
        else history.Set(d, step.From);
        return next;
    }

    // One step of dx/dσ = (x − D(x, σ))/σ with D(x, σ) = f(x, σ, ε), as EDM's Algorithm 1 takes it: Heun averages the
    // slopes at both ends of the step. At ε the slope cannot be evaluated (D(x, ε) = x by the boundary condition, while
    // the true slope is not zero), so a step with one end at ε is a plain Euler step with the slope at its other end:
    // into ε with the slope at its start (EDM's Euler step into the end of its grid), and out of ε (inversion) with the
    // slope at its end evaluated at x (the usual DDIM-style inversion). See OdeStep.Nfe.
    private static Tensor SolveStep(BcmModel denoiser, Tensor x, OdeStep step, Tensor? labels)
    {
        double h = step.To - step.From;
        if (OdeStep.AtBoundary(step.From, denoiser.SigmaMin)) return x.Plus(Slope(denoiser, x, step.To, labels).Times(h));
        var d = Slope(denoiser, x, step.From, labels);
        var euler = x.Plus(d.Times(h));
        if (step.Method == OdeMethod.Euler || OdeStep.AtBoundary(step.To, denoiser.SigmaMin)) return euler;
        return x.Plus(d.Plus(Slope(denoiser, euler, step.To, labels)).Times(h * 0.5));
    }

    private static Tensor Slope(BcmModel denoiser, Tensor x, double sigma, Tensor? labels) =>
        (x - denoiser.Jump(x, sigma, denoiser.SigmaMin, labels)).Over(sigma);

    /// <summary>Standard normal noise for each sample from (seed, step): independent of batch size and position.</summary>
    public static Tensor Noise(IReadOnlyList<long> sampleSeeds, Tensor like, int stepIndex)
    {
        using var scope = NewDisposeScope();
        var shape = like.shape.Skip(1).ToArray();
        var parts = new Tensor[sampleSeeds.Count];
        for (int i = 0; i < parts.Length; i++)
        {
            using var g = Seeds.Generator(sampleSeeds[i], Seeds.Sample, stepIndex);
            parts[i] = randn(shape, dtype: like.dtype, generator: g);
        }
        return stack(parts).to(like.device).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Generates samples <paramref name="first"/>..first+count−1 of a run with seed <paramref name="seed"/> (sample i
    /// has seed seed + i) in batches of <paramref name="batchSize"/> (the result does not depend on it), on the CPU. A
    /// conditional model gets <paramref name="label"/> for every sample, or label i mod classes for sample i;
    /// <paramref name="callback"/> sees each batch's steps, with the index (from 0 within this call) of its first sample.
    /// </summary>
    public static Tensor Generate(BcmModel model, Plan plan, int count, long seed, int batchSize = 64, int? label = null,
        Action<int, PlanProgress>? callback = null, IProgress<int>? progress = null, int first = 0)
    {
        if (count < 1 || batchSize < 1) throw new ArgumentException($"count and batch size must be ≥ 1, got {count} and {batchSize}");
        if (first < 0) throw new ArgumentException($"the first sample index must be ≥ 0, got {first}");
        int classes = model.Network.NumClasses;
        if (label is int c && (classes == 0 || c < 0 || c >= classes))
            throw new ArgumentException(classes == 0 ? "a class label was given, but the model is unconditional" : $"the class label must be in 0..{classes - 1}");
        var device = model.Device;
        var parts = new List<Tensor>();
        try
        {
            for (int start = 0; start < count; start += batchSize)
            {
                int m = Math.Min(batchSize, count - start);
                using var scope = NewDisposeScope();
                var labels = classes > 0 ? tensor(Enumerable.Range(first + start, m).Select(i => (long)(label ?? i % classes)).ToArray(), device: device) : null;
                int batchStart = start;
                var x = Run(model, zeros([m, .. model.Network.SampleShape], device: device), plan, SeedRange(seed, m, first + start), labels,
                    callback is null ? null : step => callback(batchStart, step));
                parts.Add(x.cpu().DetachFromDisposeScope());
                progress?.Report(start + m);
            }
            return cat(parts, 0);
        }
        finally
        {
            foreach (var p in parts) p.Dispose();
        }
    }

    /// <summary>Seeds seed, seed+1, …: image i of a run with seed s is the same whatever the batch size.</summary>
    public static long[] SeedRange(long seed, int count, int offset = 0) => Enumerable.Range(offset, count).Select(i => seed + i).ToArray();
}
