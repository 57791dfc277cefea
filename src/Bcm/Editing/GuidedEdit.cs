using Bcm.Model;
using static TorchSharp.torch;

namespace Bcm.Editing;

/// <summary>
/// Stroke- or sketch-guided editing (beyond the paper, SDEdit-style with BCM jumps): start from a painted image,
/// invert it to a middle noise level and regenerate, so that the strokes become a plausible image of the data.
/// Higher levels follow the data more and the painting less.
/// </summary>
public static class GuidedEdit
{
    /// <summary>The level of the single default round (σ = 5): strokes turn into data while the layout stays.</summary>
    public static readonly double[] DefaultLevels = [5.0];

    /// <summary>Inverts <paramref name="painted"/> (in [−1, 1]) to each of <paramref name="levels"/> in turn and regenerates; returns the edited images. <paramref name="afterRound"/> sees each round's result (do not keep it).</summary>
    public static Tensor Run(BcmModel model, Tensor painted, IReadOnlyList<double>? levels = null, long seed = 0, Tensor? labels = null,
        Action<int, Tensor>? afterRound = null) =>
        Rounds.Run(model, painted, levels ?? DefaultLevels, seed, labels: labels, afterRound: afterRound);
}
