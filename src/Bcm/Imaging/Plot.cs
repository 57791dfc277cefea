using System.Globalization;
using SkiaSharp;

namespace Bcm.Imaging;

/// <summary>One line or point series of a <see cref="Plot"/>.</summary>
public sealed record Series(string Name, double[] X, double[] Y, bool Line = true, bool Markers = true, float MarkerSize = 3.5f, int? Color = null)
{
    /// <summary>Unconnected points from 2-D vectors stored row-major (x₁, y₁, x₂, y₂, …): a scatter plot.</summary>
    public static Series Points(double[] xy, float markerSize, string name = "") =>
        new(name, xy.Where((_, i) => i % 2 == 0).ToArray(), xy.Where((_, i) => i % 2 == 1).ToArray(), Line: false, MarkerSize: markerSize);
}

/// <summary>
/// Small PNG charts for reports, drawn with SkiaSharp: line/scatter plots with optional log axes, and heat maps.
/// Enough for NFE curves, error maps and 2-D samples; the raw numbers always go beside them as CSV/JSON.
/// </summary>
public sealed class Plot
{
    private static readonly SKColor[] Palette =
    [
        new(0x1f, 0x77, 0xb4), new(0xd6, 0x27, 0x28), new(0x2c, 0xa0, 0x2c), new(0xff, 0x7f, 0x0e),
        new(0x94, 0x67, 0xbd), new(0x8c, 0x56, 0x4b), new(0xe3, 0x77, 0xc2), new(0x7f, 0x7f, 0x7f),
    ];

    public string Title { get; init; } = "";
    public string XLabel { get; init; } = "";
    public string YLabel { get; init; } = "";
    public bool LogX { get; init; }
    public bool LogY { get; init; }
    /// <summary>Fixed axis limits (null: from the data).</summary>
    public (double Min, double Max)? XRange { get; init; }
    public (double Min, double Max)? YRange { get; init; }
    public bool EqualAspect { get; init; }
    public List<Series> Series { get; } = [];

    public Plot Add(Series series)
    {
        Series.Add(series);
        return this;
    }

    public void Save(string path, int width = 720, int height = 460)
    {
        using var surface = SKSurface.Create(new SKImageInfo(width, height));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        using var font = new SKFont(SKTypeface.Default, 13);
        using var small = new SKFont(SKTypeface.Default, 11);
        using var ink = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        var frame = Layout(width, height);
        DrawAxes(canvas, frame, width, height, font, small, ink);
        DrawSeries(canvas, frame);
        DrawLegend(canvas, frame, small, ink);
        Encode(surface, path);
    }

    /// <summary>The plot area in pixels and the data ranges it shows, with the maps from data to pixels.</summary>
    private sealed record Frame(float Left, float Right, float Top, float Bottom, double X0, double X1, double Y0, double Y1, bool LogX, bool LogY)
    {
        public float Px(double x) => Left + (float)((T(x, LogX) - T(X0, LogX)) / (T(X1, LogX) - T(X0, LogX))) * (Right - Left);
        public float Py(double y) => Bottom - (float)((T(y, LogY) - T(Y0, LogY)) / (T(Y1, LogY) - T(Y0, LogY))) * (Bottom - Top);
    }

    private Frame Layout(int width, int height)
    {
        float left = 70, right = width - 20, top = 34, bottom = height - 50;
        var points = Series.SelectMany(s => s.X.Zip(s.Y)).Where(p => Valid(p.First, LogX) && Valid(p.Second, LogY)).ToList();
        if (points.Count == 0) points.Add((1, 1));
        var (x0, x1) = XRange ?? Extent(points.Select(p => p.First), LogX);
        var (y0, y1) = YRange ?? Extent(points.Select(p => p.Second), LogY);
        if (EqualAspect)
        {
            double span = Math.Max(x1 - x0, y1 - y0);
            (x0, x1) = ((x0 + x1 - span) / 2, (x0 + x1 + span) / 2);
            (y0, y1) = ((y0 + y1 - span) / 2, (y0 + y1 + span) / 2);
            float side = Math.Min(right - left, bottom - top);
            right = left + side;
            bottom = top + side;
        }
        return new Frame(left, right, top, bottom, x0, x1, y0, y1, LogX, LogY);
    }

