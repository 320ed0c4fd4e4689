namespace ActorScheduler.Host.Cli;

/// <summary>The host's exit codes (docs/host.md).</summary>
internal static class ExitCodes
{
    /// <summary>Success; also <c>run</c> stopped by --for or by SIGINT/SIGTERM (a second signal, which skips the wait, included).</summary>
    public const int Success = 0;

    /// <summary>A task failure ended <c>run</c> (raise-on-error), or the <c>run-once</c> task failed.</summary>
    public const int TaskFailed = 1;

    /// <summary>A control command (status, pause, resume, trigger) was refused by the host: the reason is printed.</summary>
    public const int Refused = 1;

    /// <summary>A usage or configuration error.</summary>
    public const int UsageError = 2;

    /// <summary>
    /// <c>run</c> ended because this node left its cluster without being asked to by the host: the split brain resolver
    /// (or an operator) downed it, or it could not join. The summary is printed; a service manager restarts it.
    /// </summary>
    public const int RemovedFromCluster = 3;

    /// <summary>A control command reached no host: nothing listens at the URL, or no answer within the timeout.</summary>
    public const int NoHost = 4;
}
