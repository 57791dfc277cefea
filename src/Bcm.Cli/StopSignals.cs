using System.Runtime.InteropServices;

namespace Bcm.Cli;

/// <summary>Long work that Ctrl+C, SIGTERM (a scheduler's preemption) or a wall-time budget stops cleanly.</summary>
internal static class StopSignals
{
    // A timer runs at most 2³² − 2 ms (49.7 days).
    public const double MaxBudgetMinutes = 70_000;

    /// <summary>
    /// Runs <paramref name="work"/> with a token that Ctrl+C, SIGTERM or <paramref name="budgetMinutes"/> cancels; the
    /// work is expected to stop at its next safe point (and save). Returns 130 after Ctrl+C, 143 after SIGTERM, else null.
    /// </summary>
    public static int? Run(Action<CancellationToken> work, double? budgetMinutes, out bool budgetReached)
    {
        CheckBudget(budgetMinutes);
        using var cancel = new CancellationTokenSource();
        int? signalled = null;
        void Stop(int code, string what)
        {
            signalled = code;
            cancel.Cancel();
            Console.Error.WriteLine($"\n{what}: stopping after this step and saving a checkpoint…");
        }
        ConsoleCancelEventHandler onCancel = (_, e) => { e.Cancel = true; Stop(130, "interrupted (Ctrl+C again aborts)"); };
        Console.CancelKeyPress += onCancel;
        using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => { context.Cancel = true; Stop(143, "SIGTERM"); });
        if (budgetMinutes is double m) cancel.CancelAfter(TimeSpan.FromMinutes(m));
        try
        {
            work(cancel.Token);
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
        budgetReached = signalled is null && cancel.IsCancellationRequested;
        return signalled;
    }

    /// <summary>Refuses a wall-time budget (<c>--max-minutes</c>) that is not positive or longer than a timer runs.</summary>
    public static void CheckBudget(double? budgetMinutes)
    {
        if (budgetMinutes is double minutes && !(minutes > 0 && minutes <= MaxBudgetMinutes))
            throw new BadInputException($"--max-minutes must be positive and at most {MaxBudgetMinutes:N0} (48 days), got {minutes}");
    }

    // libtorch's threads spin: training beside other CPU work on the same cores was measured 15-35 times slower here.
    // The load average (Linux) counts the processes running or waiting; above the cores, say so once at the start.
    /// <summary>Warns on standard error when the machine's load average exceeds its cores (Linux; silent elsewhere).</summary>
    public static void WarnIfTheMachineIsBusy()
    {
        if (!OperatingSystem.IsLinux() || !File.Exists("/proc/loadavg")) return;
        try
        {
            var first = File.ReadAllText("/proc/loadavg").Split(' ')[0];
            if (double.TryParse(first, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out double load) &&
                load > Environment.ProcessorCount)
                Console.Error.WriteLine($"bcm: warning: the machine's load is {load:F1} on {Environment.ProcessorCount} cores: training shares them with other work " +
                                        "and can run many times slower (15-35x was measured on 2 shared cores); see what else runs (top) before timing anything");
        }
        catch (IOException)
        {
            // no warning where the load cannot be read
        }
    }
}
