using ActorScheduler.Tasks;

namespace ActorScheduler.Persistence;

/// <summary>
/// One task's saved place. <paramref name="DueTick"/> counts ticks across restarts (the keeper carries the tick
/// numbering on from the last recorded tick); <paramref name="Schedule"/> is the schedule the place belongs to, so a
/// changed schedule (say spacing 1h to 10m) starts fresh instead of inheriting a meaningless place.
/// </summary>
internal sealed record PlaceRecord(string Task, string Schedule, long? DueTick, DateTimeOffset? NextDueAt, DateTimeOffset? LastRunAt);

/// <summary>Journal event: tick <paramref name="Tick"/> (counted across restarts) was processed; the places that changed.</summary>
internal sealed record TickRecorded(long Tick, IReadOnlyList<PlaceRecord> Places);

/// <summary>Journal event: a run of <paramref name="Task"/> started (Running, with its timeout deadline) or ended.</summary>
internal sealed record RunRecorded(string Task, bool Running, DateTimeOffset At, DateTimeOffset? Deadline);

/// <summary>Snapshot: the whole state at once.</summary>
internal sealed record ScheduleSnapshot(long LastTick, IReadOnlyList<PlaceRecord> Places, IReadOnlyList<RunRecorded> Running);

/// <summary>The state a <see cref="ScheduleKeeper"/> rebuilds from its snapshot and journal.</summary>
internal sealed class ScheduleState
{
    public long LastTick { get; private set; } = -1;

    public Dictionary<string, PlaceRecord> Places { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, RunRecorded> Running { get; } = new(StringComparer.Ordinal);

    /// <summary>The schedule a place is valid for: the kind and period of the task's schedule.</summary>
    public static string ScheduleKey(PeriodicTaskOptions options) =>
        options.Spacing is { } spacing ? $"spacing:{spacing.Ticks}"
        : options.Cron is { } cron ? $"cron:{cron}@{options.TimeZone}"
        : $"ticks:{options.TicksBetweenRuns ?? 0}";

    public void Apply(object evt)
    {
        switch (evt)
        {
            case TickRecorded tick:
                LastTick = Math.Max(LastTick, tick.Tick);
                foreach (var place in tick.Places)
                {
                    var lastRun = place.LastRunAt ?? (Places.TryGetValue(place.Task, out var old) ? old.LastRunAt : null);
                    Places[place.Task] = place with { LastRunAt = lastRun };
                }

                break;
            case RunRecorded run when run.Running:
                Running[run.Task] = run;
                if (Places.TryGetValue(run.Task, out var ranPlace))
                    Places[run.Task] = ranPlace with { LastRunAt = run.At }; // the actual start, over the due time
                break;
            case RunRecorded run:
                Running.Remove(run.Task);
                break;
        }
    }

    public void Apply(ScheduleSnapshot snapshot)
    {
        LastTick = snapshot.LastTick;
        Places.Clear();
        Running.Clear();
        foreach (var place in snapshot.Places)
            Places[place.Task] = place;
        foreach (var run in snapshot.Running)
            Running[run.Task] = run;
    }

    public ScheduleSnapshot ToSnapshot() => new(LastTick, Places.Values.ToList(), Running.Values.ToList());
}
