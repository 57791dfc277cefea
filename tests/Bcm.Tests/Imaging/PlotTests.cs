using Bcm.Imaging;
using Bcm.Training;
using Xunit;

namespace Bcm.Tests;

/// <summary>Training curves and the charts of the reports.</summary>
public sealed class PlotTests
{
    [Fact]
    public void PlotWritesCurvesAndATableOfEveryStep()
    {
        var run = TestPaths.NewTempDir();
        using (var t = Trainer.OpenOrResume(Presets.Get("tiny") with { Steps = 5, CheckpointEvery = 5, SampleEvery = 0 }, run)) t.Run();
        File.AppendAllText(Path.Combine(run, "stats.jsonl"), "{\"step\":6,\"tot"); // a line torn by a kill is skipped
        var r = CliRunner.Bcm("plot", run);
        Assert.True(r.Code == 0, r.Err);
        Assert.Contains("5 steps", r.Out);
        ImageIO.ReadRgba(Path.Combine(run, "report", "curves.png"), out int w, out int h);
        Assert.Equal((1120, 1020), (w, h)); // five panels: loss, gradient norm, N(k), throughput, memory
        var rows = File.ReadAllLines(Path.Combine(run, "report", "stats.csv"));
        Assert.StartsWith("step,total_steps,scales,loss,ct,soft,grad_norm", rows[0]);
        Assert.Equal(6, rows.Length);
        Assert.Equal("5", rows[^1].Split(',')[0]);
        // Resident memory after every step, for spotting growth over a long run.
        int memory = Array.IndexOf(rows[0].Split(','), "resident_mb");
        Assert.True(memory > 0, rows[0]);
        Assert.All(rows.Skip(1), row => Assert.InRange(double.Parse(row.Split(',')[memory], System.Globalization.CultureInfo.InvariantCulture), 50, 100_000));

        var empty = TestPaths.NewTempDir();
        r = CliRunner.Bcm("plot", empty);
        Assert.Equal(2, r.Code);
        Assert.Contains("has no stats.jsonl", r.Err);
    }

    [Fact]
    public void TheLegendStandsInTheCornerTheCurvesLeaveFree()
    {
        double[] x = [0, 0.25, 0.5, 0.75, 1];
        // Rising: the lower right is free, and it is the first choice.
        Assert.Equal(ScottPlot.Alignment.LowerRight, new Plot().Add(new Series("up", x, x)).LegendCorner());
        // Falling, as a baseline's error does over NFE: it ends in the lower right, so the legend goes up.
        Assert.Equal(ScottPlot.Alignment.UpperRight, new Plot().Add(new Series("down", x, x.Select(v => 1 - v).ToArray())).LegendCorner());
        // Falling, and a level line along the top: only the lower left is free.
        var both = new Plot().Add(new Series("down", [0, 1], [1, 0])).Add(new Series("top", [0, 1], [1, 1]));
        Assert.Equal(ScottPlot.Alignment.LowerLeft, both.LegendCorner());
        // A line whose two points lie outside every corner's box but whose segment crosses the lower right's: the segments
        // are sampled, not only the points.
        var crossing = new Plot().Add(new Series("cut", [0.5, 1], [0, 0.5])).Add(new Series("", [0], [1], Line: false));
        Assert.Equal(ScottPlot.Alignment.UpperRight, crossing.LegendCorner());
        // The corner is judged on the axis as drawn: a point at x = 100 of 1-1000 is in the right third on a log axis, in the
        // left tenth on a linear one.
        Series points = new("p", [1, 100, 1000], [1, 0, 1], Line: false);
        Assert.Equal(ScottPlot.Alignment.LowerLeft, new Plot { LogX = true }.Add(points).LegendCorner());
        Assert.Equal(ScottPlot.Alignment.LowerRight, new Plot().Add(points).LegendCorner());
        // A fixed range counts: curves near the top of 0-1 leave both lower corners free.
        var accuracy = new Plot { YRange = (0, 1) }.Add(new Series("a", x, [0.98, 0.97, 0.96, 0.96, 0.95]));
        Assert.Equal(ScottPlot.Alignment.LowerRight, accuracy.LegendCorner());
    }

    [Fact]
    public void LogAxesAndHeatMapsRender()
    {
        var dir = TestPaths.NewTempDir();
        // A short log range (one to four) and a long one (1e-6 to 1), with a non-positive value left out of the log axis.
        var plot = new Plot { Title = "t", LogX = true, LogY = true }
            .Add(new Series("line", [1, 2, 3, 4], [1e-6, 1e-3, 0, 1]))
            .Add(new Series("points", [1.5, 2.5], [1e-2, 1e-1], Line: false));
        string png = Path.Combine(dir, "p.png");
        plot.Save(png, 400, 300);
        ImageIO.ReadRgba(png, out int w, out int h);
        Assert.Equal((400, 300), (w, h));
        string heat = Path.Combine(dir, "h.png");
        Plot.Heatmap(new double[,] { { double.NaN, 0.1 }, { 0.01, double.NaN } }, ["a", "b"], ["c", "d"], "heat", "rows", "columns", heat);
        ImageIO.ReadRgba(heat, out w, out h);
        Assert.True(w > 200 && h > 150);
    }
}
