using System.Text.RegularExpressions;
using Xunit;

namespace Bcm.Tests;

/// <summary>
/// Keeps the rooms of the library (folders = namespaces) and their one-way arrows as docs/architecture.md draws
/// them: reads every source file of src/Bcm and fails on any reference to a room the table does not allow.
/// </summary>
public sealed partial class ArchitectureTests
{
    /// <summary>
    /// What each room may use directly, read from the table of docs/architecture.md itself (one table, not two): the
    /// rows whose room is a folder of the library, their "may use" cell a list of rooms, <c>nothing</c>, or
    /// <c>everything above</c>. The rooms those may use are allowed too (the closure is taken below).
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string[]> MayUse = ReadTable(Path.Combine(TestPaths.Root, "docs", "architecture.md"));

    public static Dictionary<string, string[]> ReadTable(string markdown)
    {
        var table = new Dictionary<string, string[]>();
        foreach (Match row in TableRow().Matches(File.ReadAllText(markdown)))
        {
            string room = row.Groups[1].Value, mayUse = row.Groups[3].Value.Trim();
            table[room] = mayUse switch
            {
                "nothing" => [],
                "everything above" => [.. table.Keys],
                _ => mayUse.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(r => r.Trim('`')).ToArray(),
            };
        }
        Assert.True(table.Count >= 10, $"{markdown}: only {table.Count} rooms found in its table");
        foreach (var (room, uses) in table)
            Assert.True(uses.All(table.ContainsKey), $"{markdown}: {room} may use {string.Join(", ", uses.Where(u => !table.ContainsKey(u)))}, which is not a room of the table");
        return table;
    }

    /// <summary>
    /// The foundation under every room: the rows whose "holds" cell says "every room may use it" (scalar-safe arithmetic,
    /// the bad-input error base).
    /// </summary>
    public static readonly IReadOnlySet<string> Foundation = TableRow().Matches(File.ReadAllText(Path.Combine(TestPaths.Root, "docs", "architecture.md")))
        .Where(row => row.Groups[2].Value.Contains("every room may use it", StringComparison.Ordinal)).Select(row => row.Groups[1].Value).ToHashSet();

    private static HashSet<string> Allowed(string room)
    {
        var seen = new HashSet<string>(Foundation);
        var stack = new Stack<string>(MayUse[room]);
        while (stack.Count > 0)
            if (seen.Add(stack.Peek())) foreach (var next in MayUse[stack.Pop()]) stack.Push(next);
            else stack.Pop();
        return seen;
    }

    /// <summary>
    /// Rooms every file of the library refers to without saying so: <c>global using Bcm.X;</c> in any source file and
    /// <c>&lt;Using Include="Bcm.X" /&gt;</c> in the project file.
    /// </summary>
    public static HashSet<string> GlobalReferences(IEnumerable<string> sources, string projectFile)
    {
        var found = new HashSet<string>();
        foreach (var source in sources)
            foreach (Match m in GlobalUsingBcm().Matches(LineComment().Replace(source, ""))) found.Add(m.Groups[1].Value);
        foreach (Match m in ProjectUsingBcm().Matches(projectFile)) found.Add(m.Groups[1].Value);
        found.IntersectWith(MayUse.Keys);
        return found;
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
        string library = Path.Combine(TestPaths.Root, "src", "Bcm");
        // The library and its engine-free core (Bcm.Core: plans, schedules, seeds, errors) are one house of rooms.
        string core = Path.Combine(TestPaths.Root, "src", "Bcm.Core");
        var sourceFiles = new[] { library, core }.SelectMany(d => Directory.EnumerateFiles(d, "*.cs", SearchOption.AllDirectories))
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}"))
            .ToList();
        var global = GlobalReferences(sourceFiles.Select(File.ReadAllText),
            File.ReadAllText(Path.Combine(library, "Bcm.csproj")) + File.ReadAllText(Path.Combine(core, "Bcm.Core.csproj")));
        foreach (var file in sourceFiles)
        {
            var source = File.ReadAllText(file);
            var ns = Namespace().Match(source);
            Assert.True(ns.Success, $"{file}: no file-scoped namespace Bcm.X");
            string room = ns.Groups[1].Value;
            Assert.True(MayUse.ContainsKey(room), $"{file}: room {room} is not in the table (add it to docs/architecture.md and here)");
            var allowed = Allowed(room);
            foreach (var used in References(source).Union(global).Where(r => r != room && !allowed.Contains(r)))
                violations.Add($"{Path.GetRelativePath(Path.Combine(TestPaths.Root, "src"), file)}: {room} uses {used}");
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
        Assert.Equal(["Reports"], References("using static Bcm.Reports.CostReport;"));
        Assert.Equal(["Editing"], References("using Rounds = Bcm.Editing.Rounds;"));
        Assert.Equal(["Training"], References("global using Bcm.Training;"));
        // A global using reaches every room, wherever it is written; so does a project file's <Using>.
        Assert.Equal(["Training", "Metrics"], GlobalReferences(["namespace Bcm.IO;\nglobal using Bcm.Training;", "// global using Bcm.Data;"],
            "<ItemGroup><Using Include=\"Bcm.Metrics\" /><Using Include=\"System.Text\" /></ItemGroup>"));
    }

