using System.Globalization;
using System.Text;

namespace Bcm.IO;

/// <summary>
/// A CSV file built row by row and written atomically: text cells are always quoted (quotes doubled), numbers are
/// written in the invariant culture with <paramref name="numberFormat"/>, integers as they are.
/// </summary>
public sealed class CsvTable(IReadOnlyList<string> header, string numberFormat = "G4")
{
    private readonly StringBuilder text = new(string.Join(",", header.Select(h => h.Contains(',') || h.Contains('"') ? Quote(h) : h)) + "\n");

    /// <summary>Appends a row of one cell per column (null cells are left empty); returns this table.</summary>
    public CsvTable Row(params object?[] cells)
    {
        if (cells.Length != header.Count) throw new ArgumentException($"a row of {cells.Length} cells in a table of {header.Count} columns");
        text.AppendLine(string.Join(",", cells.Select(Cell)));
        return this;
    }

    private string Cell(object? cell) => cell switch
    {
        null => "", // a value not measured (e.g. a spread without enough samples)
        string s => Quote(s),
        double d => d.ToString(numberFormat, CultureInfo.InvariantCulture),
        float f => f.ToString(numberFormat, CultureInfo.InvariantCulture),
        IFormattable i => i.ToString(null, CultureInfo.InvariantCulture),
        _ => Quote(cell.ToString() ?? ""),
    };

    private static string Quote(string s) => "\"" + s.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    /// <summary>The CSV text so far.</summary>
    public override string ToString() => text.ToString();

    /// <summary>Writes the table to <paramref name="path"/>, atomically.</summary>
    public void Write(string path) => AtomicFile.WriteAllText(path, text.ToString());
}
