using System.Runtime.CompilerServices;

namespace Bcm.Tests;

/// <summary>Settings of the test process that every command it starts inherits.</summary>
internal static class TestEnvironment
{
    /// <summary>
    /// The engine measurements of <c>bcm bench --onnx</c> go to a folder of this test process: a developer's own records
    /// (in ~/.cache/bcm) would otherwise move the commands that tests compare onto ONNX Runtime.
    /// </summary>
    [ModuleInitializer]
    internal static void Isolate() => Environment.SetEnvironmentVariable("BCM_CACHE_DIR", TestPaths.NewTempDir());
}