    [Fact]
    public void EveryErrorTypeOfTheProjectIsBadInput()
    {
        // One base for the errors a user can fix: the CLI maps it to exit code 2 and the studio to HTTP 400, with no list of its own.
        var assemblies = new[] { "Bcm", "Bcm.Core", "Bcm.Cli", "Bcm.Studio", "Bcm.Onnx", "Bcm.Inference" }.Select(System.Reflection.Assembly.Load).ToList();
        var errors = assemblies.SelectMany(a => a.GetTypes()).Where(t => typeof(Exception).IsAssignableFrom(t)).ToList();
        Assert.Contains(typeof(Bcm.Errors.BadInputException), errors);
        Assert.True(errors.Count >= 8, $"only {errors.Count} error types found");
        Assert.All(errors, t => Assert.True(typeof(Bcm.Errors.BadInputException).IsAssignableFrom(t), $"{t.FullName} does not derive from BadInputException"));
        Assert.True(Bcm.Errors.BadInputException.Is(new Bcm.Plans.PlanException("x")) && Bcm.Errors.BadInputException.Is(new ArgumentException("x")));
        Assert.False(Bcm.Errors.BadInputException.Is(new InvalidOperationException("a bug")));
    }

    [Fact]
    public void TheTableIsReadFromTheArchitectureDocument()
    {
        // Spot checks of rows as docs/architecture.md states them.
        Assert.Empty(MayUse["Tensors"]);
        Assert.Equal(new HashSet<string> { "Tensors", "Errors" }, Foundation); // "every room may use it"
        Assert.Equal(["Networks", "Schedules"], MayUse["Model"]);
        Assert.Contains("Oracle", MayUse["Reports"]); // "everything above"
        Assert.DoesNotContain(MayUse.Values, uses => uses.Contains("Reports")); // the last room: nothing in the library uses it
    }

    [GeneratedRegex(@"^namespace Bcm\.(\w+)\s*;", RegexOptions.Multiline)] private static partial Regex Namespace();
    [GeneratedRegex(@"^\s*(?:global\s+)?using\s+(?:static\s+)?(?:\w+\s*=\s*)?Bcm\.(\w+)", RegexOptions.Multiline)] private static partial Regex UsingBcm();
    [GeneratedRegex(@"^\s*global\s+using\s+(?:static\s+)?(?:\w+\s*=\s*)?Bcm\.(\w+)", RegexOptions.Multiline)] private static partial Regex GlobalUsingBcm();
    [GeneratedRegex(@"<Using\s+Include\s*=\s*""Bcm\.(\w+)")] private static partial Regex ProjectUsingBcm();
    [GeneratedRegex(@"^\|\s*`(\w+)`\s*\|([^|\n]*)\|([^|\n]*)\|\s*$", RegexOptions.Multiline)] private static partial Regex TableRow();
    [GeneratedRegex(@"\bBcm\.(\w+)\.")] private static partial Regex QualifiedBcm();
    [GeneratedRegex(@"(?<![\w.])(\w+)\.[A-Z]\w*")] private static partial Regex RelativeName();
    [GeneratedRegex(@"//.*")] private static partial Regex LineComment();
    [GeneratedRegex(@"""(?:\\.|[^""\\])*""")] private static partial Regex StringLiteral();
}
