using Bcm.Model;
using static TorchSharp.torch;

namespace Bcm.Training;

/// <summary>
/// A training objective as EDM's <c>loss.py</c> has them: it draws its own noise levels for a step and computes the
/// loss. The trainer supplies the data, the noise z, the networks and the dropout seed, and does not know which
/// objective it runs.
/// </summary>
public interface ITrainingObjective
{
    /// <summary>The <see cref="TrainOptions.Objective"/> name (<c>bct</c>, <c>edm</c>, <c>palette</c>).</summary>
    string Name { get; }

    /// <summary>The kind of model it trains (a denoiser ignores u: the network starts with align = [I | 0] and its u parameters stay frozen).</summary>
    ModelKind Kind { get; }

    /// <summary>
    /// Forward passes' worth of FLOPs per sample in one step (a backward pass counts as two): BCT 9 (A and E forward and
    /// backward, B forward, C forward and input gradient), the consistency term alone 4 (A forward and backward, B
    /// forward), EDM 3 (one forward and its backward).
    /// </summary>
    int PassesPerStep { get; }

    /// <summary>The number of grid points N at an optimiser step (0 when the objective has no grid).</summary>
    int Scales(long step);

    /// <summary>
    /// Draws one step's noise levels and random flips from <paramref name="rng"/> (the step's seeded generator: flips
    /// share its stream, so the order of draws is part of the objective).
    /// </summary>
    StepDraw Draw(Random rng, int batch, long step);

    /// <summary>The loss of one step on clean data <paramref name="x0"/> with noise <paramref name="noise"/>; tensors go to the caller's dispose scope.</summary>
    StepLoss Loss(BcmModel online, BcmModel target, StepDraw draw, Tensor x0, Tensor noise, Tensor? labels, long dropoutSeed);
}

/// <summary>What an objective drew for one step: its own noise levels, and which samples are flipped.</summary>
public abstract record StepDraw(bool[] Flips)
{
    /// <summary>The draws of samples <paramref name="start"/>..start+count−1 (one rank's share of a data-parallel step).</summary>
    public abstract StepDraw Slice(int start, int count);
}

/// <summary>The batch-mean loss to backpropagate, and the values of its consistency and soft terms (0 where absent).</summary>
public sealed record StepLoss(Tensor Loss, double Ct, double Soft);

/// <summary>The objectives by name.</summary>
public static class TrainingObjectives
{
    /// <summary>The names <see cref="TrainOptions.Objective"/> accepts.</summary>
    public static readonly string[] Names = ["bct", "edm", JpegRestorerObjective.ObjectiveName];

    /// <summary>The objective that <paramref name="options"/> ask for.</summary>
    public static ITrainingObjective For(TrainOptions options) => options.Objective switch
    {
        "bct" => new BctObjective(options),
        "edm" => new EdmDenoiserObjective(options.RandomFlip),
        JpegRestorerObjective.ObjectiveName => new JpegRestorerObjective(options.RandomFlip, options.JpegQualities ?? JpegRestorerObjective.DefaultQualities),
        _ => throw new ArgumentException($"objective must be {string.Join(" or ", Names)}, got '{options.Objective}'"),
    };
}
