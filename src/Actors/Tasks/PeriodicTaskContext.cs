using Akka.Actor;
using Akka.Event;

namespace ActorScheduler.Tasks;

/// <summary>What a running task knows about its run: nova's <c>context</c> argument.</summary>
public sealed class PeriodicTaskContext
{
    public PeriodicTaskContext(
        string setName, string taskName, long tick, DateTimeOffset scheduledAt, ActorSystem system, ILoggingAdapter log,
        CancellationToken cancellationToken)
    {
        SetName = setName;
        TaskName = taskName;
        Tick = tick;
        ScheduledAt = scheduledAt;
        System = system;
        Log = log;
        CancellationToken = cancellationToken;
    }

    /// <summary>The task set (manager) the task belongs to.</summary>
    public string SetName { get; }

    public string TaskName { get; }

    /// <summary>The tick this run belongs to (0 = start).</summary>
    public long Tick { get; }

    /// <summary>1 for the first run of an occurrence, 2.. for its retries.</summary>
    public int Attempt { get; init; } = 1;

    /// <summary>When the run was due, by the ActorSystem scheduler's clock (virtual under TestScheduler).</summary>
    public DateTimeOffset ScheduledAt { get; }

    /// <summary>The ActorSystem the task set runs in.</summary>
    public ActorSystem System { get; }

    /// <summary>The task's own logger.</summary>
    public ILoggingAdapter Log { get; }

    /// <summary>Cancelled when the run times out or the task set stops.</summary>
    public CancellationToken CancellationToken { get; }
}
