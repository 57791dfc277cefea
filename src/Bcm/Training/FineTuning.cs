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
}
