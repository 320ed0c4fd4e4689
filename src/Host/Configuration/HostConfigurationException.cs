namespace ActorScheduler.Host.Configuration;

/// <summary>
/// A mistake in the host's input (a file, a key only the host reads, a command-line value): exit code 2 with this
/// message on one line, never a stack trace. The message names the bad input first.
/// </summary>
internal sealed class HostConfigurationException(string message) : Exception(message);
