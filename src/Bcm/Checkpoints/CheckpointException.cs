namespace Bcm.Checkpoints;

/// <summary>A checkpoint or tensor file that cannot be read or does not fit the model; the message says what and where.</summary>
public sealed class CheckpointException(string message, Exception? inner = null) : Errors.BadInputException(message, inner);
