using System.Diagnostics;
using ActorScheduler.Messages;
using ActorScheduler.Scheduling;
using ActorScheduler.Testing;
using Akka.Actor;
using Akka.Event;

namespace ActorScheduler.Runtime;

/// <summary>
/// INTERNAL API. The precise tick source: a dedicated thread that tells the manager <see cref="Tick"/>(k) when tick k is
/// due on the monotonic clock, and <see cref="Ticker.Wake"/> at the wake the manager asked for, if that comes first. It
/// sleeps until shortly before the tick or wake and spins the rest on its own thread, which saves the OS timer's ~1 ms
/// of lateness; no actor waits. After a pause it sends the current tick (numbers skip).
/// </summary>
internal sealed class PreciseTickTimer : IDisposable
{
    /// <summary>Sleep until this long before a tick, then spin: OS timers wake up to about a millisecond late.</summary>
    private static readonly TimeSpan SpinWindow = TimeSpan.FromMilliseconds(1.5);

    private readonly CancellationTokenSource _stop = new();
    private readonly AutoResetEvent _wakeChanged = new(false);

    /// <summary>The wake asked for, in TimeSpan ticks from the start (long.MaxValue: none); written by the ticker actor.</summary>
    private long _wakeAt = long.MaxValue;

    private PreciseTickTimer()
    {
    }

    public static PreciseTickTimer Start(TickClock clock, long startTimestamp, IActorRef manager, ILoggingAdapter log, long tickBase = 0)
    {
        var timer = new PreciseTickTimer();
        new Thread(() => timer.Run(clock, startTimestamp, manager, log, tickBase))
        {
            IsBackground = true,
            Name = "actor-scheduler-ticker",
            Priority = ThreadPriority.AboveNormal,
        }.Start();
        return timer;
    }

    /// <summary>Replaces the wake (null: none); the thread sees it at once, even while it sleeps.</summary>
    public void WakeAt(TimeSpan? at)
    {
        Volatile.Write(ref _wakeAt, at?.Ticks ?? long.MaxValue);
        _wakeChanged.Set();
    }

    public void Dispose() => _stop.Cancel();

    private void Run(TickClock clock, long started, IActorRef manager, ILoggingAdapter log, long tickBase)
    {
        var stop = _stop.Token;
        WaitHandle[] waits = [stop.WaitHandle, _wakeChanged];
        long tick = 1;
        while (!stop.IsCancellationRequested)
        {
            var tickDue = clock.OffsetOf(tick);
            var wake = Volatile.Read(ref _wakeAt);
            var isWake = wake < tickDue.Ticks;
            var due = isWake ? TimeSpan.FromTicks(wake) : tickDue;
            var remaining = due - Stopwatch.GetElapsedTime(started);
            if (remaining > SpinWindow)
            {
                if (WaitHandle.WaitAny(waits, remaining - SpinWindow + TimeSpan.FromMilliseconds(0.5)) == 0)
                    return;
                continue;
            }

            while (Stopwatch.GetElapsedTime(started) < due)
                Thread.SpinWait(20);

            if (isWake)
            {
                // Only this wake is cleared: a newer one asked for meanwhile stays.
                Interlocked.CompareExchange(ref _wakeAt, long.MaxValue, wake);
                manager.Tell(new Ticker.Wake(due));
                continue;
            }

            var current = clock.LastTickAtOrBefore(Stopwatch.GetElapsedTime(started));
            if (current > tick)
                log.Warning("Ticks {0} to {1} passed while the ticker could not run (process paused?): sending tick {2}",
                    tick, current - 1, current);
            tick = Math.Max(tick, current);
            manager.Tell(new Tick(tick + tickBase));
            tick++;
        }
    }
}
