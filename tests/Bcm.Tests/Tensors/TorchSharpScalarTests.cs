using System.Reflection;
using System.Reflection.Emit;
using Bcm.Model;
using Bcm.Tensors;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace Bcm.Tests;

/// <summary>
/// TorchSharp 0.107 passes the native handle of a Scalar it made from a .NET number to libtorch without keeping the
/// Scalar reachable, so a collection another thread starts can free it during the call (issue 10; tools/scalar-race).
/// The library goes through <see cref="ScalarMath"/> instead, and build/BannedSymbols.txt makes the compiler refuse the
/// rest. These tests find the unsafe members in TorchSharp's own IL, so the list cannot silently fall behind a TorchSharp
/// upgrade, and check that the library's compiled code calls none of them.
/// </summary>
public sealed class TorchSharpScalarTests
{
    private static readonly Lazy<HashSet<MethodBase>> Unsafe = new(FindUnsafeMembers);

    [Fact]
    public void TheScanFindsTheKnownUnsafeMembersAndNotTheSafeOnes()
    {
        var ids = Unsafe.Value.Select(DocId).ToHashSet();
        Assert.Contains("M:TorchSharp.Scalar.op_Implicit(System.Double)", ids.Select(i => i.Split('~')[0]));
        Assert.Contains("M:TorchSharp.torch.Tensor.op_Multiply(TorchSharp.torch.Tensor,System.Double)", ids);
        Assert.Contains("M:TorchSharp.torch.Tensor.op_Addition(TorchSharp.torch.Tensor,TorchSharp.torch.Tensor)", ids); // alpha = 1
        Assert.Contains("M:TorchSharp.torch.Tensor.square", ids); // pow(2)
        Assert.DoesNotContain("M:TorchSharp.torch.Tensor.op_Multiply(TorchSharp.torch.Tensor,TorchSharp.torch.Tensor)", ids);
        Assert.DoesNotContain("M:TorchSharp.torch.Tensor.mul(TorchSharp.Scalar)", ids);
        Assert.DoesNotContain("M:TorchSharp.torch.Tensor.sub(TorchSharp.Scalar)", ids);
    }

    [Fact]
    public void EveryUnsafeTensorMemberIsBannedAtCompileTime()
    {
        var banned = File.ReadLines(Path.Combine(TestPaths.Root, "build", "BannedSymbols.txt"))
            .Where(l => l.StartsWith("M:", StringComparison.Ordinal))
            .Select(l => l.Split(';')[0].Split('~')[0])
            .ToHashSet();
        // The members a user of tensors reaches for: the Tensor class, torch.*, torch.nn.functional, torch.linalg and the conversions.
        Type[] surface = [typeof(Scalar), typeof(torch.Tensor), typeof(torch), typeof(torch.nn.functional), typeof(torch.linalg)];
        var missing = Unsafe.Value
            .Where(m => m.IsPublic && surface.Contains(m.DeclaringType))
            .Select(m => DocId(m).Split('~')[0])
            .Where(id => !banned.Contains(id))
            .Order()
            .ToList();
        Assert.True(missing.Count == 0, "unsafe TorchSharp members missing from build/BannedSymbols.txt:\n" + string.Join("\n", missing));
    }

    [Fact]
    public void TheLibraryCallsNoUnsafeMember()
    {
        var unsafeMembers = Unsafe.Value;
        var calls = new List<string>();
        foreach (var assembly in new[] { typeof(BcmModel).Assembly, typeof(Studio.StudioServer).Assembly, Assembly.Load("Bcm.Cli") })
            foreach (var method in MethodsOf(assembly))
            {
                // ScalarMath makes its Scalars itself and disposes them after the call (or keeps them in static fields).
                if (method.DeclaringType == typeof(ScalarMath)) continue;
                foreach (var callee in Callees(method))
                    if (unsafeMembers.Contains(callee) || IsScalarFactory(callee))
                        calls.Add($"{method.DeclaringType?.FullName}.{method.Name} calls {DocId(callee)}");
            }
        Assert.True(calls.Count == 0, "library code that hands libtorch an unreferenced Scalar:\n" + string.Join("\n", calls.Distinct()));
    }

