using System.Globalization;
using ActorScheduler.Messages;
using Akka.Event;

namespace ActorScheduler.Runtime;

/// <summary>
/// INTERNAL API. What a manager tells the world: the meter's instruments (<see cref="PeriodicTaskMetrics"/>), the events
/// on the event stream (docs/events.md) and nova's log lines. A run's own events come from its runner.
/// </summary>
internal sealed class ManagerTelemetry(string setName, EventStream events, ILoggingAdapter log)
{
    public ILoggingAdapter Log => log;

    public void RunStarted() => PeriodicTaskMetrics.Change(PeriodicTaskMetrics.InFlight, setName, 1);

    public void RunEnded(TaskState task, RunEnded ended)
    {
        PeriodicTaskMetrics.Change(PeriodicTaskMetrics.InFlight, setName, -1);
        PeriodicTaskMetrics.RunEnded(setName, task.Name, ended.Outcome.Name(), ended.Duration);
    }

    /// <summary>The set stops: its runs in flight and paused tasks no longer count in the gauges.</summary>
    public void Gone(int inFlight, int paused)
    {
        PeriodicTaskMetrics.Change(PeriodicTaskMetrics.InFlight, setName, -inFlight);
        PeriodicTaskMetrics.Change(PeriodicTaskMetrics.Paused, setName, -paused);
    }

    public void Overran(TaskState task, Run run)
    {
        PeriodicTaskMetrics.Count(PeriodicTaskMetrics.Overruns, setName, task.Name, 1);
        log.Warning("{0}.{1} is due on tick {2} but its run of tick {3} is still in flight: skipped (overrun)", setName, task.Name, run.Tick, task.CurrentRun?.Tick);
        events.Publish(new PeriodicTaskOverrun(setName, task.Name, run.Tick, run.ScheduledAt));
    }

    public void Missed(TaskState task, long tick, DateTimeOffset scheduledAt, int missed)
    {
        PeriodicTaskMetrics.Count(PeriodicTaskMetrics.Missed, setName, task.Name, missed);
        events.Publish(new PeriodicTaskMissed(setName, task.Name, tick, scheduledAt, missed));
    }

    /// <summary><paramref name="count"/> tasks more (or fewer, when negative) are paused.</summary>
    public void PausedCount(int count)
    {
        if (count != 0)
            PeriodicTaskMetrics.Change(PeriodicTaskMetrics.Paused, setName, count);
    }

    public void Paused(TaskState task, DateTimeOffset now)
    {
        var (note, until) = (task.Pause?.Note, task.Pause?.Until);
        log.Debug("{0}.{1} paused{2}{3}", setName, task.Name, note is null ? "" : $" ({note})", until is null ? "" : $" until {Utc(until.Value)}");
        events.Publish(new PeriodicTaskPaused(setName, task.Name, now, note, until));
    }

    public void Resumed(TaskState task, string? note, DateTimeOffset now)
    {
        log.Debug("{0}.{1} resumed{2}", setName, task.Name, note is null ? "" : $" ({note})");
        events.Publish(new PeriodicTaskResumed(setName, task.Name, now, note));
    }

    public void PausedAfterFailures(TaskState task, string note) =>
        log.Warning("{0}.{1} {2}; resume it to run it again", setName, task.Name, note);

    public void Triggered(TaskState task, DateTimeOffset now, long tick, bool started) =>
        events.Publish(new PeriodicTaskTriggered(setName, task.Name, now, tick, started));

    /// <summary>A run-time change was applied: an event per task, and one log line.</summary>
    public void Changed(List<TaskState> added, List<TaskState> updated, List<TaskState> removed, DateTimeOffset now)
    {
        foreach (var task in added)
            events.Publish(new PeriodicTaskAdded(setName, task.Name, now, task.Schedule));
        foreach (var task in updated)
            events.Publish(new PeriodicTaskUpdated(setName, task.Name, now, task.Schedule));
        foreach (var task in removed)
            events.Publish(new PeriodicTaskRemoved(setName, task.Name, now));
        log.Info("{0}: tasks changed: {1} added, {2} updated, {3} removed", setName, added.Count, updated.Count, removed.Count);
    }

    /// <summary>
    /// Nova's debug lines for a tick: "Skipping" with the ticks left for each task not due, "Running" (or "Skipping ...:
    /// paused") for each due one. Only when debug logging is on.
    /// </summary>
    public void LogTick(TaskTable table, long tick, IReadOnlyList<Scheduling.DueRun> due, bool wake = false)
    {
        if (!log.IsDebugEnabled)
            return;
        if (wake)
        {
            // Between ticks only calendar tasks come due: the others' skip counters have not moved.
            foreach (var run in due)
                log.Debug(table[run.Index].Pause is null ? "Running periodic task {0}.{1}" : "Skipping {0}.{1}: paused", setName, table[run.Index].Name);
            return;
        }

        var next = 0;
        foreach (var run in due)
            next = LogUpTo(table, tick, next, run.Index);
        LogUpTo(table, tick, next, table.All.Count);
    }

    private int LogUpTo(TaskTable table, long tick, int from, int upTo)
    {
        for (var i = from; i < upTo; i++)
            if (table.Schedule.NextDueTick(i) is not null)
                log.Debug("Skipping {0}.{1}, {2} ticks left until next run", setName, table[i].Name, table.Schedule.TicksLeft(i, tick));
        if (upTo < table.All.Count)
            log.Debug(table[upTo].Pause is null ? "Running periodic task {0}.{1}" : "Skipping {0}.{1}: paused", setName, table[upTo].Name);
        return upTo + 1;
    }

    private static string Utc(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);
}
