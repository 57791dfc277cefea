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

    /// <summary>The largest CSV file <see cref="Read"/> accepts (the tables bcm writes are a few kilobytes).</summary>
    public const long MaxReadBytes = 16 << 20;

    /// <summary>
    /// Reads a CSV file as bcm writes it (a header line, then rows of as many cells; cells optionally quoted, quotes
    /// doubled inside; no line breaks inside cells): one dictionary per row from column name to cell text. Throws
    /// <see cref="InvalidDataException"/> naming the file and line for anything else.
    /// </summary>
    public static List<Dictionary<string, string>> Read(string path)
    {
        // Counted on the bytes read, not the length the file system reports (0 for a device).
        var lines = InputFile.ReadAllText(path, MaxReadBytes, "table (CSV)").Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
        if (lines.Length > 0 && lines[^1].Length == 0) lines = lines[..^1];
        if (lines.Length == 0) throw new InvalidDataException($"{path}: empty, expected a header line");
        var header = Split(lines[0], path, 1);
        if (header.Distinct(StringComparer.Ordinal).Count() != header.Count) throw new InvalidDataException($"{path}: a column name appears twice in the header");
        var rows = new List<Dictionary<string, string>>();
        for (int i = 1; i < lines.Length; i++)
        {
            if (lines[i].Length == 0) continue;
            var cells = Split(lines[i], path, i + 1);
            if (cells.Count != header.Count) throw new InvalidDataException($"{path}, line {i + 1}: {cells.Count} cells under a header of {header.Count}");
            rows.Add(header.Zip(cells).ToDictionary(p => p.First, p => p.Second, StringComparer.Ordinal));
        }
        return rows;
    }

    private static List<string> Split(string line, string path, int lineNumber)
    {
        var cells = new List<string>();
        var cell = new StringBuilder();
        int i = 0;
        while (true)
        {
            cell.Clear();
            if (i < line.Length && line[i] == '"')
            {
                for (i++; ; i++)
                {
                    if (i >= line.Length) throw new InvalidDataException($"{path}, line {lineNumber}: a quoted cell is not closed");
                    if (line[i] != '"') cell.Append(line[i]);
                    else if (i + 1 < line.Length && line[i + 1] == '"') cell.Append(line[++i]);
                    else { i++; break; }
                }
                if (i < line.Length && line[i] != ',') throw new InvalidDataException($"{path}, line {lineNumber}: text after a quoted cell");
            }
            else
            {
                int end = line.IndexOf(',', i);
                if (end < 0) end = line.Length;
                string raw = line[i..end];
                if (raw.Contains('"')) throw new InvalidDataException($"{path}, line {lineNumber}: a quote inside an unquoted cell");
                cell.Append(raw);
                i = end;
            }
            cells.Add(cell.ToString());
            if (i >= line.Length) return cells;
            i++; // the comma
        }
    }
}
