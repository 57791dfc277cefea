using System.Globalization;

namespace Bcm.Imaging;

/// <summary>One line or point series of a <see cref="Plot"/>.</summary>
public sealed record Series(string Name, double[] X, double[] Y, bool Line = true, bool Markers = true, float MarkerSize = 3.5f, int? Color = null)
{
    /// <summary>Unconnected points from 2-D vectors stored row-major (x₁, y₁, x₂, y₂, …): a scatter plot.</summary>
    public static Series Points(double[] xy, float markerSize, string name = "") =>
        new(name, xy.Where((_, i) => i % 2 == 0).ToArray(), xy.Where((_, i) => i % 2 == 1).ToArray(), Line: false, MarkerSize: markerSize);
}

/// <summary>
/// PNG charts for reports, drawn by ScottPlot 5 (on the same SkiaSharp as the rest of the library): line and point
/// series with optional log axes (labelled decades, or 1-2-5 steps when the range is short), heat maps with a colour
/// bar, and panels of several plots in one image. The raw numbers always go beside them as CSV/JSON.
/// </summary>
public sealed class Plot
{
    private static readonly string[] Palette = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"];

    /// <summary>Title above the plot.</summary>
    public string Title { get; init; } = "";
    /// <summary>Label of the horizontal axis.</summary>
    public string XLabel { get; init; } = "";
    /// <summary>Label of the vertical axis.</summary>
    public string YLabel { get; init; } = "";
    /// <summary>A log-scaled horizontal axis (non-positive values are left out).</summary>
    public bool LogX { get; init; }
    /// <summary>A log-scaled vertical axis (non-positive values are left out).</summary>
    public bool LogY { get; init; }
    /// <summary>Fixed axis limits (null: from the data).</summary>
    public (double Min, double Max)? XRange { get; init; }
    /// <summary>Fixed axis limits (null: from the data).</summary>
    public (double Min, double Max)? YRange { get; init; }
    /// <summary>One unit is as long on both axes (for 2-D samples).</summary>
    public bool EqualAspect { get; init; }
    /// <summary>The series, drawn in order.</summary>
    public List<Series> Series { get; } = [];

    /// <summary>Adds a series; returns this plot.</summary>
    public Plot Add(Series series)
    {
        Series.Add(series);
        return this;
    }

    /// <summary>Writes the plot as a PNG, atomically.</summary>
    public void Save(string path, int width = 720, int height = 460)
    {
        using var plot = Build();
        IO.AtomicFile.WriteAllBytes(path, plot.GetImageBytes(width, height, ScottPlot.ImageFormat.Png));
    }

    /// <summary>Writes several plots as panels of one PNG, <paramref name="columns"/> to a row, atomically.</summary>
    public static void SavePanels(IReadOnlyList<Plot> panels, string path, int columns = 2, int panelWidth = 560, int panelHeight = 340)
    {
        if (panels.Count == 0) throw new ArgumentException("no panels to draw");
        int rows = (panels.Count + columns - 1) / columns;
        var multiplot = new ScottPlot.Multiplot();
        while (multiplot.Subplots.Count > 0) multiplot.Subplots.RemoveAt(0);
        var built = panels.Select(p => p.Build()).ToList();
        foreach (var plot in built) multiplot.Subplots.Add(plot);
        multiplot.Layout = new ScottPlot.MultiplotLayouts.Grid(rows, columns);
        int width = columns * panelWidth, height = rows * panelHeight;
        using var surface = SkiaSharp.SKSurface.Create(new SkiaSharp.SKImageInfo(width, height));
        surface.Canvas.Clear(SkiaSharp.SKColors.White);
        multiplot.Render(surface.Canvas, new ScottPlot.PixelRect(0, width, height, 0));
        using var image = surface.Snapshot();
        using var png = image.Encode(SkiaSharp.SKEncodedImageFormat.Png, 100);
        IO.AtomicFile.WriteAllBytes(path, png.ToArray());
        foreach (var plot in built) plot.Dispose(); // their Skia objects freed here, not by finalizers
    }

