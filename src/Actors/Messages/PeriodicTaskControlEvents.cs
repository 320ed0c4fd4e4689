namespace ActorScheduler.Messages;

/// <summary>
/// A change made to a task (paused, resumed, triggered, added, updated, removed), published on the ActorSystem's
/// EventStream. <see cref="EventName"/> is the name used by the console host's JSON Lines events.
/// </summary>
public abstract record PeriodicTaskControlEvent(string SetName, string Task, DateTimeOffset Time)
{
    public abstract string EventName { get; }
}

/// <summary>The task was paused, by a request or by pause-after-failures (then <paramref name="Note"/> says so).</summary>
public sealed record PeriodicTaskPaused(string SetName, string Task, DateTimeOffset Time, string? Note, DateTimeOffset? Until)
    : PeriodicTaskControlEvent(SetName, Task, Time)
{
    public override string EventName => "paused";
}

/// <summary>The task was resumed; <paramref name="Note"/> is "expired" when its pause ended by itself at its until time.</summary>
public sealed record PeriodicTaskResumed(string SetName, string Task, DateTimeOffset Time, string? Note)
    : PeriodicTaskControlEvent(SetName, Task, Time)
{
    public override string EventName => "resumed";
}

/// <summary>The task was triggered on tick <paramref name="Tick"/>; <paramref name="Started"/> as in <see cref="TaskTriggered"/>.</summary>
public sealed record PeriodicTaskTriggered(string SetName, string Task, DateTimeOffset Time, long Tick, bool Started)
    : PeriodicTaskControlEvent(SetName, Task, Time)
{
    public override string EventName => "triggered";
}

/// <summary>The task was added to the running set.</summary>
public sealed record PeriodicTaskAdded(string SetName, string Task, DateTimeOffset Time, string Schedule)
    : PeriodicTaskControlEvent(SetName, Task, Time)
{
    public override string EventName => "added";
}

/// <summary>The task's options were replaced.</summary>
public sealed record PeriodicTaskUpdated(string SetName, string Task, DateTimeOffset Time, string Schedule)
    : PeriodicTaskControlEvent(SetName, Task, Time)
{
    public override string EventName => "updated";
}

/// <summary>The task was removed from the running set.</summary>
public sealed record PeriodicTaskRemoved(string SetName, string Task, DateTimeOffset Time)
    : PeriodicTaskControlEvent(SetName, Task, Time)
{
    public override string EventName => "removed";
}
