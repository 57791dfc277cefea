namespace Bcm.Training;

/// <summary>A run folder is being written by another process (its training holds the folder's lock).</summary>
public sealed class RunLockedException(string message) : IOException(message);

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
        try
        {
            var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, OperatingSystem.IsWindows() ? FileShare.None : FileShare.ReadWrite);
            if (!OperatingSystem.IsWindows() && Flock((int)stream.SafeFileHandle.DangerousGetHandle(), LockExclusive | LockNonBlocking) != 0)
            {
                stream.Dispose();
                throw new IOException($"{path} is locked");
            }
            File.WriteAllText(pidPath, Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
            return new RunLock(stream);
        }
        catch (IOException e) when (e is not FileNotFoundException and not DirectoryNotFoundException && File.Exists(path))
        {
            string holder = "";
            try
            {
                holder = $" (process {File.ReadAllText(pidPath).Trim()})";
            }
            catch (IOException) { }
            throw new RunLockedException($"{Path.GetFullPath(runDir)} is being trained by another process{holder}: wait for it to finish, " +
                                         "stop it, or train into another --out folder");
        }
    }

    /// <summary>Releases the lock.</summary>
    public void Dispose() => stream.Dispose(); // closing the descriptor releases the lock

    private const int LockExclusive = 2, LockNonBlocking = 4;

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "flock", SetLastError = true)]
    private static extern int Flock(int fd, int operation);
}
