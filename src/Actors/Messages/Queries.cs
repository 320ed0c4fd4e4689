namespace ActorScheduler.Messages;

/// <summary>Asks a manager for its per-task statistics; the answer is a <see cref="TaskStatsReport"/>.</summary>
public sealed record GetTaskStats
{
    public static readonly GetTaskStats Instance = new();

    private GetTaskStats()
    {
    }
}

/// <summary>The statistics of every task of a set, in registration order.</summary>
public sealed record TaskStatsReport(string SetName, long CurrentTick, IReadOnlyList<TaskStats> Tasks)
{
    public TaskStats this[string task] =>
        Tasks.FirstOrDefault(t => t.Task == task) ?? throw new KeyNotFoundException($"no task named '{task}' in set '{SetName}'.");
}

/// <summary>
/// One task's statistics (docs/semantics.md, "Events, stats and metrics"). Durations are measured on the monotonic
/// clock. Runs count occurrences started (a retry is not a new run; <paramref name="Retries"/> counts them).
/// </summary>
public sealed record TaskStats(
    string Task,
    string Schedule,
    bool Enabled,
    long Runs,
    long Succeeded,
    long Failed,
    long TimedOut,
    long Cancelled,
    long Overruns,
    long Missed,
    bool Running,
    DateTimeOffset? LastStart,
    TimeSpan? LastDuration,
    TimeSpan? MeanDuration,
    TimeSpan? MaxDuration,
    long? NextDueTick,
    DateTimeOffset? NextDueAt,
    bool Paused,
    string? PauseNote,
    DateTimeOffset? PausedUntil,
    long SkippedWhilePaused,
    long Retries);

/// <summary>
/// Runs a task now, outside its schedule, as if it were due on the current tick (overlap, timeout and retries apply;
/// a paused task runs too). The answer is <see cref="TaskTriggered"/>, or <c>Status.Failure</c> with a
/// <see cref="PeriodicTaskNotFoundException"/> when no task has that name.
/// </summary>
public sealed record TriggerTask(string Task);

/// <summary>The answer to <see cref="TriggerTask"/>: <paramref name="Started"/> is false when a run in flight made it an overrun.</summary>
public sealed record TaskTriggered(string Task, long Tick, bool Started);

/// <summary>
/// A graceful stop: the manager stops ticking, cancels in-flight runs and waits for them up to
/// actor-scheduler.shutdown-timeout, then answers <see cref="TasksStopped"/>. It still answers queries afterwards.
/// </summary>
public sealed record StopTasks
{
    public static readonly StopTasks Instance = new();

    private StopTasks()
    {
    }
}

/// <summary>The answer to <see cref="StopTasks"/>: how many runs had not ended when the shutdown timeout passed.</summary>
public sealed record TasksStopped(string SetName, int StillRunning);

/// <summary>
/// Asks the manager of <paramref name="Task"/> for its recent runs; the answer is a <see cref="RecentRunsReport"/>. A set
/// with a state store keeps the last runs of each task with its schedule, so they continue on a new owner or after a
/// restart (docs/control.md, "Recent runs").
/// </summary>
public sealed record GetRecentRuns(string Task);

/// <summary>
/// The recent runs of <paramref name="Task"/>, newest first. <paramref name="Kept"/> is false for a set without a state
/// store, which keeps none (its runs are in its events).
/// </summary>
public sealed record RecentRunsReport(string SetName, string Task, bool Kept, IReadOnlyList<PeriodicTaskRun> Runs);

/// <summary>
/// One run of a task as a state store or the run history keeps it: its tick, due time, start, the duration of its last
/// attempt, how it ended (succeeded, failed, timed-out or cancelled), its attempts, and the node it ran on (null
/// outside a cluster). The run history also gives its end and its last attempt's error (docs/control.md, "Run history").
/// </summary>
public sealed record PeriodicTaskRun(
    long Tick, DateTimeOffset ScheduledAt, DateTimeOffset StartedAt, TimeSpan Duration, string Outcome, int Attempts, string? Node)
{
    /// <summary>When the run ended (in a <see cref="RecentRunsReport"/>, only until the store restarts).</summary>
    public DateTimeOffset? EndedAt { get; init; }

    /// <summary>The error of its last attempt, one line (null when it succeeded; in a <see cref="RecentRunsReport"/>, only until the store restarts).</summary>
    public string? Error { get; init; }
}

/// <summary>
/// Asks for a page of <paramref name="Task"/>'s run history, newest first: at most <paramref name="Limit"/> runs (1 to
/// <see cref="MaxLimit"/>) that started before <paramref name="Before"/> (null: the newest). The answer is a
/// <see cref="RunsPage"/>; a limit out of range is a <c>Status.Failure</c> with an ArgumentOutOfRangeException, an
/// unknown task a PeriodicTaskNotFoundException (docs/control.md, "Run history").
/// </summary>
public sealed record GetRuns(string Task, DateTimeOffset? Before = null, int Limit = GetRuns.DefaultLimit)
{
    public const int DefaultLimit = 50;

    public const int MaxLimit = 1000;
}

/// <summary>
/// A page of a task's run history, newest first. <paramref name="Next"/> is the <see cref="GetRuns.Before"/> of the
/// next (older) page, null when this page is the last.
/// </summary>
public sealed record RunsPage(string SetName, string Task, IReadOnlyList<PeriodicTaskRun> Runs, DateTimeOffset? Next);

/// <summary>
/// Asks how many runs ended, and how many of them failed or timed out, in each minute from <paramref name="Since"/>
/// (at most a day back); the answer is a <see cref="RunCountsReport"/> (docs/control.md, "Run history").
/// </summary>
public sealed record GetRunCounts(DateTimeOffset Since);

/// <summary>The minutes with runs since the asked time, oldest first; minutes without runs are left out.</summary>
public sealed record RunCountsReport(string SetName, IReadOnlyList<RunCount> Minutes);

/// <summary>The runs that ended in the minute starting at <paramref name="Minute"/> (UTC), and how many failed or timed out.</summary>
public sealed record RunCount(DateTimeOffset Minute, long Runs, long Failed);