    [Fact]
    public void ScalarMathIsBitIdenticalToTheOperatorsItReplaces()
    {
        using var scope = NewDisposeScope();
        var g = new Generator(7);
        var a = randn([64, 33], generator: g);
        var b = randn([64, 33], generator: g);
        var ints = randint(0, 1000, [97], generator: g);
#pragma warning disable RS0030 // the operators are the reference here, on one thread inside the suite's no-GC region
        (Tensor Ours, Tensor Theirs)[] pairs =
        [
            (a.Plus(b), a + b),
            (a.Plus(0.37), a + 0.37),
            (a.Minus(0.37), a - 0.37),
            (a.SubtractedFrom(0.37), 0.37 - a),
            (a.Times(-1.7), a * -1.7),
            (a.Times(-1.7), -1.7 * a),
            (a.Over(3.1), a / 3.1),
            (a.Into(3.1), 3.1 / a),
            (a.Squared(), a.square()),
            (a.Power(3), a.pow(3)),
            (a.abs().Power(0.5), a.abs().pow(0.5)),
            (a.Clamped(-1, 1), a.clamp(-1, 1)),
            (a.AtLeast(0), a.clamp_min(0)),
            (a.Below(0.1), a < 0.1),
            (a.Above(0.1), a > 0.1),
            (ints.Plus(3), ints + 3),
            (ints.Times(3), ints * 3),
            (ints.Mod(7), ints % 7),
            (ScalarMath.FullLike(a, 0.1), full_like(a, 0.1)),
            (ScalarMath.Full([5, 2], 0.1), full([5, 2], 0.1)),
            (ScalarMath.Range(11, ScalarType.Float32), arange(11, dtype: ScalarType.Float32)),
            (ScalarMath.Range(11), arange(11)),
        ];
        var inPlace = b.clone();
        inPlace.mul_(0.9).addcmul_(a, a, 0.1);
        pairs = [.. pairs, (b.clone().TimesInPlace(0.9).AddProductInPlace(a, a, 0.1), inPlace)];
#pragma warning restore RS0030
        for (int i = 0; i < pairs.Length; i++)
        {
            var (ours, theirs) = pairs[i];
            Assert.Equal(theirs.dtype, ours.dtype);
            Assert.Equal(theirs.shape, ours.shape);
            Assert.True(ours.equal(theirs).all().item<bool>(), $"pair {i} differs");
        }
    }

