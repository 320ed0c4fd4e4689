using ActorScheduler.Tasks;

namespace WorkerService;

/// <summary>The worker's periodic tasks: each [PeriodicTask] method is a task of the set "maintenance".</summary>
public sealed class Maintenance(ILogger<Maintenance> logger)
{
    // A calendar task: a 6-field cron (seconds first), every 2 seconds, so that a short run shows it.
    [PeriodicTask(Cron = "*/2 * * * * *", Timeout = "1s")]
    public async Task Pulse(PeriodicTaskContext context, CancellationToken token)
    {
        await Task.Delay(20, token); // stands for real work; honour the token: it is cancelled on timeout and on stop
        logger.LogInformation("pulse ran at {Time:O} (scheduled {ScheduledAt:O}, tick {Tick})",
            DateTimeOffset.UtcNow, context.ScheduledAt, context.Tick);
    }

    // A daily calendar task, the usual shape: 5 fields (minute hour day-of-month month day-of-week), read in UTC unless
    // TimeZone names an IANA zone, e.g. [PeriodicTask(Cron = "30 2 * * *", TimeZone = "Europe/Berlin", Retries = 2)].
    // With the state store, a run missed while the worker was stopped is made up once at the next start (misfire
    // = coalesce, the default).
    [PeriodicTask(Cron = "0 3 * * *", Timeout = "30m")]
    public void VacuumDatabase(PeriodicTaskContext context) =>
        logger.LogInformation("vacuum-database ran at {Time:O} (scheduled {ScheduledAt:O})", DateTimeOffset.UtcNow, context.ScheduledAt);
}
