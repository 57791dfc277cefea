using Xunit;

[assembly: CollectionBehavior(DisableTestParallelization = true)]

namespace Bcm.Tests;

/// <summary>Locations of the repository and of the shared data and golden files (../shared beside the repository).</summary>
internal static class TestPaths
{
    public static string Root { get; } = FindRoot();

    /// <summary>The shared data and golden files: $BCM_SHARED, else ../shared beside the repository.</summary>
    public static string Shared { get; } = Environment.GetEnvironmentVariable("BCM_SHARED") is { Length: > 0 } env
        ? Path.GetFullPath(env)
        : Path.GetFullPath(Path.Combine(Root, "..", "shared"));

    public static string Golden(string name) => Path.Combine(Shared, "golden", "bcm-official", name);

    public static string Data(string relative) => Path.Combine(Shared, "data", relative);

    /// <summary>A new empty folder under this test process's temporary folder.</summary>
    public static string NewTempDir()
    {
        var dir = Path.Combine(ProcessTemp.Value, Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    // One folder per test process, removed when the process exits (the suite writes about 2 GB of runs and checkpoints);
    // BCM_KEEP_TEST_FILES=1 keeps it for inspection, until the next run without it. The test host is often stopped
    // before its exit handler has deleted that much, so each run also removes the folders of test processes that are
    // gone: without that, every full run left up to 1.7 GB behind (20 GB after a day of runs on this machine).
    private static readonly Lazy<string> ProcessTemp = new(() =>
    {
        var parent = Path.Combine(Path.GetTempPath(), "bcm-tests");
        bool keep = Environment.GetEnvironmentVariable("BCM_KEEP_TEST_FILES") == "1";
        if (!keep && Directory.Exists(parent))
            foreach (var stale in Directory.EnumerateDirectories(parent))
                if (System.Text.RegularExpressions.Regex.Match(Path.GetFileName(stale), "^([0-9]+)-[0-9a-f]{32}$") is { Success: true } m
                    && int.TryParse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture, out int pid) && !IsRunning(pid))
                    TryDelete(stale);
        var dir = Path.Combine(parent, $"{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        if (!keep) AppDomain.CurrentDomain.ProcessExit += (_, _) => TryDelete(dir);
        return dir;
    });

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false; // no such process
        }
    }

    private static void TryDelete(string dir)
    {
        try
        {
            Directory.Delete(dir, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // a file still open elsewhere: the next run, or the OS's temp cleaning, will take it
        }
    }

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Bcm.slnx"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("repository root (Bcm.slnx) not found above " + AppContext.BaseDirectory);
    }
}
