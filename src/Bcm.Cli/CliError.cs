namespace Bcm.Cli;

/// <summary>An error the user can fix; printed as one message, exit code 2.</summary>
internal sealed class CliError(string message) : Exception(message);