    private void DrawAxes(SKCanvas canvas, Frame f, int width, int height, SKFont font, SKFont small, SKPaint ink)
    {
        using var grid = new SKPaint { Color = new SKColor(0xe0, 0xe0, 0xe0), StrokeWidth = 1 };
        foreach (var x in Ticks(f.X0, f.X1, LogX))
        {
            canvas.DrawLine(f.Px(x), f.Top, f.Px(x), f.Bottom, grid);
            string label = Label(x);
            canvas.DrawText(label, f.Px(x) - small.MeasureText(label) / 2, f.Bottom + 15, SKTextAlign.Left, small, ink);
        }
        foreach (var y in Ticks(f.Y0, f.Y1, LogY))
        {
            canvas.DrawLine(f.Left, f.Py(y), f.Right, f.Py(y), grid);
            string label = Label(y);
            canvas.DrawText(label, f.Left - 6 - small.MeasureText(label), f.Py(y) + 4, SKTextAlign.Left, small, ink);
        }
        using (var border = new SKPaint { Color = SKColors.Black, Style = SKPaintStyle.Stroke, StrokeWidth = 1 })
            canvas.DrawRect(f.Left, f.Top, f.Right - f.Left, f.Bottom - f.Top, border);
        canvas.DrawText(Title, (width - font.MeasureText(Title)) / 2, 20, SKTextAlign.Left, font, ink);
        canvas.DrawText(XLabel, (f.Left + f.Right - font.MeasureText(XLabel)) / 2, height - 12, SKTextAlign.Left, font, ink);
        canvas.Save();
        canvas.RotateDegrees(-90);
        canvas.DrawText(YLabel, -(f.Top + f.Bottom + font.MeasureText(YLabel)) / 2, 16, SKTextAlign.Left, font, ink);
        canvas.Restore();
    }

    private void DrawSeries(SKCanvas canvas, Frame f)
    {
        canvas.Save();
        canvas.ClipRect(new SKRect(f.Left, f.Top, f.Right, f.Bottom));
        for (int i = 0; i < Series.Count; i++)
        {
            var s = Series[i];
            var colour = Palette[(s.Color ?? i) % Palette.Length];
            using var paint = new SKPaint { Color = colour, IsAntialias = true, StrokeWidth = 2, Style = SKPaintStyle.Stroke };
            using var dot = new SKPaint { Color = colour.WithAlpha(s.Line ? (byte)255 : (byte)140), IsAntialias = true, Style = SKPaintStyle.Fill };
            var pts = s.X.Zip(s.Y).Where(p => Valid(p.First, LogX) && Valid(p.Second, LogY)).Select(p => new SKPoint(f.Px(p.First), f.Py(p.Second))).ToArray();
            if (s.Line)
                for (int j = 1; j < pts.Length; j++) canvas.DrawLine(pts[j - 1], pts[j], paint);
            if (s.Markers)
                foreach (var p in pts) canvas.DrawCircle(p, s.MarkerSize, dot);
        }
        canvas.Restore();
    }

    private void DrawLegend(SKCanvas canvas, Frame f, SKFont small, SKPaint ink)
    {
        float ly = f.Top + 8;
        for (int i = 0; i < Series.Count; i++)
        {
            if (string.IsNullOrEmpty(Series[i].Name)) continue;
            using var key = new SKPaint { Color = Palette[(Series[i].Color ?? i) % Palette.Length], IsAntialias = true, StrokeWidth = 3 };
            float lx = f.Right - 10 - small.MeasureText(Series[i].Name) - 26;
            canvas.DrawLine(lx, ly + 4, lx + 18, ly + 4, key);
            canvas.DrawText(Series[i].Name, lx + 24, ly + 8, SKTextAlign.Left, small, ink);
            ly += 16;
        }
    }

