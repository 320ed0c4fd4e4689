namespace ActorScheduler.Runtime;

// INTERNAL API: the messages between a manager and its task runners (docs/architecture.md, "Data path").

/// <summary>
/// Manager to runner: run the task for <paramref name="Tick"/>, due at <paramref name="ScheduledAt"/>. Sent only to a
/// runner with no run in flight; the same instance serves every task due on the tick (see <see cref="RunOrders"/>).
/// </summary>
internal sealed record Run(long Tick, DateTimeOffset ScheduledAt);

/// <summary>Runner to manager, once per run: how the run ended and how long its body took.</summary>
internal sealed record RunEnded(int Index, RunOutcome Outcome, TimeSpan Duration);

internal enum RunOutcome
{
    Succeeded,
    Failed,
    TimedOut,
    Cancelled,
}

/// <summary>Manager to runner during a graceful stop: cancel the run in flight and start no other.</summary>
internal sealed record CancelRun
{
    public static readonly CancelRun Instance = new();
}