    private ScottPlot.Plot Build()
    {
        var plt = new ScottPlot.Plot();
        plt.Title(Title, size: 13);
        plt.XLabel(XLabel, size: 12);
        plt.YLabel(YLabel, size: 12);
        for (int i = 0; i < Series.Count; i++)
        {
            var s = Series[i];
            var points = Drawn(s);
            if (points.Length == 0) continue;
            var scatter = plt.Add.Scatter(points.Select(p => p.X).ToArray(), points.Select(p => p.Y).ToArray());
            scatter.Color = ScottPlot.Color.FromHex(s.Color is int c ? $"#{c & 0xFFFFFF:x6}" : Palette[i % Palette.Length]);
            scatter.LineWidth = s.Line ? 1.5f : 0; // a point series shows its marker alone in the legend
            scatter.MarkerSize = s.Markers ? 2 * s.MarkerSize : 0;
            scatter.MarkerShape = s.Markers ? ScottPlot.MarkerShape.FilledCircle : ScottPlot.MarkerShape.None;
            scatter.LegendText = s.Name;
        }
        // The legend stands in the corner the series cross least, so that it hides no curve's end where one can be avoided.
        if (Series.Any(s => s.Name.Length > 0)) plt.ShowLegend(LegendCorner());
        if (LogX) plt.Axes.Bottom.TickGenerator = LogTicks(Series.SelectMany(s => s.X), XRange);
        if (LogY) plt.Axes.Left.TickGenerator = LogTicks(Series.SelectMany(s => s.Y), YRange);
        if (XRange is var (x0, x1)) plt.Axes.SetLimitsX(T(x0, LogX), T(x1, LogX));
        if (YRange is var (y0, y1)) plt.Axes.SetLimitsY(T(y0, LogY), T(y1, LogY));
        if (EqualAspect) plt.Axes.SquareUnits();
        return plt;
    }

    // The inside corners a legend may take, in order of preference when several are equally free (ScottPlot's default
    // first, so that a plot with that corner free looks as it always did).
    private static readonly ScottPlot.Alignment[] Corners =
        [ScottPlot.Alignment.LowerRight, ScottPlot.Alignment.UpperRight, ScottPlot.Alignment.LowerLeft, ScottPlot.Alignment.UpperLeft];

    /// <summary>
    /// The corner of the data area that the series cross least, like matplotlib's <c>loc="best"</c>: points and lines
    /// (sampled along each segment) are counted, on the axes as drawn (log or linear, fixed ranges or the data's), in a
    /// box of 40 % of the width and 35 % of the height at each corner, about the size of a legend of a few entries.
    /// </summary>
    internal ScottPlot.Alignment LegendCorner()
    {
        var drawn = Series.Select(s => (s.Line, Points: Drawn(s))).Where(s => s.Points.Length > 0).ToList();
        if (drawn.Count == 0) return Corners[0];
        var all = drawn.SelectMany(s => s.Points).ToList();
        (double lo, double hi) Span((double, double)? range, bool log, IEnumerable<double> values) =>
            range is var (a, b) ? (T(a, log), T(b, log)) : (values.Min(), values.Max());
        var (x0, x1) = Span(XRange, LogX, all.Select(p => p.X));
        var (y0, y1) = Span(YRange, LogY, all.Select(p => p.Y));
        double W(double x) => x1 > x0 ? (x - x0) / (x1 - x0) : 0.5;
        double H(double y) => y1 > y0 ? (y - y0) / (y1 - y0) : 0.5;
        var samples = new List<(double X, double Y)>();
        foreach (var (line, points) in drawn)
        {
            samples.AddRange(points.Select(p => (W(p.X), H(p.Y))));
            if (!line) continue;
            for (int i = 1; i < points.Length; i++)
                for (int k = 1; k < 16; k++)
                    samples.Add((W(points[i - 1].X + (points[i].X - points[i - 1].X) * k / 16.0), H(points[i - 1].Y + (points[i].Y - points[i - 1].Y) * k / 16.0)));
        }
        int Crossings(ScottPlot.Alignment corner)
        {
            bool right = corner is ScottPlot.Alignment.LowerRight or ScottPlot.Alignment.UpperRight;
            bool upper = corner is ScottPlot.Alignment.UpperRight or ScottPlot.Alignment.UpperLeft;
            return samples.Count(p => (right ? p.X >= 0.6 : p.X <= 0.4) && (upper ? p.Y >= 0.65 : p.Y <= 0.35));
        }
        return Corners.MinBy(Crossings); // the first of the least crossed
    }

    // A series' points as drawn: those the axes can show, in the axes' coordinates (log10 on a log axis).
    private (double X, double Y)[] Drawn(Series s) =>
        s.X.Zip(s.Y).Where(p => Valid(p.First, LogX) && Valid(p.Second, LogY)).Select(p => (T(p.First, LogX), T(p.Second, LogY))).ToArray();

