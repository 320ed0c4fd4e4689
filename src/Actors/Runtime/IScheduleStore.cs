using ActorScheduler.Tasks;

namespace ActorScheduler.Runtime;

/// <summary>
/// INTERNAL API. Where a manager keeps its schedule across restarts (implemented by the cluster package with
/// Akka.Persistence). Calls come from the manager's thread and must not block: an implementation tells an actor.
/// </summary>
internal interface IScheduleStore
{
    /// <summary>Saved places by task name; null when nothing was saved (a first start).</summary>
    IReadOnlyDictionary<string, RestoredPlace>? Restored { get; }

    /// <summary>
    /// The tasks to start with: the set's own with the changes made at run time that the store kept; null when it kept
    /// none (docs/control.md, "Changes that last").
    /// </summary>
    IReadOnlyList<PeriodicTaskDefinition>? Tasks { get; }

    /// <summary>Tasks were added, updated or removed at run time (in the order given).</summary>
    void TasksChanged(IReadOnlyList<TaskChangeReport> changes);

    /// <summary>The number the manager's tick 0 has outside (events, stats, contexts): tick numbers continue across starts.</summary>
    long TickBase { get; }

    /// <summary>Tick <paramref name="tick"/> was dispatched: the new places of the tasks due on it (every task, the first time).</summary>
    void TickDispatched(long tick, IReadOnlyList<PlaceReport> places);

    /// <summary>
    /// True when a run is sent to its runner only after its start is recorded (cluster tasks); false when the manager
    /// sends it at once and the store records the start after (node tasks: only their own node runs them).
    /// </summary>
    bool RecordsStartBeforeRun { get; }

    /// <summary>
    /// A run of task <paramref name="index"/> starts: record it (with its <paramref name="deadline"/>). With
    /// <see cref="RecordsStartBeforeRun"/>, tell the manager <see cref="RunStartRecorded"/> with <paramref name="run"/>
    /// once it is recorded: the run is sent to its runner only then; or <see cref="RunStartRefused"/> when it must not
    /// begin (its owner no longer holds the lease): the run then ends as cancelled.
    /// </summary>
    void RunStarting(int index, string task, Run run, DateTimeOffset at, DateTimeOffset? deadline);

    /// <summary>A run of <paramref name="task"/> ended (or never began: a start recorded while the set stopped).</summary>
    void RunEnded(string task, DateTimeOffset at, EndedRun run);

    /// <summary>
    /// True when the store keeps the run history: its child answers <see cref="Messages.GetRuns"/> and
    /// <see cref="Messages.GetRunCounts"/>; false when the manager keeps it in memory (docs/control.md, "Run history").
    /// </summary>
    bool KeepsHistory { get; }

    /// <summary><paramref name="task"/> was paused (<paramref name="pause"/>) or resumed (null).</summary>
    void PauseChanged(string task, TaskPause? pause);
}

/// <summary>
/// A saved place, ready for a new start: ticks left (tick-counted), next due time and hold (wall clock), the start of
/// the task's last run (its LastStart until it runs again), its pause and its counters.
/// </summary>
internal sealed record RestoredPlace(
    long? TicksLeft, DateTimeOffset? NextDueAt, DateTimeOffset? NotBefore, DateTimeOffset? LastRunAt = null, TaskPause? Pause = null,
    CounterRecord? Counters = null);

/// <summary>
/// A change made at run time: the task's definition after it (null for a removal), and whether a store may keep it
/// (not when a body is a delegate, nor when the change follows the configuration, which keeps it itself).
/// </summary>
internal sealed record TaskChangeReport(string Task, TaskChangeKind Kind, PeriodicTaskDefinition? Definition, bool Keep);

internal enum TaskChangeKind
{
    Add,
    Update,
    Remove,
}

/// <summary>A task's place after a tick, with DueTick in the manager's own tick numbering.</summary>
internal sealed record PlaceReport(string Task, long? DueTick, DateTimeOffset? NextDueAt, DateTimeOffset? LastRunAt);

/// <summary>
/// A run that ended: its tick (as shown outside), due time, start, last attempt's duration, outcome, attempts, the
/// task's counters after it, and its last attempt's error.
/// </summary>
internal sealed record EndedRun(
    long Tick, DateTimeOffset ScheduledAt, DateTimeOffset StartedAt, TimeSpan Duration, RunOutcome Outcome, int Attempts, CounterRecord Counters,
    string? Error = null);

/// <summary>
/// The manager's store child to the manager, once, when it has recovered: the manager starts from
/// <paramref name="Store"/> (its places and tick base) and reports to it from then on (docs/architecture.md, "The store
/// as a child").
/// </summary>
internal sealed record StoreRecovered(IScheduleStore Store);

/// <summary>Answered with <see cref="StateFlushed"/> once every record reported before it is written (at once without a store).</summary>
internal sealed record FlushState
{
    public static readonly FlushState Instance = new();

    private FlushState()
    {
    }
}

internal sealed record StateFlushed
{
    public static readonly StateFlushed Instance = new();

    private StateFlushed()
    {
    }
}
