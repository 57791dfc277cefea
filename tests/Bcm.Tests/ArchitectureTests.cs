using System.Text.RegularExpressions;
using Xunit;

namespace Bcm.Tests;

/// <summary>
/// Keeps the rooms of the library (folders = namespaces) and their one-way arrows as docs/architecture.md draws
/// them: reads every source file of src/Bcm and fails on any reference to a room the table does not allow.
/// </summary>
public sealed partial class ArchitectureTests
{
    /// <summary>What each room may use directly; the rooms those may use are allowed too (the closure is taken below).</summary>
    public static readonly IReadOnlyDictionary<string, string[]> MayUse = new Dictionary<string, string[]>
    {
        ["Tensors"] = [], // every room may use it (see Allowed)
        ["IO"] = [],
        ["Randomness"] = [],
        ["Distributed"] = [],
        ["Schedules"] = [],
        ["Networks"] = [],
        ["Model"] = ["Networks", "Schedules"],
        ["Checkpoints"] = ["Networks", "IO"],
        ["Imaging"] = ["IO"],
        ["Data"] = ["IO", "Randomness", "Imaging"],
        ["Plans"] = ["Model", "Schedules", "Randomness"],
        ["Training"] = ["Model", "Plans", "Data", "Checkpoints", "IO", "Randomness", "Distributed"],
        ["Editing"] = ["Plans", "Imaging"],
        ["Metrics"] = ["Model", "Data", "Plans", "Checkpoints"],
        ["Oracle"] = ["Data", "Metrics", "Model"],
        ["Reports"] = ["IO", "Randomness", "Distributed", "Schedules", "Networks", "Model", "Checkpoints", "Imaging", "Data", "Plans", "Training", "Editing", "Metrics", "Oracle"],
    };

    private static HashSet<string> Allowed(string room)
    {
        var seen = new HashSet<string> { "Tensors" }; // scalar-safe arithmetic: the foundation under every room
        var stack = new Stack<string>(MayUse[room]);
        while (stack.Count > 0)
            if (seen.Add(stack.Peek())) foreach (var next in MayUse[stack.Pop()]) stack.Push(next);
            else stack.Pop();
        return seen;
    }

    /// <summary>Rooms a source file refers to: <c>using Bcm.X;</c>, <c>Bcm.X.</c> and names relative to Bcm such as <c>Imaging.ImageIO</c>.</summary>
    public static HashSet<string> References(string source)
    {
        var code = StringLiteral().Replace(LineComment().Replace(source, ""), "\"\"");
        var found = new HashSet<string>();
        foreach (Match m in UsingBcm().Matches(code)) found.Add(m.Groups[1].Value);
        foreach (Match m in QualifiedBcm().Matches(code)) found.Add(m.Groups[1].Value);
        foreach (Match m in RelativeName().Matches(code))
            if (MayUse.ContainsKey(m.Groups[1].Value)) found.Add(m.Groups[1].Value);
        found.IntersectWith(MayUse.Keys);
        return found;
    }

    [Fact]
    public void EveryRoomUsesOnlyTheRoomsTheTableAllows()
    {
        var violations = new List<string>();
        int files = 0;
        foreach (var file in Directory.EnumerateFiles(Path.Combine(TestPaths.Root, "src", "Bcm"), "*.cs", SearchOption.AllDirectories))
        {
            if (file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") || file.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}")) continue;
            var source = File.ReadAllText(file);
            var ns = Namespace().Match(source);
            Assert.True(ns.Success, $"{file}: no file-scoped namespace Bcm.X");
            string room = ns.Groups[1].Value;
            Assert.True(MayUse.ContainsKey(room), $"{file}: room {room} is not in the table (add it to docs/architecture.md and here)");
            var allowed = Allowed(room);
            foreach (var used in References(source).Where(r => r != room && !allowed.Contains(r)))
                violations.Add($"{Path.GetRelativePath(Path.Combine(TestPaths.Root, "src", "Bcm"), file)}: {room} uses {used}");
            files++;
        }
        Assert.True(files > 40, $"only {files} source files found");
        Assert.True(violations.Count == 0, "arrows against the table:\n" + string.Join("\n", violations));
    }

    [Fact]
    public void TheCheckSeesEveryKindOfReference()
    {
        Assert.Equal(["Training"], References("using Bcm.Training;\nnamespace Bcm.Plans;"));
        Assert.Equal(["Metrics"], References("var m = Bcm.Metrics.ImageQuality.Mse(a, b);"));
        Assert.Equal(["Imaging"], References("Imaging.ImageIO.SaveGrid(x, path);"));
        Assert.Empty(References("var d = options.Data.Length; // Training.Seeds\nvar s = \"Plans.Plan\";"));
    }

    [GeneratedRegex(@"^namespace Bcm\.(\w+)\s*;", RegexOptions.Multiline)] private static partial Regex Namespace();
    [GeneratedRegex(@"^using Bcm\.(\w+)", RegexOptions.Multiline)] private static partial Regex UsingBcm();
    [GeneratedRegex(@"\bBcm\.(\w+)\.")] private static partial Regex QualifiedBcm();
    [GeneratedRegex(@"(?<![\w.])(\w+)\.[A-Z]\w*")] private static partial Regex RelativeName();
    [GeneratedRegex(@"//.*")] private static partial Regex LineComment();
    [GeneratedRegex(@"""(?:\\.|[^""\\])*""")] private static partial Regex StringLiteral();
}
