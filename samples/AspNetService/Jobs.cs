using ActorScheduler.Tasks;

namespace AspNetService;

/// <summary>
/// The service's periodic tasks, as nova's manager classes declare them: each [PeriodicTask] method is a task of the
/// set "jobs". The class comes from dependency injection (registered in Program.cs), so it can take services.
/// </summary>
public sealed class Jobs(ILogger<Jobs> logger, SessionStore sessions)
{
    // Spaced: every 5 seconds, and once at start.
    [PeriodicTask(Spacing = "5s", RunImmediately = true, Timeout = "2s")]
    public void Heartbeat(PeriodicTaskContext context) =>
        logger.LogInformation("heartbeat ran at {Time:O} (tick {Tick}, {Sessions} sessions open)",
            DateTimeOffset.UtcNow, context.Tick, sessions.Count);

    // Calendar: a 6-field cron (seconds first), every 15 seconds so that a short run shows it. A real report would
    // rather run once a day: Cron = "30 2 * * *", TimeZone = "Europe/Berlin" (02:30 Berlin time).
    [PeriodicTask(Cron = "*/15 * * * * *", Timeout = "10s")]
    public async Task Report(PeriodicTaskContext context, CancellationToken token)
    {
        await Task.Delay(50, token); // stands for building and sending a report; honour the token (timeout, stop)
        logger.LogInformation("report ran at {Time:O} (scheduled {ScheduledAt:O})", DateTimeOffset.UtcNow, context.ScheduledAt);
    }
}
