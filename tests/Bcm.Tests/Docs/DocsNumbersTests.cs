using System.Globalization;
using System.Text.RegularExpressions;
using Xunit;

namespace Bcm.Tests;

/// <summary>
/// Numbers written in the docs' prose that come from committed result files, and fail here when a file does not hold
/// them. A paragraph (or one table row) is marked by a comment naming its files or folders (every CSV, JSON and
/// Markdown file in a folder), relative to the document:
/// <code>
/// &lt;!-- numbers: results/mnist-solvers results/purify-mnist/purification.csv --&gt;
/// </code>
/// Every decimal number in the marked text (outside code spans and link targets) must equal, at the precision it is
/// written with, a number in one of those files, as it is or as a percentage or ×10³ (KID's unit); FILE.csv:COL,COL
/// and FILE.json:KEY narrow a file to those columns or properties, which a marker should do; settings=V,V names the
/// settings the text states (a start noise, a step size). Integers (NFE,
/// steps, counts) are not checked. This is weaker than <see cref="DocsTablesTests"/>, which remakes whole tables, and
/// meant for sentences: a number copied wrong, rounded wrong or left from an older measurement fails. Name a report's
/// results.json (full precision) rather than its CSV where both exist: the CSVs keep four or five significant digits,
/// and a number rounded again from them (0.05247 in a CSV as 0.0525, then written 0.053) passes wrongly.
/// </summary>
public sealed partial class DocsNumbersTests
{
    [Fact]
    public void EveryMarkedNumberIsInItsFiles()
    {
        int marked = 0;
        var missing = new List<string>();
        foreach (var doc in DocsTablesTests.Documents)
        {
            string path = Path.Combine(TestPaths.Root, doc);
            foreach (var (text, files, line) in MarkedUnits(File.ReadAllText(path)))
            {
                marked++;
                missing.AddRange(Unfound(text, files.Select(f => f.StartsWith("settings=") ? f : Path.Combine(Path.GetDirectoryName(path)!, f))).Select(n => $"{doc}:{line}: {n} is in none of {string.Join(", ", files)}"));
            }
        }
        Assert.True(marked > 0, "no marked numbers found in the docs");
        Assert.True(missing.Count == 0, "numbers in the docs that their files do not hold:\n" + string.Join("\n", missing));
    }

    [Fact]
    public void ANumberItsFileDoesNotHoldIsFound()
    {
        var dir = TestPaths.NewTempDir();
        File.WriteAllText(Path.Combine(dir, "r.csv"), "method,nfe,mse,kid,robust\nBCM,4,0.002257,0.01641,0.676\n");
        Assert.Empty(Unfound("MSE 0.0023 and 0.00226, KID 16.4 ×10³, robust 67.6 %, at 4 NFE, in `runs/v1.5` ([report](r/1.7.md)).", [dir]));
        Assert.Equal(["0.0024"], Unfound("MSE 0.0024.", [dir]));                        // a wrong digit
        Assert.Equal(["0.0022"], Unfound("MSE 0.0022", [Path.Combine(dir, "r.csv")])); // truncated, not rounded
        Assert.Equal(["1.7", "2.0"], Unfound("gains of 1.7 / 2.0 dB and 67.6 %", [dir]));
        Assert.Equal(["67.6"], Unfound("MSE 0.00226, robust 67.6 %", [Path.Combine(dir, "r.csv") + ":mse,kid"])); // only the columns named
    }

    /// <summary>The decimal numbers of <paramref name="text"/> that none of <paramref name="sources"/> holds at the precision written.</summary>
    private static List<string> Unfound(string text, IEnumerable<string> sources)
    {
        var values = sources.SelectMany(ValuesOf).Select(Math.Abs).Where(double.IsFinite).ToArray();
        string checkedText = LinkTarget().Replace(CodeSpan().Replace(text, " "), "]");
        return Decimal().Matches(checkedText).Select(m => m.Value).Where(shown =>
        {
            double s = double.Parse(shown, CultureInfo.InvariantCulture);
            int digits = shown.Length - shown.IndexOf('.') - 1;
            return !values.Any(v => new[] { 1.0, 100, 1000 }.Any(k => Math.Abs(Math.Round(v * k, digits, MidpointRounding.AwayFromZero) - s) < 1e-9 * Math.Max(1, s)));
        }).ToList();
    }

