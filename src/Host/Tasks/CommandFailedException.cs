namespace ActorScheduler.Host.Tasks;

/// <summary>A command task's process exited with a non-zero code, or could not be started.</summary>
internal sealed class CommandFailedException(string message, int? exitCode = null) : Exception(message)
{
    /// <summary>The process's exit code, or null when it could not be started.</summary>
    public int? ExitCode { get; } = exitCode;
}
