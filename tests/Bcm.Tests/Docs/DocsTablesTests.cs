using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Xunit;

namespace Bcm.Tests;

/// <summary>
/// Tables in the docs that are made from committed result files, and fail here when they differ from them. A table is
/// marked in the Markdown by a comment that says how it is made, and ends at the next <c>&lt;!-- end table --&gt;</c>:
/// <code>
/// &lt;!-- table: nfe METRIC FILE.csv nfe=1,2,3 --&gt;
/// </code>
/// makes a table of METRIC (a column of a <c>bcm eval</c> generation.csv or inversion.csv) with one row per NFE and one
/// column per method family (the BCM's best plan at that NFE, named; each baseline solver); <c>report FILE.md</c> is
/// the first table of a report a bcm command wrote beside its CSV; <c>zigzag FILE.csv rounds=…</c> and
/// <c>throughput FOLDER</c> are the zigzag study's and the MPI benchmark's tables. Run with
/// <c>BCM_UPDATE_DOCS=1</c> to rewrite the tables from their files after a new measurement.
/// </summary>
public sealed partial class DocsTablesTests
{
    /// <summary>The documents whose numbers are checked against files (here and by <see cref="DocsNumbersTests"/>).</summary>
    internal static readonly string[] Documents = ["README.md", "docs/results.md", "docs/guides/results-overview.md", "docs/mnist/README.md", "docs/guides/features.md"];

    [Fact]
    public void EveryMarkedTableEqualsItsFile()
    {
        bool update = Environment.GetEnvironmentVariable("BCM_UPDATE_DOCS") is "1";
        int tables = 0;
        var stale = new List<string>();
        foreach (var doc in Documents)
        {
            string path = Path.Combine(TestPaths.Root, doc), text = File.ReadAllText(path);
            string made = Marked().Replace(text, m =>
            {
                tables++;
                string table = Make(m.Groups["spec"].Value.Trim(), Path.GetDirectoryName(path)!);
                if (m.Groups["table"].Value != table) stale.Add($"{doc}: the table '{m.Groups["spec"].Value.Trim()}'");
                return m.Groups["head"].Value + table + m.Groups["end"].Value;
            });
            if (update && made != text) File.WriteAllText(path, made);
        }
        Assert.True(tables > 0, "no marked table found in the docs");
        Assert.True(update || stale.Count == 0, "tables that differ from their files (BCM_UPDATE_DOCS=1 rewrites them):\n" + string.Join("\n", stale));
    }

    [Fact]
    public void AChangedNumberInATableIsFound()
    {
        var dir = TestPaths.NewTempDir();
        File.WriteAllText(Path.Combine(dir, "generation.csv"),
            "method,family,nfe,mmd2\n\"BCM onestep\",Bcm,1,0.5\n\"BCM ancestral2\",Bcm,2,0.25\n\"EDM Euler\",EdmEuler,1,2\n\"EDM Euler\",EdmEuler,2,1.5\n");
        string table = Make("nfe mmd2 generation.csv nfe=1,2", dir);
        Assert.Equal("| NFE | BCM (best plan) | EDM, Euler |\n|---|---|---|\n| 1 | 0.5 `onestep` | 2 |\n| 2 | 0.25 `ancestral2` | 1.5 |\n", table);
        Assert.NotEqual(table, Make("nfe mmd2 generation.csv nfe=1,2", WithChangedCell(dir)));
    }

    private static string WithChangedCell(string dir)
    {
        var other = TestPaths.NewTempDir();
        File.WriteAllText(Path.Combine(other, "generation.csv"), File.ReadAllText(Path.Combine(dir, "generation.csv")).Replace(",0.25\n", ",0.26\n"));
        return other;
    }

    // The families of a table's columns, in order, and their headers.
    private static readonly (string Family, string Header)[] Families =
        [("Bcm", "BCM (best plan)"), ("EdmBaseline", "EDM, Heun"), ("EdmEuler", "EDM, Euler"), ("EdmDpmSolver2M", "EDM, DPM-Solver++(2M)")];

    /// <summary>The table a marker's specification makes, from files relative to <paramref name="baseDir"/>.</summary>
    private static string Make(string spec, string baseDir)
    {
        var words = spec.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (words is ["throughput", var folder]) return Throughput(Path.Combine(baseDir, folder));
        if (words is ["report", var reportFile]) return ReportTableOf(Path.Combine(baseDir, reportFile));
        if (words is ["zigzag", var csv, var roundList]) return Zigzag(Path.Combine(baseDir, csv), roundList["rounds=".Length..].Split(',').ToHashSet());
        if (words is not ["nfe", var metric, var file, var nfeList]) throw new InvalidDataException($"table spec '{spec}': expected 'nfe METRIC FILE nfe=LIST' or 'throughput FOLDER'");
        var rows = IO.CsvTable.Read(Path.Combine(baseDir, file));
        int[] nfes = nfeList["nfe=".Length..].Split(',').Select(v => int.Parse(v, CultureInfo.InvariantCulture)).ToArray();
        string nfeColumn = rows[0].ContainsKey("nfe") ? "nfe" : "inversion_nfe";
        var present = Families.Where(f => rows.Any(r => r["family"] == f.Family)).ToList();
        var md = new StringBuilder($"| NFE | {string.Join(" | ", present.Select(f => f.Header))} |\n|---|{string.Concat(present.Select(_ => "---|"))}\n");
        foreach (int n in nfes)
        {
            var cells = present.Select(f =>
            {
                var at = rows.Where(r => r["family"] == f.Family && r[nfeColumn] == n.ToString(CultureInfo.InvariantCulture)).ToList();
                if (at.Count == 0) return "—";
                var best = at.MinBy(r => double.Parse(r[metric], CultureInfo.InvariantCulture))!;
                return f.Family == "Bcm" ? $"{best[metric]} `{PlanName(best["method"])}`" : best[metric];
            });
            md.Append($"| {n} | {string.Join(" | ", cells)} |\n");
        }
        return md.ToString();
    }

