namespace Bcm.Imaging;

/// <summary>
/// Words drawn beside the rows of a grid picture in a small 5×7 pixel font of the letters they need, so that a picture
/// says which rows are which without depending on the fonts a machine has installed.
/// </summary>
public static class RowLabels
{
    private const int GlyphWidth = 5, GlyphHeight = 7, Advance = GlyphWidth + 1, Margin = 2;
    private const byte Ink = 220, Background = 64;

    // One string of 7 rows of 5 pixels per letter ('#' is ink).
    private static readonly Dictionary<char, string> Glyphs = new()
    {
        [' '] = ".....|.....|.....|.....|.....|.....|.....",
        ['a'] = ".....|.....|.###.|....#|.####|#...#|.####",
        ['d'] = "....#|....#|.##.#|#..##|#...#|#...#|.####",
        ['g'] = ".....|.####|#...#|#...#|.####|....#|.###.",
        ['i'] = "..#..|.....|.##..|..#..|..#..|..#..|.###.",
        ['l'] = ".##..|..#..|..#..|..#..|..#..|..#..|.###.",
        ['n'] = ".....|.....|#.##.|##..#|#...#|#...#|#...#",
        ['o'] = ".....|.....|.###.|#...#|#...#|#...#|.###.",
        ['p'] = ".....|####.|#...#|#...#|####.|#....|#....",
        ['r'] = ".....|.....|#.##.|##..#|#....|#....|#....",
        ['t'] = ".#...|.#...|###..|.#...|.#...|.#..#|..##.",
        ['u'] = ".....|.....|#...#|#...#|#...#|#..##|.##.#",
    };

    /// <summary>The width in pixels of the column that holds <paramref name="labels"/>.</summary>
    public static int ColumnWidth(IEnumerable<string> labels) => Margin + labels.Max(l => l.Length) * Advance + Margin;

    /// <summary>
    /// A new RGBA picture: <paramref name="rgba"/> (<paramref name="width"/>×<paramref name="height"/>) with a column on its
    /// left in which row r, spanning pixels [tops[r], tops[r] + rowHeight), is labelled labels[r % labels.Count].
    /// </summary>
    /// <exception cref="ArgumentException">A label uses a letter the font lacks.</exception>
    public static byte[] Add(byte[] rgba, int width, int height, IReadOnlyList<int> tops, int rowHeight, IReadOnlyList<string> labels, out int newWidth)
    {
        foreach (var c in labels.SelectMany(l => l).Distinct())
            if (!Glyphs.ContainsKey(c)) throw new ArgumentException($"row labels: no glyph for '{c}'");
        int column = ColumnWidth(labels);
        newWidth = width + column;
        var result = new byte[newWidth * height * 4];
        for (int i = 0; i < result.Length; i += 4) { result[i] = result[i + 1] = result[i + 2] = Background; result[i + 3] = 255; }
        for (int y = 0; y < height; y++) Array.Copy(rgba, y * width * 4, result, (y * newWidth + column) * 4, width * 4);
        if (rowHeight < GlyphHeight) return result; // rows too small for the font: the picture without words
        for (int r = 0; r < tops.Count; r++)
        {
            string label = labels[r % labels.Count];
            int y0 = tops[r] + (rowHeight - GlyphHeight) / 2;
            for (int k = 0; k < label.Length; k++)
            {
                var rows = Glyphs[label[k]].Split('|');
                for (int gy = 0; gy < GlyphHeight; gy++)
                    for (int gx = 0; gx < GlyphWidth; gx++)
                        if (rows[gy][gx] == '#')
                        {
                            int p = ((y0 + gy) * newWidth + Margin + k * Advance + gx) * 4;
                            result[p] = result[p + 1] = result[p + 2] = Ink;
                        }
            }
        }
        return result;
    }
}
