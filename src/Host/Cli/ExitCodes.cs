namespace ActorScheduler.Host.Cli;

/// <summary>The host's exit codes (DESIGN.md section 5).</summary>
public static class ExitCodes
{
    /// <summary>Success.</summary>
    public const int Success = 0;

    /// <summary>A task failure ended <c>run</c> (raise-on-error), or the <c>run-once</c> task failed.</summary>
    public const int TaskFailed = 1;

    /// <summary>A usage or configuration error.</summary>
    public const int UsageError = 2;
}
