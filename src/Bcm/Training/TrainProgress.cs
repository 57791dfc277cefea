namespace Bcm.Training;

/// <summary>
/// One training step's statistics, as reported to progress and written to stats.jsonl (Scales = N(k); 0 for the EDM
/// objective). Images per second count the global batch; <see cref="AllReduceSeconds"/> is the time of the step's
/// gradient all-reduce on rank 0 (null for one process). <see cref="ResidentMegabytes"/> is the process's resident
/// memory after the step (MB of 2²⁰ bytes; null in stats written before it was recorded).
/// </summary>
public sealed record TrainProgress(
    long Step, long TotalSteps, int Scales, double Loss, double Ct, double Soft, double GradNorm,
    double ImagesPerSecond, double ElapsedSeconds, double EtaSeconds, string? Event = null, double? AllReduceSeconds = null,
    double? ResidentMegabytes = null);

/// <summary>Training stopped because the loss became non-finite; the last good checkpoint is kept.</summary>
public sealed class TrainingDivergedException(string message) : Errors.BadInputException(message);
