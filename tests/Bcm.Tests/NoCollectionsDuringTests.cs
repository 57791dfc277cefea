using System.Reflection;
using System.Runtime;
using Xunit.Sdk;

[assembly: Bcm.Tests.NoCollectionsDuringTests]

namespace Bcm.Tests;

/// <summary>
/// Every test runs in a no-GC region (until it has allocated 256 MB): TorchSharp 0.107 hands libtorch the native handle
/// of an implicit Scalar (<c>x * 0.5</c>) without keeping the Scalar alive, so a collection that another thread of the
/// test host starts (the test platform reporting results) may finalize it while libtorch reads it — "Expected false to
/// be true … toFloat", seen twice in this suite (tools/scalar-race reproduces it). A mitigation for the test host only:
/// the bug is TorchSharp's (README, Reliability).
/// </summary>
[AttributeUsage(AttributeTargets.Assembly | AttributeTargets.Class | AttributeTargets.Method)]
public sealed class NoCollectionsDuringTests : BeforeAfterTestAttribute
{
    /// <summary>The managed bytes a test may allocate (on any thread) before collections may start again.</summary>
    public const long Budget = 256L << 20;

    public override void Before(MethodInfo methodUnderTest)
    {
        try
        {
            GC.TryStartNoGCRegion(Budget);
        }
        catch (InvalidOperationException)
        {
            // already in a region
        }
    }

    public override void After(MethodInfo methodUnderTest) => End();

    /// <summary>Ends the region early (for a test that measures collections itself).</summary>
    public static void End()
    {
        try
        {
            if (GCSettings.LatencyMode == GCLatencyMode.NoGCRegion) GC.EndNoGCRegion();
        }
        catch (InvalidOperationException)
        {
            // the region ended by itself: the test allocated more than the budget
        }
    }
}
