using Bcm.Imaging;
using Bcm.Metrics;

namespace Bcm.Reports;

/// <summary>The plot both evaluation reports draw: a metric against NFE for the BCM plans and the EDM baseline, with the floor as a flat line.</summary>
internal static class NfeCurve
{
    /// <summary>Rows of the BCM family form one curve and the baseline's rows one per solver; the floor spans the NFE of the rows (NFE 0 rows, such as the exact ODE, excluded).</summary>
    public static void Save<T>(string path, string title, string yLabel, IReadOnlyList<T> rows, T floor, string floorName,
        Func<T, MethodFamily> family, Func<T, int> nfe, Func<T, double> metric, bool logY = true)
    {
        var plot = new Plot { Title = title, XLabel = "network evaluations (NFE)", YLabel = yLabel, LogX = true, LogY = logY };
        var bcm = rows.Where(g => family(g) == MethodFamily.Bcm).ToList();
        plot.Add(new Series("BCM plans", bcm.Select(g => (double)nfe(g)).ToArray(), bcm.Select(metric).ToArray()));
        foreach (var solver in BaselineSolver.All) // one curve per solver the baseline was measured with
            if (rows.Where(g => family(g) == solver.Family).ToList() is { Count: > 0 } edm)
                plot.Add(new Series(BaselineSolver.Legend(solver.Family), edm.Select(g => (double)nfe(g)).ToArray(), edm.Select(metric).ToArray()));
        var xs = rows.Select(nfe).Where(v => v > 0).Select(v => (double)v).DefaultIfEmpty(1).ToArray();
        plot.Add(new Series(floorName, [xs.Min(), xs.Max()], [metric(floor), metric(floor)], Markers: false));
        plot.Save(path);
    }
}
