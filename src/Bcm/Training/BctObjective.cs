using Bcm.Model;
using Bcm.Schedules;
using static TorchSharp.torch;

namespace Bcm.Training;

/// <summary>
/// Bidirectional consistency training (method §4): pairs from <see cref="BctPairSampler"/> on the curriculum's grid,
/// the loss of <see cref="BctLoss"/>; with <c>CtOnly</c> the consistency term alone (the iCT ablation).
/// </summary>
public sealed class BctObjective(TrainOptions options) : ITrainingObjective
{
    /// <inheritdoc/>
    public string Name => "bct";
    /// <inheritdoc/>
    public ModelKind Kind => options.CtOnly ? ModelKind.ConsistencyModel : ModelKind.Bcm;
    /// <inheritdoc/>
    public int PassesPerStep => options.CtOnly ? 4 : 9;

    /// <summary>N(k): fixed when the options fix it, else the doubling curriculum over the run's total steps.</summary>
    public int Scales(long step) => options.FixedScales > 0 ? options.FixedScales
        : Curriculum.Scales(step, options.Steps, options.ScalesStart, options.ScalesEnd);

    /// <summary>The pairs of one step.</summary>
    public sealed record Pairs(double[] Grid, int[] Intervals, int[] UIndices, bool[] Flips) : StepDraw(Flips)
    {
        /// <inheritdoc/>
        public override StepDraw Slice(int start, int count) =>
            new Pairs(Grid, Intervals[start..(start + count)], UIndices[start..(start + count)], Flips[start..(start + count)]);
    }

    /// <inheritdoc/>
    public StepDraw Draw(Random rng, int batch, long step)
    {
        var sampler = new BctPairSampler(KarrasGrid.Ascending(Scales(step)), options.PMean, options.PStd);
        var intervals = new int[batch];
        var uIndices = new int[batch];
        var flips = new bool[batch];
        for (int i = 0; i < batch; i++)
        {
            (intervals[i], uIndices[i]) = sampler.Draw(rng);
            flips[i] = options.RandomFlip && rng.NextDouble() < 0.5;
        }
        return new Pairs((double[])sampler.Grid, intervals, uIndices, flips);
    }

    /// <inheritdoc/>
    public StepLoss Loss(BcmModel online, BcmModel target, StepDraw draw, Tensor x0, Tensor noise, Tensor? labels, long dropoutSeed)
    {
        var pairs = (Pairs)draw;
        double huber = options.HuberC > 0 ? options.HuberC : BctLoss.HuberC(x0[0].numel());
        using var terms = BctLoss.Compute(online, target, x0, noise, pairs.Grid, pairs.Intervals, pairs.UIndices, labels, huber, options.CtOnly, dropoutSeed);
        return new StepLoss(terms.Total.mean(), terms.Ct.mean().item<float>(), terms.Soft.mean().item<float>());
    }
}
