using Akka.Actor;

namespace ActorScheduler.Actors;

/// <summary>
/// Extension point (used by ActorScheduler.Cluster; not needed by applications): how a <see cref="PeriodicTaskManager"/> works with the actor that persists its schedule (ActorScheduler.Cluster's
/// ScheduleKeeper): the places to start from, and where to report each tick's changes and each run's start and end.
/// The manager stays free of any persistence dependency; without hooks it behaves exactly as before.
/// </summary>
/// <param name="Keeper">Receives <see cref="ScheduleAdvanced"/> and <see cref="RunStateChanged"/>.</param>
/// <param name="Restored">Saved places by task name (wall-clock times); null or missing entries start fresh.</param>
public sealed record ScheduleHooks(IActorRef Keeper, IReadOnlyDictionary<string, RestoredPlace>? Restored);

/// <summary>
/// A saved place, ready for a new start: ticks left (tick-counted), next due time and hold (wall clock), and the start
/// of the task's last run (reported as its LastStart until it runs again).
/// </summary>
public sealed record RestoredPlace(long? TicksLeft, DateTimeOffset? NextDueAt, DateTimeOffset? NotBefore, DateTimeOffset? LastRunAt = null);

/// <summary>
/// Sent by the manager after dispatching <paramref name="Tick"/>: the new places of the tasks that ran on it (of every
/// task, the first time), with PlaceReport.DueTick in this manager's tick numbering.
/// </summary>
public sealed record ScheduleAdvanced(long Tick, IReadOnlyList<PlaceReport> Places);

public sealed record PlaceReport(string Task, long? DueTick, DateTimeOffset? NextDueAt, DateTimeOffset? LastRunAt);

/// <summary>A run of <paramref name="Task"/> started (Running) or ended (or timed out); Deadline is its timeout.</summary>
public sealed record RunStateChanged(string Task, bool Running, DateTimeOffset At, DateTimeOffset? Deadline);
