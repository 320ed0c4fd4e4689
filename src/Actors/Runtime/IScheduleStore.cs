namespace ActorScheduler.Runtime;

/// <summary>
/// INTERNAL API. Where a manager keeps its schedule across restarts (implemented by the cluster package with
/// Akka.Persistence). Calls come from the manager's thread and must not block: an implementation tells an actor.
/// </summary>
internal interface IScheduleStore
{
    /// <summary>Saved places by task name; null when nothing was saved (a first start).</summary>
    IReadOnlyDictionary<string, RestoredPlace>? Restored { get; }

    /// <summary>Tick <paramref name="tick"/> was dispatched: the new places of the tasks due on it (every task, the first time).</summary>
    void TickDispatched(long tick, IReadOnlyList<PlaceReport> places);

    /// <summary>A run of <paramref name="task"/> started (<paramref name="deadline"/>: its timeout) or ended.</summary>
    void RunChanged(string task, bool running, DateTimeOffset at, DateTimeOffset? deadline);

    /// <summary><paramref name="task"/> was paused (<paramref name="pause"/>) or resumed (null).</summary>
    void PauseChanged(string task, TaskPause? pause);
}

/// <summary>
/// A saved place, ready for a new start: ticks left (tick-counted), next due time and hold (wall clock), the start of
/// the task's last run (its LastStart until it runs again), and its pause.
/// </summary>
internal sealed record RestoredPlace(
    long? TicksLeft, DateTimeOffset? NextDueAt, DateTimeOffset? NotBefore, DateTimeOffset? LastRunAt = null, TaskPause? Pause = null);

/// <summary>A task's place after a tick, with DueTick in the manager's own tick numbering.</summary>
internal sealed record PlaceReport(string Task, long? DueTick, DateTimeOffset? NextDueAt, DateTimeOffset? LastRunAt);
