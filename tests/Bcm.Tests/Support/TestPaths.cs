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
    // BCM_KEEP_TEST_FILES=1 keeps it for inspection.
    private static readonly Lazy<string> ProcessTemp = new(() =>
    {
        var dir = Path.Combine(Path.GetTempPath(), "bcm-tests", $"{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        if (Environment.GetEnvironmentVariable("BCM_KEEP_TEST_FILES") != "1")
            AppDomain.CurrentDomain.ProcessExit += (_, _) =>
            {
                try
                {
                    Directory.Delete(dir, recursive: true);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // a file still open elsewhere: the OS's temp cleaning will take it
                }
            };
        return dir;
    });

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Bcm.slnx"))) dir = dir.Parent;
        return dir?.FullName ?? throw new InvalidOperationException("repository root (Bcm.slnx) not found above " + AppContext.BaseDirectory);
    }
}
