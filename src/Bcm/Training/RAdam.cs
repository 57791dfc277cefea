using static TorchSharp.torch;
using Bcm.Tensors;

namespace Bcm.Training;

/// <summary>
/// RAdam (Liu et al. 2020) exactly as torch.optim.RAdam computes it (no weight decay), with its state exposed as
/// named tensors so that checkpoints hold it and resume is exact.
/// </summary>
internal sealed class RAdam : IDisposable
{
    private readonly (string Name, TorchSharp.Modules.Parameter Param)[] parameters;
    private readonly Dictionary<string, Tensor> expAvg = [];
    private readonly Dictionary<string, Tensor> expAvgSq = [];

    /// <summary>RAdam over <paramref name="parameters"/> (named, so its state saves under their names) with the given rates; no weight decay.</summary>
    public RAdam(IEnumerable<(string Name, TorchSharp.Modules.Parameter Param)> parameters, double lr = 1e-4, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8)
    {
        this.parameters = parameters.ToArray();
        LearningRate = lr;
        Beta1 = beta1;
        Beta2 = beta2;
        Eps = eps;
        foreach (var (name, p) in this.parameters)
        {
            expAvg[name] = zeros_like(p).DetachFromDisposeScope();
            expAvgSq[name] = zeros_like(p).DetachFromDisposeScope();
        }
    }

    /// <summary>The step size (it may change between steps).</summary>
    public double LearningRate { get; set; }
    /// <summary>Decay of the first-moment average.</summary>
    public double Beta1 { get; }
    /// <summary>Decay of the second-moment average.</summary>
    public double Beta2 { get; }
    /// <summary>Added to the denominator for stability.</summary>
    public double Eps { get; }
    /// <summary>Optimiser steps taken (the bias corrections depend on it).</summary>
    public long StepCount { get; private set; }

    /// <summary>One update of every parameter from its gradient.</summary>
    public void Step()
    {
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        StepCount++;
        double bc1 = 1 - Math.Pow(Beta1, StepCount), bc2 = 1 - Math.Pow(Beta2, StepCount);
        double rhoInf = 2 / (1 - Beta2) - 1;
        double rhoT = rhoInf - 2 * StepCount * Math.Pow(Beta2, StepCount) / bc2;
        foreach (var (name, p) in parameters)
        {
            if (p.grad is not { } grad) continue;
            var m = expAvg[name];
            var v = expAvgSq[name];
            m.lerp_(grad, 1 - Beta1);
            v.TimesInPlace(Beta2).AddProductInPlace(grad, grad, 1 - Beta2);
            var mHat = m.Over(bc1);
            if (rhoT > 5)
            {
                double rect = Math.Sqrt((rhoT - 4) * (rhoT - 2) * rhoInf / ((rhoInf - 4) * (rhoInf - 2) * rhoT));
                var adaptive = v.sqrt().Plus(Eps).Into(Math.Sqrt(bc2));
                p.sub_((mHat * adaptive).Times(LearningRate * rect));
            }
            else
            {
                p.sub_(mHat.Times(LearningRate));
            }
        }
    }

    /// <summary>State tensors under "m.NAME" and "v.NAME".</summary>
    public Dictionary<string, Tensor> State()
    {
        var state = new Dictionary<string, Tensor>();
        foreach (var (name, t) in expAvg) state["m." + name] = t;
        foreach (var (name, t) in expAvgSq) state["v." + name] = t;
        return state;
    }

    /// <summary>Restores the moment averages saved by <see cref="State"/> and the step count.</summary>
    /// <exception cref="Checkpoints.CheckpointException">A moment is missing or has another shape.</exception>
    public void LoadState(IReadOnlyDictionary<string, Tensor> state, long stepCount, string source)
    {
        using var _ = no_grad();
        foreach (var (prefix, dict) in new[] { ("m.", expAvg), ("v.", expAvgSq) })
            foreach (var (name, t) in dict)
            {
                if (!state.TryGetValue(prefix + name, out var saved) || !saved.shape.SequenceEqual(t.shape))
                    throw new Checkpoints.CheckpointException($"{source}: optimiser state {prefix}{name} is missing or has another shape");
                t.copy_(saved);
            }
        StepCount = stepCount;
    }

    /// <summary>Frees the moment averages.</summary>
    public void Dispose()
    {
        foreach (var t in expAvg.Values.Concat(expAvgSq.Values)) t.Dispose();
    }
}
