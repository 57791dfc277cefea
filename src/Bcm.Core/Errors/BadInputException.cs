namespace Bcm.Errors;

/// <summary>
/// An error the user can fix: a bad option, file, plan, checkpoint or run folder. The CLI prints its message on one line
/// and exits with code 2; the studio answers HTTP 400 with it. Every room's bad-input errors derive from it, so that no
/// caller keeps its own list of them.
/// </summary>
/// <param name="message">What was wrong and, where it helps, what to do.</param>
/// <param name="inner">The error underneath, if any.</param>
public class BadInputException(string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>
    /// Whether <paramref name="e"/> is bad input: one of ours, or the framework's own errors for bad arguments, unreadable
    /// data and missing files. Anything else is a bug (or the machine's: a full disk), and is reported as such.
    /// </summary>
    public static bool Is(Exception e) =>
        e is BadInputException or ArgumentException or InvalidDataException or FileNotFoundException or DirectoryNotFoundException or NotSupportedException;
}
