using System.Globalization;
using System.Text;
using Bcm.IO;

namespace Bcm.Reports;

/// <summary>
/// One column of a report's table: its CSV header and value, its Markdown header and cell. Written once, so the CSV and
/// the Markdown of a report cannot drift apart.
/// </summary>
/// <typeparam name="T">The report's row type.</typeparam>
/// <param name="Csv">The CSV header (null: not in the CSV).</param>
/// <param name="Value">The CSV value (numbers in the table's number format, text quoted).</param>
/// <param name="Markdown">The Markdown header (null: not in the Markdown table).</param>
/// <param name="Cell">The Markdown cell.</param>
public sealed record Column<T>(string? Csv, Func<T, object?> Value, string? Markdown, Func<T, string> Cell)
{
    /// <summary>A column whose Markdown cell is its value in <paramref name="format"/> (NaN as —).</summary>
    public static Column<T> Of(string? csv, string? markdown, Func<T, object?> value, string? format = null) =>
        new(csv, value, markdown, row => ReportTable.Cell(value(row), format));
}

/// <summary>
/// The one writer of a report's rows: the same columns to <c>NAME.csv</c> (<see cref="CsvTable"/>) and to a Markdown
/// table, for the CLI, the studio and a library user alike.
/// </summary>
/// <typeparam name="T">The row type.</typeparam>
/// <param name="columns">The columns, in order.</param>
/// <param name="csvNumberFormat">The CSV's number format (e.g. G5).</param>
public sealed class ReportTable<T>(IReadOnlyList<Column<T>> columns, string csvNumberFormat = "G5")
{
    /// <summary>Writes the rows as CSV to <paramref name="path"/> (atomically).</summary>
    public void WriteCsv(IEnumerable<T> rows, string path)
    {
        var inCsv = columns.Where(c => c.Csv is not null).ToList();
        var csv = new CsvTable(inCsv.Select(c => c.Csv!).ToArray(), csvNumberFormat);
        foreach (var row in rows) csv.Row(inCsv.Select(c => c.Value(row)).ToArray());
        csv.Write(path);
    }

    private IEnumerable<Column<T>> InMarkdown => columns.Where(c => c.Markdown is not null);

    /// <summary>The rows as a Markdown table (header, separator, one line a row), each line ending in a newline.</summary>
    public string Markdown(IEnumerable<T> rows)
    {
        var md = new StringBuilder(Header());
        foreach (var row in rows) md.AppendLine(Line(row));
        return md.ToString();
    }

    /// <summary>The Markdown table's header and separator lines (each ending in a newline), for a table printed a row at a time.</summary>
    public string Header() =>
        $"| {string.Join(" | ", InMarkdown.Select(c => c.Markdown))} |\n|{string.Concat(InMarkdown.Select(_ => "---|"))}\n";

    /// <summary>One row of the Markdown table (no newline).</summary>
    public string Line(T row) => $"| {string.Join(" | ", InMarkdown.Select(c => c.Cell(row)))} |";
}

/// <summary>Cell formatting shared by the report tables.</summary>
public static class ReportTable
{
    /// <summary>A value as a Markdown cell: numbers in <paramref name="format"/> (invariant culture; NaN as —), anything else as text.</summary>
    public static string Cell(object? value, string? format = null) => value switch
    {
        null => "—",
        double d when double.IsNaN(d) => "—",
        IFormattable f => f.ToString(format, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}
