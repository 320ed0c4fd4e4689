using System.Diagnostics;
using Akka.Actor;

namespace ActorScheduler.Scheduling;

/// <summary>
/// The moment a task set starts (DESIGN.md section 3's <c>start</c>), taken where the application starts it
/// (StartPeriodicTasks, WithPeriodicTasks) rather than when its manager actor is constructed: that happens on a pool
/// thread, up to a few milliseconds later, and every tick would otherwise be that much late. The first manager built
/// from the Props takes it; a manager restarted by its supervisor counts its ticks from 0 again, so it starts from its
/// own construction, as a manager created from Props without a start does.
/// </summary>
internal sealed class SetStart
{
    private int _taken;

    private SetStart(DateTimeOffset at, long timestamp)
    {
        At = at;
        Timestamp = timestamp;
    }

    /// <summary>The start on the system's scheduler clock (virtual under Akka's TestScheduler).</summary>
    public DateTimeOffset At { get; }

    /// <summary>The start as a <see cref="Stopwatch"/> timestamp (the monotonic clock the precise tick source uses).</summary>
    public long Timestamp { get; }

    public static SetStart Now(ActorSystem system) => new(system.Scheduler.Now, Stopwatch.GetTimestamp());

    /// <summary>
    /// The start for the first manager to ask; for any later one (a restart), the moment it asks.
    /// </summary>
    public static (DateTimeOffset At, long Timestamp) For(SetStart? start, ActorSystem system) =>
        start is not null && Interlocked.Exchange(ref start._taken, 1) == 0
            ? (start.At, start.Timestamp)
            : (system.Scheduler.Now, Stopwatch.GetTimestamp());
}
