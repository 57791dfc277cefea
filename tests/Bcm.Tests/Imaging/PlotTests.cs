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
