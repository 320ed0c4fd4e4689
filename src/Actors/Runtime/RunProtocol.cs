namespace ActorScheduler.Runtime;

// INTERNAL API: the messages between a manager and its task runners (docs/architecture.md, "Data path").

/// <summary>
/// Manager to runner: run the task for <paramref name="Tick"/>, due at <paramref name="ScheduledAt"/>. Sent only to a
/// runner with no run in flight; the same instance serves every task due on the tick (see <see cref="RunOrders"/>).
/// </summary>
internal sealed record Run(long Tick, DateTimeOffset ScheduledAt);

/// <summary>
/// Runner to manager, once per run (after its last attempt): how the run ended, how long its last attempt took, and
/// how many attempts it made, and the last attempt's error in one line (null when it succeeded).
/// </summary>
internal sealed record RunEnded(int Index, RunOutcome Outcome, TimeSpan Duration, int Attempts = 1, string? Error = null);

/// <summary>Store to manager: the start of task <paramref name="Index"/>'s <paramref name="Run"/> is recorded; send it.</summary>
internal sealed record RunStartRecorded(int Index, Run Run);

/// <summary>The state store to the manager: the start of <paramref name="Run"/> was refused (<paramref name="Reason"/>): it does not begin.</summary>
internal sealed record RunStartRefused(int Index, Run Run, string Reason);

internal enum RunOutcome
{
    Succeeded,
    Failed,
    TimedOut,
    Cancelled,
}

internal static class RunOutcomes
{
    /// <summary>The outcome as spans, metrics and records spell it: succeeded, failed, cancelled or timed-out.</summary>
    public static string Name(this RunOutcome outcome) => outcome switch
    {
        RunOutcome.Succeeded => "succeeded",
        RunOutcome.Failed => "failed",
        RunOutcome.Cancelled => "cancelled",
        RunOutcome.TimedOut => "timed-out",
        _ => throw new ArgumentOutOfRangeException(nameof(outcome), outcome, null),
    };
}

/// <summary>Manager to runner during a graceful stop: cancel the run in flight and start no other.</summary>
internal sealed record CancelRun
{
    public static readonly CancelRun Instance = new();
}

/// <summary>Manager to runner when its task was removed: a pending retry is dropped; a body in flight ends normally.</summary>
internal sealed record DropRetries
{
    public static readonly DropRetries Instance = new();
}
