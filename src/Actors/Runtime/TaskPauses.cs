using Akka.Actor;

namespace ActorScheduler.Runtime;

/// <summary>
/// INTERNAL API. A manager's pauses: pause (or pause again with a new note and until), resume, and the timer that
/// resumes a pause with an until time, each saved by the store and told by the telemetry. A paused task's schedule goes
/// on; its due runs are skipped (docs/control.md).
/// </summary>
internal sealed class TaskPauses(IWithTimers owner, IScheduler clock, StoreLink store, ManagerTelemetry telemetry)
{
    /// <summary>The error for an until that is not in the future, or null.</summary>
    public ArgumentException? CheckUntil(DateTimeOffset? until)
    {
        var now = clock.Now;
        return until is { } u && u <= now
            ? new ArgumentException($"until: {u.UtcDateTime:yyyy-MM-ddTHH:mm:ss.fffZ} is not in the future (now is {now.UtcDateTime:yyyy-MM-ddTHH:mm:ss.fffZ}).", "until")
            : null;
    }

    public void Pause(TaskState task, string? note, DateTimeOffset? until)
    {
        if (task.Pause is null)
            telemetry.PausedCount(1);
        task.Pause = new TaskPause(note, until);
        owner.Timers.Cancel(TimerKey(task));
        if (until is { } u)
            StartTimer(task, u);
        store.PauseChanged(task);
        telemetry.Paused(task, clock.Now);
    }

    public void Resume(TaskState task, string? note)
    {
        if (task.Pause is null)
            return;
        task.Pause = null;
        telemetry.PausedCount(-1);
        owner.Timers.Cancel(TimerKey(task));
        store.PauseChanged(task);
        telemetry.Resumed(task, note, clock.Now);
    }

    /// <summary>
    /// True when a pause masks a due run of <paramref name="task"/> scheduled at <paramref name="scheduledAt"/> (and the
    /// <paramref name="missed"/> due times it coalesces), which are counted as skipped; a pause whose until has come is
    /// resumed, and false.
    /// </summary>
    public bool Masks(TaskState task, DateTimeOffset scheduledAt, int missed)
    {
        if (task.Pause is not { } pause)
            return false;
        if (pause.Until is not { } until || until > scheduledAt)
        {
            task.Counters.SkippedPaused(1 + missed);
            return true;
        }

        Resume(task, "expired");
        return false;
    }

    /// <summary>pause-after-failures = K: the K-th failed occurrence in a row pauses a live task; a success starts again from 0.</summary>
    public void RunEnded(TaskState task, RunOutcome outcome, bool live)
    {
        if (outcome == RunOutcome.Succeeded)
        {
            task.ConsecutiveFailures = 0;
            return;
        }

        if (outcome is not (RunOutcome.Failed or RunOutcome.TimedOut) || !live)
            return;
        task.ConsecutiveFailures++;
        var limit = task.Definition.Options.PauseAfterFailures;
        if (limit <= 0 || task.ConsecutiveFailures < limit || task.Pause is not null)
            return;
        var note = $"paused after {limit} consecutive failures";
        telemetry.PausedAfterFailures(task, note);
        Pause(task, note, until: null);
    }

    /// <summary>Arms the timers of pauses restored from the store.</summary>
    public void StartRestored(IEnumerable<TaskState> tasks)
    {
        foreach (var task in tasks)
            if (task.Pause?.Until is { } until)
                StartTimer(task, until);
    }

    /// <summary>A removed task's pause no longer counts and never expires.</summary>
    public void Forget(TaskState task)
    {
        if (task.Pause is not null)
            telemetry.PausedCount(-1);
        owner.Timers.Cancel(TimerKey(task));
    }

    /// <summary>Resumes the task when the pause that armed the timer is still the task's.</summary>
    public void OnExpired(Expired expired, TaskTable tasks)
    {
        if (tasks[expired.Index] is { Pause.Until: { } until } task && until == expired.Until && tasks.IsLive(task))
            Resume(task, "expired");
    }

    private void StartTimer(TaskState task, DateTimeOffset until)
    {
        var delay = until - clock.Now;
        owner.Timers.StartSingleTimer(TimerKey(task), new Expired(task.Index, until), delay > TimeSpan.Zero ? delay : TimeSpan.Zero);
    }

    private static string TimerKey(TaskState task) => "pause-" + task.Index;

    /// <summary>The until time of task <paramref name="Index"/>'s pause has come.</summary>
    internal sealed record Expired(int Index, DateTimeOffset Until);
}
