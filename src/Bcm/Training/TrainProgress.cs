namespace Bcm.Training;

/// <summary>One training step's statistics, as reported to progress and written to stats.jsonl (Scales = N(k); 0 for the EDM objective).</summary>
public sealed record TrainProgress(
    long Step, long TotalSteps, int Scales, double Loss, double Ct, double Soft, double GradNorm,
    double ImagesPerSecond, double ElapsedSeconds, double EtaSeconds, string? Event = null);

/// <summary>Training stopped because the loss became non-finite; the last good checkpoint is kept.</summary>
public sealed class TrainingDivergedException(string message) : Exception(message);
