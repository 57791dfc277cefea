namespace Bcm.Training;

/// <summary>
/// The paper's recipe for a BCM from a consistency model (method §4): start from its weights with align = [I | 0], hold
/// N fixed at 321 and train at learning rate 1e-4 (the official fine-tuning settings).
/// </summary>
public static class FineTuning
{
    /// <summary>N held fixed when fine-tuning from a consistency model.</summary>
    public const int Scales = 321;

    /// <summary>The learning rate of fine-tuning from a consistency model.</summary>
    public const double LearningRate = 1e-4;

    /// <summary>
    /// The options of a new run that starts from a consistency model (<see cref="TrainOptions.InitFrom"/> holds one):
    /// the official settings where the command line gave none (<paramref name="fixedScales"/>, <paramref name="learningRate"/>);
    /// other starting points keep <paramref name="options"/> as they are. Returns whether the recipe applied.
    /// </summary>
    public static (TrainOptions Options, bool Applied) Recipe(TrainOptions options, int? fixedScales, double? learningRate)
    {
        if (options.InitFrom is not string start || ModelKinds.Read(start) != ModelKind.ConsistencyModel) return (options, false);
        return (options with { FixedScales = fixedScales ?? Scales, LearningRate = learningRate ?? LearningRate }, true);
    }
}
