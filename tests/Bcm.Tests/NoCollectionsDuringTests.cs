using System.Reflection;
using System.Runtime;
using Xunit.Sdk;

[assembly: Bcm.Tests.NoCollectionsDuringTests]

namespace Bcm.Tests;

/// <summary>
/// Every test runs in a no-GC region (until it has allocated 256 MB). The library keeps TorchSharp's Scalars alive
/// through each native call (<c>Bcm.Tensors.ScalarMath</c>), but the tests' own code uses TorchSharp's operators
/// (<c>x * 0.5</c>) freely, and those hand libtorch a Scalar that a collection started by another thread of the test
/// host (the test platform reporting results) may free mid-call — "Expected false to be true … toFloat", seen twice in
/// this suite before the library was fixed (tools/scalar-race reproduces it). <c>TorchSharpScalarTests</c> ends the
/// region to test the library under such collections.
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