    /// <summary>
    /// A heat map of <paramref name="values"/>[row, column] (NaN cells grey), each cell labelled with its value;
    /// colours on a log10 scale when <paramref name="log10"/>.
    /// </summary>
    public static void Heatmap(double[,] values, string[] rowLabels, string[] columnLabels, string title, string rowTitle, string columnTitle,
        string path, bool log10 = true, string format = "G2")
    {
        int rows = values.GetLength(0), cols = values.GetLength(1);
        int cell = Math.Clamp(560 / Math.Max(rows, cols), 22, 60);
        int left = 90, top = 40, width = left + cols * cell + 20, height = top + rows * cell + 60;
        using var surface = SKSurface.Create(new SKImageInfo(width, height));
        var canvas = surface.Canvas;
        canvas.Clear(SKColors.White);
        using var font = new SKFont(SKTypeface.Default, 13);
        using var small = new SKFont(SKTypeface.Default, Math.Min(11, cell / 3.2f));
        using var ink = new SKPaint { Color = SKColors.Black, IsAntialias = true };
        var finite = values.Cast<double>().Where(v => double.IsFinite(v) && (!log10 || v > 0)).Select(v => log10 ? Math.Log10(v) : v).ToList();
        double lo = finite.Count > 0 ? finite.Min() : 0, hi = finite.Count > 0 ? finite.Max() : 1;
        if (hi - lo < 1e-12) hi = lo + 1;
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
            {
                double v = values[r, c];
                bool ok = double.IsFinite(v) && (!log10 || v > 0);
                double f = ok ? ((log10 ? Math.Log10(v) : v) - lo) / (hi - lo) : 0;
                using var fill = new SKPaint { Color = ok ? Viridis(f) : new SKColor(0xdd, 0xdd, 0xdd) };
                var rect = new SKRect(left + c * cell, top + r * cell, left + (c + 1) * cell, top + (r + 1) * cell);
                canvas.DrawRect(rect, fill);
                if (!ok) continue;
                string text = v.ToString(format, CultureInfo.InvariantCulture);
                using var textInk = new SKPaint { Color = f > 0.6 ? SKColors.Black : SKColors.White, IsAntialias = true };
                canvas.DrawText(text, rect.MidX - small.MeasureText(text) / 2, rect.MidY + 4, SKTextAlign.Left, small, textInk);
            }
        for (int r = 0; r < rows; r++)
            canvas.DrawText(rowLabels[r], left - 6 - small.MeasureText(rowLabels[r]), top + r * cell + cell / 2f + 4, SKTextAlign.Left, small, ink);
        for (int c = 0; c < cols; c++)
            canvas.DrawText(columnLabels[c], left + c * cell + cell / 2f - small.MeasureText(columnLabels[c]) / 2, top + rows * cell + 14, SKTextAlign.Left, small, ink);
        canvas.DrawText(title, (width - font.MeasureText(title)) / 2, 22, SKTextAlign.Left, font, ink);
        canvas.DrawText(columnTitle, left + (cols * cell - font.MeasureText(columnTitle)) / 2, top + rows * cell + 36, SKTextAlign.Left, font, ink);
        canvas.Save();
        canvas.RotateDegrees(-90);
        canvas.DrawText(rowTitle, -(top + rows * cell / 2f + font.MeasureText(rowTitle) / 2), 16, SKTextAlign.Left, font, ink);
        canvas.Restore();
        Encode(surface, path);
    }

    private static void Encode(SKSurface surface, string path)
    {
        using var image = surface.Snapshot();
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        IO.AtomicFile.WriteAllBytes(path, png.ToArray());
    }

    private static bool Valid(double v, bool log) => double.IsFinite(v) && (!log || v > 0);

    private static double T(double v, bool log) => log ? Math.Log10(v) : v;

    private static (double, double) Extent(IEnumerable<double> values, bool log)
    {
        var list = values.ToList();
        double lo = list.Min(), hi = list.Max();
        if (log)
        {
            if (hi / lo < 1.0001) return (lo / 2, hi * 2);
            return (Math.Pow(10, Math.Floor(Math.Log10(lo) * 4) / 4), Math.Pow(10, Math.Ceiling(Math.Log10(hi) * 4) / 4));
        }
        if (hi - lo < 1e-12) return (lo - 1, hi + 1);
        double pad = 0.05 * (hi - lo);
        return (lo - pad, hi + pad);
    }

    private static IEnumerable<double> Ticks(double lo, double hi, bool log)
    {
        if (log)
        {
            int a = (int)Math.Floor(Math.Log10(lo)), b = (int)Math.Ceiling(Math.Log10(hi));
            var ticks = new List<double>();
            for (int e = a; e <= b; e++)
                foreach (var m in b - a <= 2 ? new[] { 1.0, 2, 5 } : [1.0])
                {
                    double v = m * Math.Pow(10, e);
                    if (v >= lo * 0.999 && v <= hi * 1.001) ticks.Add(v);
                }
            return ticks;
        }
        double step = Math.Pow(10, Math.Floor(Math.Log10((hi - lo) / 5)));
        if ((hi - lo) / step > 10) step *= 2;
        if ((hi - lo) / step > 10) step *= 2.5;
        var result = new List<double>();
        for (double v = Math.Ceiling(lo / step) * step; v <= hi + 1e-9 * step; v += step) result.Add(Math.Abs(v) < 1e-12 * step ? 0 : v);
        return result;
    }

    private static string Label(double v) => v.ToString(Math.Abs(v) >= 1e4 || (Math.Abs(v) < 1e-3 && v != 0) ? "0.#E0" : "0.###", CultureInfo.InvariantCulture);

    // Viridis, approximated by five stops.
    private static SKColor Viridis(double f)
    {
        (double, byte, byte, byte)[] stops = [(0, 68, 1, 84), (0.25, 59, 82, 139), (0.5, 33, 145, 140), (0.75, 94, 201, 98), (1, 253, 231, 37)];
        f = Math.Clamp(f, 0, 1);
        int i = Math.Min(3, (int)(f * 4));
        var (fa, ra, ga, ba) = stops[i];
        var (fb, rb, gb, bb) = stops[i + 1];
        double w = (f - fa) / (fb - fa);
        return new SKColor((byte)(ra + w * (rb - ra)), (byte)(ga + w * (gb - ga)), (byte)(ba + w * (bb - ba)));
    }
}
