using ActorScheduler.Scheduling;

namespace ActorScheduler.Tasks;

internal static class OptionsValidation
{
    /// <summary>Checks the rules that hold however options were declared; <paramref name="where"/> names the source.</summary>
    public static void Validate(PeriodicTaskOptions options, string where)
    {
        if (options.Cron is not null && (options.TicksBetweenRuns is not null || options.Spacing is not null))
            throw new PeriodicTaskDefinitionException($"{where}: set one of ticks-between-runs, spacing, cron (none means every tick).");
        if (options.TicksBetweenRuns is not null && options.Spacing is not null)
            throw new PeriodicTaskDefinitionException($"{where}: set ticks-between-runs or spacing, not both.");
        if (options.TicksBetweenRuns is < 0)
            throw new PeriodicTaskDefinitionException($"{where}: ticks-between-runs must be >= 0, got {options.TicksBetweenRuns}.");
        if (options.Spacing == TimeSpan.Zero)
            throw new PeriodicTaskDefinitionException($"{where}: spacing must be > 0 (or negative to disable the task), got 0.");
        if (options.Timeout is { } t && t <= TimeSpan.Zero)
            throw new PeriodicTaskDefinitionException($"{where}: timeout must be > 0 or infinite, got {Durations.Format(t)}.");
        if (options.MisfireLimit < 1)
            throw new PeriodicTaskDefinitionException($"{where}: misfire-limit must be >= 1, got {options.MisfireLimit}.");
        if (options.Cron is { } cron)
            CalendarSchedule.Parse(cron, options.TimeZone, (key, problem) => new PeriodicTaskDefinitionException($"{where}: {key} {problem}"));
        else if (options.TimeZone != CalendarSchedule.DefaultZone)
            throw new PeriodicTaskDefinitionException($"{where}: time-zone applies only to a task with cron; set cron, or remove time-zone.");
        if (options.Retries < 0)
            throw new PeriodicTaskDefinitionException($"{where}: retries must be >= 0, got {options.Retries}.");
        if (options.RetryBackoff <= TimeSpan.Zero)
            throw new PeriodicTaskDefinitionException($"{where}: retry-backoff must be > 0, got {Durations.Format(options.RetryBackoff)}.");
        if (options.RetryMaxBackoff < options.RetryBackoff)
            throw new PeriodicTaskDefinitionException(
                $"{where}: retry-max-backoff must be >= retry-backoff ({Durations.Format(options.RetryBackoff)}), got {Durations.Format(options.RetryMaxBackoff)}.");
        if (options.PauseAfterFailures < 0)
            throw new PeriodicTaskDefinitionException($"{where}: pause-after-failures must be >= 0 (0 = never), got {options.PauseAfterFailures}.");
        if (options.Role.Length > 0 && options.Scope != TaskScope.Cluster)
            throw new PeriodicTaskDefinitionException($"{where}: role applies only to scope = cluster.");
    }
}