    /// <summary>
    /// The numbers a source holds: FILE (every number in it), FOLDER (every number in its CSV, JSON and Markdown
    /// files), FILE.csv:COL,COL (those columns), FILE.json:KEY,KEY (every number under a property of that name), or
    /// settings=V,V: values the text states as settings of the measurement (a start noise, a step), not as results.
    /// </summary>
    private static IEnumerable<double> ValuesOf(string source)
    {
        if (source.StartsWith("settings=")) return NumbersIn(source["settings=".Length..]);
        int colon = source.LastIndexOf(':');
        string path = colon > 1 ? source[..colon] : source;
        var keys = colon > 1 ? source[(colon + 1)..].Split(',') : null;
        if (Directory.Exists(path) && keys is null)
            return Directory.EnumerateFiles(path).Where(f => f.EndsWith(".csv") || f.EndsWith(".json") || f.EndsWith(".md")).Order().SelectMany(ValuesOf);
        if (!File.Exists(path)) throw new FileNotFoundException($"a numbers marker names {source}, which does not exist");
        if (keys is null) return NumbersIn(File.ReadAllText(path));
        if (path.EndsWith(".csv"))
        {
            var rows = IO.CsvTable.Read(path);
            var absent = keys.Where(k => !rows[0].ContainsKey(k)).ToList();
            if (absent.Count > 0) throw new InvalidDataException($"{path} has no column {string.Join(", ", absent)}");
            return rows.SelectMany(r => keys.SelectMany(k => NumbersIn(r[k])));
        }
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(path));
        var found = new List<double>();
        void Walk(System.Text.Json.JsonElement e, bool under)
        {
            if (e.ValueKind == System.Text.Json.JsonValueKind.Number && under) found.Add(e.GetDouble());
            else if (e.ValueKind == System.Text.Json.JsonValueKind.Object) foreach (var p in e.EnumerateObject()) Walk(p.Value, under || keys.Contains(p.Name));
            else if (e.ValueKind == System.Text.Json.JsonValueKind.Array) foreach (var x in e.EnumerateArray()) Walk(x, under);
        }
        Walk(doc.RootElement, false);
        if (found.Count == 0) throw new InvalidDataException($"{path} has no number under {string.Join(", ", keys)}");
        return found;
    }

    private static IEnumerable<double> NumbersIn(string text) => Number().Matches(text).Select(m => double.Parse(m.Value, CultureInfo.InvariantCulture));

    /// <summary>Each marked unit: the table row holding the marker, or the paragraph holding it; its files; its first line's number.</summary>
    private static IEnumerable<(string Text, string[] Files, int Line)> MarkedUnits(string document)
    {
        var lines = document.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            var marker = Marker().Match(lines[i]);
            if (!marker.Success) continue;
            var files = marker.Groups["files"].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (lines[i].TrimStart().StartsWith('|')) { yield return (Marker().Replace(lines[i], " "), files, i + 1); continue; }
            int first = i, last = i;
            while (first > 0 && lines[first - 1].Trim().Length > 0) first--;
            while (last + 1 < lines.Length && lines[last + 1].Trim().Length > 0) last++;
            yield return (Marker().Replace(string.Join('\n', lines[first..(last + 1)]), " "), files, first + 1);
        }
    }

    [GeneratedRegex(@"<!--\s*numbers:(?<files>[^>]*?)-->")]
    private static partial Regex Marker();

    [GeneratedRegex(@"[-+]?\d+(\.\d+)?([eE][-+]?\d+)?")]
    private static partial Regex Number();

    [GeneratedRegex(@"(?<![\w.])\d+\.\d+(?!\.\d)(?!\w)")]
    private static partial Regex Decimal();

    [GeneratedRegex(@"`[^`]*`")]
    private static partial Regex CodeSpan();

    [GeneratedRegex(@"\]\([^)]*\)")]
    private static partial Regex LinkTarget();
}
