using Bcm.Imaging;
using Xunit;
using static TorchSharp.torch;

namespace Bcm.Tests;

/// <summary>The round-trip grid says which rows are which: "original" and "round trip" drawn in its left column.</summary>
public sealed class RowLabelTests
{
    [Fact]
    public void TheRoundTripGridLabelsEachRowAndKeepsTheImages()
    {
        using var originals = ones(10, 1, 8, 8).mul(-1);   // black
        using var recons = ones(10, 1, 8, 8);               // white
        string path = Path.Combine(TestPaths.NewTempDir(), "pairs.png");
        ImageIO.SavePairs(originals, recons, path, perRow: 5);
        var rgba = ImageIO.ReadRgba(path, out int width, out int height);
        int column = RowLabels.ColumnWidth(ImageIO.PairLabels), gridWidth = 5 * 9 + 1, gridHeight = 4 * 9 + 1;
        int scale = height / gridHeight;
        Assert.Equal(gridHeight * scale, height);
        Assert.Equal((column + gridWidth) * scale, width);
        byte Grey(int x, int y) => rgba[((y * scale + scale / 2) * width + x * scale + scale / 2) * 4];
        // Ink in the label column of every row band, and the same word on rows of the same kind.
        for (int row = 0; row < 4; row++)
        {
            var band = Enumerable.Range(1 + row * 9, 8).SelectMany(y => Enumerable.Range(0, column).Select(x => Grey(x, y))).ToArray();
            Assert.Contains(band, v => v > 200);
            var twoRowsOn = Enumerable.Range(1 + (row + 2) % 4 * 9, 8).SelectMany(y => Enumerable.Range(0, column).Select(x => Grey(x, y))).ToArray();
            Assert.Equal(band, twoRowsOn);
        }
        var firstOriginal = Enumerable.Range(1, 8).SelectMany(y => Enumerable.Range(0, column).Select(x => Grey(x, y))).ToArray();
        var firstRoundTrip = Enumerable.Range(10, 8).SelectMany(y => Enumerable.Range(0, column).Select(x => Grey(x, y))).ToArray();
        Assert.NotEqual(firstOriginal, firstRoundTrip); // two different words
        // The images themselves: originals black, round trips white, right of the column.
        Assert.Equal(0, Grey(column + 1 + 3, 1 + 3));
        Assert.Equal(255, Grey(column + 1 + 3, 10 + 3));
        Assert.Throws<ArgumentException>(() => RowLabels.Add(new byte[4], 1, 1, [0], 8, ["X"], out _));

        // A short last row: its originals and reconstructions keep rows of their own (12 images, 8 a row: 4 rows).
        using var twelve = ones(12, 1, 8, 8);
        ImageIO.SavePairs(twelve, twelve, path);
        ImageIO.ReadRgba(path, out _, out int h12);
        Assert.Equal(0, h12 % (4 * 9 + 1));
    }
}