    // The data-parallel throughput of docs/results.md §3 from the runs' stats.jsonl (docs/results/mpi-throughput/make.sh):
    // images/s over steps 21-60 (global batch 32 × 40 steps over the elapsed time between steps 20 and 60), the
    // all-reduce's mean and median over the same steps (tools/throughput_table.py computes the same).
    private static string Throughput(string folder)
    {
        var md = new StringBuilder("| processes × threads | images/s | ms per step | all-reduce per step |\n|---|---|---|---|\n");
        foreach (var (name, label) in new[] { ("1x1", "1 × 1"), ("1x2", "1 × 2"), ("2x1", "2 × 1"), ("2x1-barrier", "2 × 1, barrier before the all-reduce") })
        {
            var steps = File.ReadAllLines(Path.Combine(folder, name + ".stats.jsonl")).Where(l => l.Length > 0)
                .Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement).Where(e => e.TryGetProperty("elapsed_seconds", out _))
                .ToDictionary(e => e.GetProperty("step").GetInt32());
            double ips = 32.0 * 40 / (steps[60].GetProperty("elapsed_seconds").GetDouble() - steps[20].GetProperty("elapsed_seconds").GetDouble());
            var reduce = Enumerable.Range(21, 40).Where(steps.ContainsKey).Select(k => steps[k])
                .Where(e => e.TryGetProperty("all_reduce_seconds", out var v) && v.ValueKind == System.Text.Json.JsonValueKind.Number)
                .Select(e => 1000 * e.GetProperty("all_reduce_seconds").GetDouble()).Order().ToArray();
            string cell = reduce.Length == 0 ? "—"
                : $"{reduce.Average().ToString("F1", CultureInfo.InvariantCulture)} ms mean ({Median(reduce).ToString("F1", CultureInfo.InvariantCulture)} ms median)";
            md.Append(CultureInfo.InvariantCulture, $"| {label} | {ips:F1} | {1000 * 32 / ips:F0} | {cell} |\n");
        }
        return md.ToString();
    }

    // The per-sample zigzag study (ZigzagStudy's CSV) at the chosen rounds: median / 90th percentile of each distance.
    private static string Zigzag(string csv, HashSet<string> rounds)
    {
        string Pair(Dictionary<string, string> r, string name) => r[name + "_median"] is "NaN" ? "—" : $"{Short(r[name + "_median"])} / {Short(r[name + "_p90"])}";
        var md = new StringBuilder("| sampler | τ | round | NFE | to Φ(x_T) | to round 0 | jump up vs exact | jump down vs exact |\n|---|---|---|---|---|---|---|---|\n");
        foreach (var r in IO.CsvTable.Read(csv).Where(r => rounds.Contains(r["round"])))
            md.Append($"| {r["sampler"]} | {r["tau"]} | {r["round"]} | {r["nfe"]} | {Pair(r, "to_exact")} | {Pair(r, "to_start")} | {Pair(r, "inversion_error")} | {Pair(r, "generation_error")} |\n");
        return md.ToString();
    }

    // The first table of a report that a bcm command wrote beside its CSV (made from the same rows in the same run).
    private static string ReportTableOf(string markdown)
    {
        var lines = File.ReadAllLines(markdown).SkipWhile(l => !l.StartsWith('|')).TakeWhile(l => l.StartsWith('|'));
        return string.Concat(lines.Select(l => l + "\n"));
    }

    // Three significant digits of a CSV number, as the docs show it.
    private static string Short(string cell) => double.Parse(cell, CultureInfo.InvariantCulture).ToString("G3", CultureInfo.InvariantCulture);

    private static double Median(double[] sorted) => sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;

    // "BCM onestep" → onestep; "BCM invert2 + onestep" → invert2.
    private static string PlanName(string method) => method.Replace("BCM ", "").Replace(" + onestep", "");

    [GeneratedRegex(@"(?<head><!--\s*table:(?<spec>[^>]*?)-->\n)(?<table>.*?)(?<end><!--\s*end table\s*-->)", RegexOptions.Singleline)]
    private static partial Regex Marked();
}