    // Ticks of a log axis (the data are drawn as log10): every decade when the data span three or more, 1-2-5 steps
    // when less, and every integer multiple when even those give fewer than three labels.
    private static ScottPlot.TickGenerators.NumericManual LogTicks(IEnumerable<double> values, (double Min, double Max)? range)
    {
        var valid = values.Where(v => Valid(v, true)).ToList();
        double lo = range?.Min ?? (valid.Count > 0 ? valid.Min() : 1), hi = range?.Max ?? (valid.Count > 0 ? valid.Max() : 10);
        int a = (int)Math.Floor(Math.Log10(lo)), b = (int)Math.Ceiling(Math.Log10(hi));
        List<double> Candidates(double[] mantissas) =>
            Enumerable.Range(a, b - a + 1).SelectMany(e => mantissas.Select(m => m * Math.Pow(10, e))).Where(v => v >= lo * 0.999 && v <= hi * 1.001).ToList();
        var ticks = Candidates(b - a >= 3 ? [1.0] : [1.0, 2, 5]);
        if (ticks.Count < 3) ticks = Candidates([1.0, 2, 3, 4, 5, 6, 7, 8, 9]);
        if (ticks.Count < 2) ticks = [lo, hi];
        var generator = new ScottPlot.TickGenerators.NumericManual();
        foreach (var v in ticks) generator.AddMajor(Math.Log10(v), Label(v));
        for (int e = a; e <= b; e++)
            for (int m = 1; m <= 9; m++)
                if (m * Math.Pow(10, e) is double v && v >= lo && v <= hi && !ticks.Any(t => Math.Abs(t - v) <= 1e-9 * v))
                    generator.AddMinor(Math.Log10(v));
        return generator;
    }

    /// <summary>
    /// A heat map of <paramref name="values"/>[row, column] (NaN cells grey), each cell labelled with its value, with a
    /// colour bar; colours on a log10 scale when <paramref name="log10"/>.
    /// </summary>
    public static void Heatmap(double[,] values, string[] rowLabels, string[] columnLabels, string title, string rowTitle, string columnTitle,
        string path, bool log10 = true, string format = "G2")
    {
        int rows = values.GetLength(0), cols = values.GetLength(1);
        var shown = new double[rows, cols];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                shown[r, c] = Valid(values[r, c], log10) ? T(values[r, c], log10) : double.NaN;
        using var plt = new ScottPlot.Plot();
        var map = plt.Add.Heatmap(shown);
        map.Colormap = new ScottPlot.Colormaps.Viridis();
        map.NaNCellColor = ScottPlot.Color.FromHex("#dddddd");
        map.Extent = new ScottPlot.CoordinateRect(0, cols, 0, rows);
        var finite = shown.Cast<double>().Where(double.IsFinite).DefaultIfEmpty(0).ToArray();
        double lo = finite.Min(), span = Math.Max(finite.Max() - lo, 1e-12);
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
            {
                if (double.IsNaN(shown[r, c])) continue;
                var label = plt.Add.Text(values[r, c].ToString(format, CultureInfo.InvariantCulture), c + 0.5, rows - r - 0.5);
                label.LabelAlignment = ScottPlot.Alignment.MiddleCenter;
                label.LabelFontSize = Math.Clamp(200f / Math.Max(rows, cols), 7, 12);
                label.LabelFontColor = (shown[r, c] - lo) / span > 0.6 ? ScottPlot.Colors.Black : ScottPlot.Colors.White; // readable on light and dark cells
            }
        var bar = plt.Add.ColorBar(map);
        bar.Label = log10 ? "log scale" : "";
        if (log10) bar.Axis.TickGenerator = LogTicks(values.Cast<double>(), null);
        var xTicks = new ScottPlot.TickGenerators.NumericManual();
        for (int c = 0; c < cols; c++) xTicks.AddMajor(c + 0.5, columnLabels[c]);
        var yTicks = new ScottPlot.TickGenerators.NumericManual();
        for (int r = 0; r < rows; r++) yTicks.AddMajor(rows - r - 0.5, rowLabels[r]);
        plt.Axes.Bottom.TickGenerator = xTicks;
        plt.Axes.Left.TickGenerator = yTicks;
        plt.Axes.SetLimits(0, cols, 0, rows);
        plt.Title(title, size: 13);
        plt.XLabel(columnTitle, size: 12);
        plt.YLabel(rowTitle, size: 12);
        int cell = Math.Clamp(560 / Math.Max(rows, cols), 26, 60);
        IO.AtomicFile.WriteAllBytes(path, plt.GetImageBytes(cols * cell + 220, rows * cell + 120, ScottPlot.ImageFormat.Png));
    }

    private static bool Valid(double v, bool log) => double.IsFinite(v) && (!log || v > 0);

    private static double T(double v, bool log) => log ? Math.Log10(v) : v;

    private static string Label(double v) => v.ToString(Math.Abs(v) >= 1e4 || (Math.Abs(v) < 1e-3 && v != 0) ? "0.#E0" : "0.###", CultureInfo.InvariantCulture);
}
