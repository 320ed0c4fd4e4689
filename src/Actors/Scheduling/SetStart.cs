using System.Diagnostics;
using Akka.Actor;

namespace ActorScheduler.Scheduling;

/// <summary>
/// The moment a task set starts (docs/semantics.md, "Ticks"), taken where the application starts it rather than when
/// its manager is constructed, which can be milliseconds later. Only the first manager built from the Props takes it;
/// a restarted manager counts from its own construction (docs/architecture.md, "When a set starts").
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

    /// <summary>The start for the first manager to ask; for any later one (a restart), the moment it asks.</summary>
    public static Moment For(SetStart? start, ActorSystem system) =>
        start is not null && Interlocked.Exchange(ref start._taken, 1) == 0
            ? new Moment(start.At, start.Timestamp)
            : new Moment(system.Scheduler.Now, Stopwatch.GetTimestamp());

    /// <summary>A start on both clocks: the scheduler's (virtual under TestScheduler) and the monotonic one.</summary>
    public readonly record struct Moment(DateTimeOffset At, long Timestamp)
    {
        /// <summary>
        /// Time since the start on the ticks' monotonic clock: the <see cref="Stopwatch"/> under Akka's default scheduler,
        /// else the scheduler's own clock (virtual under TestScheduler, whose monotonic clock does not advance).
        /// </summary>
        public TimeSpan Elapsed(IScheduler scheduler) =>
            scheduler is HashedWheelTimerScheduler ? Stopwatch.GetElapsedTime(Timestamp) : scheduler.Now - At;
    }
}