    [Fact]
    public void LibraryArithmeticSurvivesCollectionsStartedByAnotherThread()
    {
        // The situation in which the operators failed within seconds (tools/scalar-race): another thread allocating
        // fast enough to start a collection every few milliseconds while this one calls libtorch.
        NoCollectionsDuringTests.End();
        using var scope = NewDisposeScope();
        var model = TestModels.RandomTiny(seed: 3);
        var x = randn([4, 1, 8, 8], generator: new Generator(5));
        var t = tensor(new[] { 0.3f, 2f, 10f, 80f });
        var u = tensor(new[] { 0.002f, 0.5f, 1f, 5f });
        Tensor Work()
        {
            using var inner = NewDisposeScope();
            using var _ = no_grad();
            var scalings = Scalings.CSkip(t, u, 0.5).Plus(Scalings.COut(t, u, 0.5)).Plus(Scalings.CIn(t, 0.5)).Plus(Scalings.CNoise(t));
            var jump = model.Jump(x, t, u);
            var ssim = tensor(Metrics.ImageQuality.Ssim(x.Clamped(-1, 1), jump.Clamped(-1, 1)));
            return cat([scalings, jump.flatten(), ssim.to(ScalarType.Float32)]).MoveToOuterDisposeScope();
        }
        var reference = Work();
        bool stop = false;
        long collectionsBefore = GC.CollectionCount(0);
        var noise = new Thread(() => { while (!Volatile.Read(ref stop)) GC.KeepAlive(new byte[200_000]); }) { IsBackground = true };
        noise.Start();
        int rounds = 0;
        try
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            // At least 3 s, and on a loaded machine (where the collecting thread gets less CPU) on until the race has been
            // exercised enough, within a minute.
            while ((clock.Elapsed < TimeSpan.FromSeconds(3) || GC.CollectionCount(0) - collectionsBefore <= 50 || rounds <= 10)
                   && clock.Elapsed < TimeSpan.FromSeconds(60))
            {
                using var round = NewDisposeScope();
                Assert.True(Work().equal(reference).all().item<bool>(), $"round {rounds} differs from the reference");
                rounds++;
            }
        }
        finally
        {
            Volatile.Write(ref stop, true);
            noise.Join();
        }
        Assert.True(GC.CollectionCount(0) - collectionsBefore > 50, $"only {GC.CollectionCount(0) - collectionsBefore} collections: the test did not exercise the race");
        Assert.True(rounds > 10, $"only {rounds} rounds");
    }

    private static bool IsScalarFactory(MethodBase m) =>
        (m.DeclaringType == typeof(Scalar) && m.Name == "op_Implicit") || (m.DeclaringType == typeof(ScalarExtensionMethods) && m.Name == "ToScalar");

    /// <summary>
    /// Members of TorchSharp that make a Scalar from a number and do not dispose it (more Scalar factories called than
    /// Dispose calls), and everything in TorchSharp that calls one of those.
    /// </summary>
    private static HashSet<MethodBase> FindUnsafeMembers()
    {
        var assembly = typeof(Scalar).Assembly;
        var callees = MethodsOf(assembly).ToDictionary(m => m, m => Callees(m).ToList());
        var found = new HashSet<MethodBase>();
        foreach (var (method, calls) in callees)
        {
            int made = calls.Count(IsScalarFactory);
            int disposed = calls.Count(c => c.Name == "Dispose" && (c.DeclaringType == typeof(IDisposable) || c.DeclaringType == typeof(Scalar)));
            if (made > disposed && method.DeclaringType != typeof(ScalarExtensionMethods)) found.Add(method);
        }
        foreach (var m in typeof(Scalar).GetMethods().Where(m => m.Name == "op_Implicit")) found.Add(m);
        for (bool grew = true; grew;)
        {
            grew = false;
            foreach (var (method, calls) in callees)
                if (!found.Contains(method) && calls.Any(found.Contains)) grew = found.Add(method) | grew;
        }
        return found;
    }

    private static IEnumerable<MethodBase> MethodsOf(Assembly assembly)
    {
        const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly;
        foreach (var type in assembly.GetTypes())
        {
            foreach (var m in type.GetMethods(all)) yield return m;
            foreach (var c in type.GetConstructors(all)) yield return c;
        }
    }

    private static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!).ToDictionary(o => o.Value);

    /// <summary>The methods a method's IL calls (call, callvirt, newobj, ldftn).</summary>
    private static IEnumerable<MethodBase> Callees(MethodBase method)
    {
        byte[]? il;
        try { il = method.GetMethodBody()?.GetILAsByteArray(); }
        catch (Exception e) when (e is BadImageFormatException or InvalidOperationException) { yield break; }
        if (il is null) yield break;
        var typeArgs = method.DeclaringType is { IsGenericType: true } d ? d.GetGenericArguments() : null;
        var methodArgs = method.IsGenericMethod ? method.GetGenericArguments() : null;
        for (int i = 0; i < il.Length;)
        {
            var op = il[i] == 0xFE ? OpCodesByValue[(short)(0xFE00 | il[i + 1])] : OpCodesByValue[il[i]];
            i += op.Size;
            if (op.OperandType == OperandType.InlineMethod)
            {
                MethodBase? callee = null;
                try { callee = method.Module.ResolveMethod(BitConverter.ToInt32(il, i), typeArgs, methodArgs); }
                catch (Exception e) when (e is ArgumentException or BadImageFormatException or TypeLoadException or FileNotFoundException) { }
                if (callee is not null) yield return callee is MethodInfo { IsGenericMethod: true } g ? g.GetGenericMethodDefinition() : callee;
            }
            i += op.OperandType switch
            {
                OperandType.InlineNone => 0,
                OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar => 1,
                OperandType.InlineVar => 2,
                OperandType.InlineI8 or OperandType.InlineR => 8,
                OperandType.InlineSwitch => 4 + 4 * BitConverter.ToInt32(il, i),
                _ => 4,
            };
        }
    }

    /// <summary>The documentation-comment ID of a method, as build/BannedSymbols.txt names it.</summary>
    private static string DocId(MethodBase m)
    {
        static string TypeId(Type t)
        {
            if (t.IsByRef) return TypeId(t.GetElementType()!) + "@";
            if (t.IsArray) return TypeId(t.GetElementType()!) + "[]";
            if (t.IsGenericParameter) return (t.DeclaringMethod is null ? "`" : "``") + t.GenericParameterPosition;
            if (t.IsGenericType)
            {
                var name = t.GetGenericTypeDefinition().FullName!;
                return name[..name.IndexOf('`')].Replace('+', '.') + "{" + string.Join(",", t.GetGenericArguments().Select(TypeId)) + "}";
            }
            return t.FullName!.Replace('+', '.');
        }
        var parameters = m.GetParameters();
        string id = "M:" + TypeId(m.DeclaringType!) + "." + (m is ConstructorInfo ? "#ctor" : m.Name)
            + (parameters.Length > 0 ? "(" + string.Join(",", parameters.Select(p => TypeId(p.ParameterType))) + ")" : "");
        return m is MethodInfo { Name: "op_Implicit" or "op_Explicit" } mi ? id + "~" + TypeId(mi.ReturnType) : id;
    }
}
