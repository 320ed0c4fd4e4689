using System.Diagnostics;
using ActorScheduler.Configuration;
using ActorScheduler.Messages;
using ActorScheduler.Scheduling;
using Akka.Actor;
using Akka.Event;

namespace ActorScheduler.Actors;

/// <summary>
/// Sends <see cref="Tick"/>(n) to its parent: tick 0 at once, tick k at FirstDelay + (k-1) x Interval, fixed-rate, so a
/// late tick does not shift later ones. Two sources (actor-scheduler.tick-source):
/// <list type="bullet">
/// <item>precise: a dedicated thread waits on the monotonic clock (Stopwatch) and wakes within a fraction of a
/// millisecond; after a pause it sends the current tick, skipping the numbers that passed (the manager coalesces).</item>
/// <item>scheduler: Akka's scheduler through IWithTimers; Akka's TestScheduler drives it in virtual time, one tick per
/// Advance(interval).</item>
/// </list>
/// </summary>
public sealed class TickScheduler : ReceiveActor, IWithTimers
{
    private const string TickTimer = "tick";

    private readonly TickClock _clock;
    private readonly TickSource _source;
    private readonly IActorRef _target;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly CancellationTokenSource _stop = new();
    private readonly long _startTimestamp;
    private readonly DateTimeOffset _startedAt;
    private long _next;

    public TickScheduler(TickClock clock, TickSource source, IActorRef target, DateTimeOffset? startedAt = null, long? startTimestamp = null)
    {
        _clock = clock;
        _target = target;
        _startTimestamp = startTimestamp ?? Stopwatch.GetTimestamp();
        _startedAt = startedAt ?? Context.System.Scheduler.Now;
        _source = source == TickSource.Auto
            ? Context.System.Scheduler is HashedWheelTimerScheduler ? TickSource.Precise : TickSource.Scheduler
            : source;
        Receive<NextTick>(_ => _target.Tell(new Tick(_next++)));
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>
    /// Ticks for <paramref name="target"/> (the manager) on <paramref name="clock"/>, counted from the moment the task
    /// set started, so that the time taken to create the manager and the ticker does not delay every tick: the precise
    /// source counts from <paramref name="startTimestamp"/> (a <see cref="Stopwatch"/> timestamp), the scheduler source
    /// from <paramref name="startedAt"/> (the scheduler's clock, virtual under TestScheduler). Null means when the ticker
    /// starts.
    /// </summary>
    public static Props Props(
        TickClock clock, TickSource source, IActorRef target, DateTimeOffset? startedAt = null, long? startTimestamp = null) =>
        Akka.Actor.Props.Create(typeof(TickScheduler), clock, source, target, startedAt, startTimestamp);

    protected override void PreStart()
    {
        if (_source == TickSource.Scheduler)
        {
            // Arm the timer before tick 0 leaves, so that a test which has seen tick 0 can advance virtual time.
            var elapsed = Context.System.Scheduler.Now - _startedAt;
            var firstDelay = elapsed > TimeSpan.Zero ? _clock.FirstDelay - elapsed : _clock.FirstDelay;
            Timers.StartPeriodicTimer(TickTimer, NextTick.Instance, firstDelay > TimeSpan.Zero ? firstDelay : TimeSpan.Zero, _clock.Interval);
            _target.Tell(new Tick(_next++));
            return;
        }

        _target.Tell(new Tick(0));
        var started = _startTimestamp;
        var thread = new Thread(() => RunPrecise(_clock, started, _target, _stop.Token, _log))
        {
            IsBackground = true,
            Name = "actor-scheduler-ticker",
            Priority = ThreadPriority.AboveNormal,
        };
        thread.Start();
    }

    protected override void PostStop()
    {
        _stop.Cancel();
        base.PostStop();
    }

    private static void RunPrecise(TickClock clock, long started, IActorRef target, CancellationToken stop, ILoggingAdapter log)
    {
        var wait = stop.WaitHandle;
        long tick = 1;
        while (!stop.IsCancellationRequested)
        {
            var due = clock.OffsetOf(tick);
            var remaining = due - Stopwatch.GetElapsedTime(started);
            // Sleep until about a millisecond before the tick, then spin the rest: OS timers wake up to ~1 ms late.
            if (remaining > TimeSpan.FromMilliseconds(1.5))
            {
                if (wait.WaitOne(remaining - TimeSpan.FromMilliseconds(1)))
                    return;
                continue;
            }

            // Send the tick a little ahead, stamped with its due time: the manager's mailbox gets a thread meanwhile (waking
            // one takes a few hundred microseconds) and the manager waits out the rest, so it dispatches on time, never early.
            while (Stopwatch.GetElapsedTime(started) < due - Lead)
                Thread.SpinWait(20);

            var current = clock.LastTickAtOrBefore(Stopwatch.GetElapsedTime(started));
            if (current > tick)
                log.Warning("Ticks {0} to {1} passed while the ticker could not run (process paused?): sending tick {2}",
                    tick, current - 1, current);
            tick = Math.Max(tick, current);
            target.Tell(new TickAt(tick, started + (long)(clock.OffsetOf(tick).Ticks * (Stopwatch.Frequency / (double)TimeSpan.TicksPerSecond))));
            tick++;
        }
    }

    /// <summary>How far ahead of its due time the precise source sends a tick (see <see cref="TickAt"/>).</summary>
    internal static readonly TimeSpan Lead = TimeSpan.FromMilliseconds(0.5);

    /// <summary>
    /// Tick <paramref name="Number"/> from the precise source, sent up to <see cref="Lead"/> before it is due at
    /// <paramref name="DueTimestamp"/> (a <see cref="Stopwatch"/> timestamp): the manager waits until then.
    /// </summary>
    internal sealed record TickAt(long Number, long DueTimestamp)
    {
        /// <summary>Waits (spinning: less than <see cref="Lead"/>) until the tick is due.</summary>
        public void WaitUntilDue()
        {
            while (Stopwatch.GetTimestamp() < DueTimestamp)
                Thread.SpinWait(20);
        }
    }

    private sealed record NextTick
    {
        public static readonly NextTick Instance = new();
    }
}
