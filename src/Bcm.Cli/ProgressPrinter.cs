using Bcm.Training;

namespace Bcm.Cli;

/// <summary>
/// Synchronous progress for training: a redrawn bar on a terminal, one line every few seconds when the output is a
/// file (nohup, CI). Synchronous on purpose: Progress&lt;T&gt; posts asynchronously and can reorder reports.
/// </summary>
internal sealed class ProgressPrinter(TimeSpan? interval = null, int ranks = 1) : IProgress<TrainProgress>, IProgress<string>
{
    private readonly bool interactive = !Console.IsErrorRedirected;
    private readonly TimeSpan every = interval ?? TimeSpan.FromSeconds(interval is null && Console.IsErrorRedirected ? 30 : 0.2);
    private DateTime last = DateTime.MinValue;
    private long? firstStep;

    public void Report(TrainProgress p)
    {
        firstStep ??= p.Step; // the first step of a process includes its warm-up: no rate or ETA from it alone
        bool final = p.Step == p.TotalSteps;
        if (!final && DateTime.UtcNow - last < every && p.Event is null) return;
        last = DateTime.UtcNow;
        double frac = (double)p.Step / p.TotalSteps;
        int width = 24, filled = (int)(frac * width);
        string bar = new string('#', filled) + new string('.', width - filled);
        string line = $"[{bar}] {p.Step}/{p.TotalSteps} " + (p.Scales > 0 ? $"N={p.Scales} loss {Common.F(p.Loss)} (ct {Common.F(p.Ct)}, soft {Common.F(p.Soft)}) " : $"denoising loss {Common.F(p.Loss)} ") +
                      $"|g| {Common.F(p.GradNorm, "F2")} {Common.F(p.ImagesPerSecond, "F1")} img/s{(ranks > 1 ? $" on {ranks} ranks" : "")} ETA {(p.Step > firstStep ? Eta(p.EtaSeconds) : "?")}{(p.Event is null ? "" : " " + p.Event)}";
        Write(line, final);
    }

    /// <summary>A progress line of other long work: redrawn on a terminal; in a log, one line every few seconds and the last one.</summary>
    public void Line(string text, bool final)
    {
        if (!final && DateTime.UtcNow - last < every) return;
        last = DateTime.UtcNow;
        Write(text, final);
    }

    // Redrawn in place on a terminal; a time-stamped line in a log.
    private void Write(string line, bool final)
    {
        if (interactive) Console.Error.Write("\r" + line.PadRight(Console.WindowWidth > 0 ? Math.Min(Console.WindowWidth - 1, 160) : 0) + (final ? "\n" : ""));
        else Console.Error.WriteLine($"{DateTime.Now:HH:mm:ss} {line}");
    }

    public void Report(string message)
    {
        if (interactive) Console.Error.WriteLine();
        Console.Error.WriteLine(message);
    }

    private static string Eta(double seconds) =>
        double.IsFinite(seconds) ? TimeSpan.FromSeconds(Math.Round(seconds)).ToString(seconds >= 3600 ? @"h\:mm\:ss" : @"m\:ss") : "?";
}

/// <summary>An IProgress that reports on the calling thread, in order (Progress&lt;T&gt; posts to the thread pool and can reorder).</summary>
internal sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}
