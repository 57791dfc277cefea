namespace Bcm.Training;

/// <summary>A run folder is being written by another process (its training holds the folder's lock).</summary>
public sealed class RunLockedException(string message) : Errors.BadInputException(message);

/// <summary>
/// The exclusive lock a training run holds on its folder for as long as it runs: an OS file lock on RUN/.lock
/// (<c>flock(LOCK_EX | LOCK_NB)</c> on Linux and macOS, a share-none open on Windows), released by the kernel when the process ends, so a
/// <c>kill -9</c> never leaves a stale lock. The holder's PID is written beside it (RUN/.lock.pid) for the message a
/// second writer gets. Readers (<c>sample</c>, <c>eval</c>) do not take it.
/// </summary>
public sealed class RunLock : IDisposable
{
    private readonly FileStream stream;

    private RunLock(FileStream stream) => this.stream = stream;

    /// <summary>Takes the lock of <paramref name="runDir"/> (created if absent), recording this process's PID.</summary>
    /// <exception cref="RunLockedException">Another process holds it.</exception>
    public static RunLock Acquire(string runDir)
    {
        Directory.CreateDirectory(runDir);
        string path = Path.Combine(runDir, ".lock"), pidPath = Path.Combine(runDir, ".lock.pid");
        RunFolder.RefuseLinks(runDir);
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, OperatingSystem.IsWindows() ? FileShare.None : FileShare.ReadWrite);
        }
        // A sharing violation is another holder: on Windows through the share mode, and on Unix because .NET itself
        // takes a shared flock when it opens the file, which our holder's exclusive one refuses.
        catch (IOException e) when (IsSharingViolation(e))
        {
            throw Locked(runDir, pidPath);
        }
        // Only a refused flock means another holder; any other failure (a full disk, permissions) is reported as itself.
        if (!OperatingSystem.IsWindows() && Flock((int)stream.SafeFileHandle.DangerousGetHandle(), LockExclusive | LockNonBlocking) != 0)
        {
            stream.Dispose();
            throw Locked(runDir, pidPath);
        }
        try
        {
            // Replaced, never written through: a link placed at .lock.pid would otherwise carry the write elsewhere.
            IO.AtomicFile.WriteAllText(pidPath, Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        catch
        {
            stream.Dispose();
            throw;
        }
        return new RunLock(stream);
    }

    // Windows: ERROR_SHARING_VIOLATION; Unix: .NET reports the refused flock with its errno, EWOULDBLOCK (11 on Linux, 35 on macOS and BSD).
    private static bool IsSharingViolation(IOException e) =>
        OperatingSystem.IsWindows() ? (e.HResult & 0xFFFF) == 32 : e.HResult == (OperatingSystem.IsLinux() ? 11 : 35);

    private static RunLockedException Locked(string runDir, string pidPath)
    {
        string holder = "";
        try
        {
            holder = $" (process {IO.InputFile.ReadAllText(pidPath, 64, "PID file").Trim()})";
        }
        catch (Exception e) when (e is IOException or InvalidDataException) { } // the message goes without the PID
        return new RunLockedException($"{Path.GetFullPath(runDir)} is being trained by another process{holder}: wait for it to finish, " +
                                      "stop it, or train into another --out folder");
    }

    /// <summary>Releases the lock.</summary>
    public void Dispose() => stream.Dispose(); // closing the descriptor releases the lock

    private const int LockExclusive = 2, LockNonBlocking = 4;

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "flock", SetLastError = true)]
    private static extern int Flock(int fd, int operation);
}
