using System.Diagnostics;

namespace Bcm.Tests;

/// <summary>The bcm command as a user runs it, in a child process.</summary>
internal static class CliRunner
{
    /// <summary>Runs <c>bcm ARGS</c> to completion (at most five minutes) and returns its exit code and output.</summary>
    public static (int Code, string Out, string Err) Bcm(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Bcm.Cli.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(TimeSpan.FromMinutes(5))) { p.Kill(true); throw new TimeoutException("bcm " + string.Join(' ', args)); }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }
}
