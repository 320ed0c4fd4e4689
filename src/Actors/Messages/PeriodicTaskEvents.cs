namespace ActorScheduler.Messages;

/// <summary>
/// One step of a run's lifecycle, published on the ActorSystem's EventStream. Subscribe to this base type for all of
/// them. <see cref="EventName"/> is the name used by the console host's JSON Lines events.
/// </summary>
public abstract record PeriodicTaskEvent(string SetName, string Task, long Tick, DateTimeOffset ScheduledAt)
{
    /// <summary>started, succeeded, failed, timed-out, overrun or missed.</summary>
    public abstract string EventName { get; }

    /// <summary>Run events: 1 for the first run of an occurrence, 2.. for its retries (docs/semantics.md, "Retries").</summary>
    public int Attempt { get; init; } = 1;
}

/// <summary>A run started.</summary>
public sealed record PeriodicTaskStarted(string SetName, string Task, long Tick, DateTimeOffset ScheduledAt, DateTimeOffset StartedAt)
    : PeriodicTaskEvent(SetName, Task, Tick, ScheduledAt)
{
    public override string EventName => "started";
}

/// <summary>A run ended without an exception.</summary>
public sealed record PeriodicTaskSucceeded(
    string SetName, string Task, long Tick, DateTimeOffset ScheduledAt, DateTimeOffset StartedAt, TimeSpan Duration)
    : PeriodicTaskEvent(SetName, Task, Tick, ScheduledAt)
{
    public override string EventName => "succeeded";
}

/// <summary>A run threw (or, for a command task, exited non-zero), or was cancelled by a stop.</summary>
public sealed record PeriodicTaskFailed(
    string SetName, string Task, long Tick, DateTimeOffset ScheduledAt, DateTimeOffset StartedAt, TimeSpan Duration, Exception Error)
    : PeriodicTaskEvent(SetName, Task, Tick, ScheduledAt)
{
    public override string EventName => "failed";
}

/// <summary>A run reached its timeout; its CancellationToken was cancelled. Duration is the time until the timeout.</summary>
public sealed record PeriodicTaskTimedOut(
    string SetName, string Task, long Tick, DateTimeOffset ScheduledAt, DateTimeOffset StartedAt, TimeSpan Duration, TimeSpan Timeout)
    : PeriodicTaskEvent(SetName, Task, Tick, ScheduledAt)
{
    public override string EventName => "timed-out";

    public string Error => $"timed out after {Durations.Format(Timeout)}";
}

/// <summary>The task was due while its last run was in flight, and this run was skipped (overlap = skip, or queue full).</summary>
public sealed record PeriodicTaskOverrun(string SetName, string Task, long Tick, DateTimeOffset ScheduledAt)
    : PeriodicTaskEvent(SetName, Task, Tick, ScheduledAt)
{
    public override string EventName => "overrun";
}

/// <summary><paramref name="Count"/> due times passed without a run and were coalesced into the run of this tick.</summary>
public sealed record PeriodicTaskMissed(string SetName, string Task, long Tick, DateTimeOffset ScheduledAt, int Count)
    : PeriodicTaskEvent(SetName, Task, Tick, ScheduledAt)
{
    public override string EventName => "missed";
}
