using ActorScheduler.Tasks;

namespace AspNetService;

/// <summary>
/// A task as a class: added with options.AddTask&lt;CleanupSessionsTask&gt;("cleanup-sessions", ...) and resolved from
/// dependency injection in a new scope for each run, so its constructor can take scoped and singleton services.
/// </summary>
public sealed class CleanupSessionsTask(SessionStore sessions, ILogger<CleanupSessionsTask> logger) : IPeriodicTask
{
    public ValueTask RunAsync(PeriodicTaskContext context, CancellationToken cancellationToken)
    {
        // Some traffic, so that there is something to clean up: three sessions of 7 s each per run.
        for (var i = 0; i < 3; i++)
            sessions.Open(TimeSpan.FromSeconds(7));
        var removed = sessions.RemoveExpired();
        logger.LogInformation("cleanup-sessions ran at {Time:O}: removed {Removed} expired sessions, {Open} open",
            DateTimeOffset.UtcNow, removed, sessions.Count);
        return ValueTask.CompletedTask;
    }
}
