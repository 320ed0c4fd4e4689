using System.Diagnostics;
using ActorScheduler.Messages;
using ActorScheduler.Scheduling;
using ActorScheduler.Testing;
using Akka.Actor;
using Akka.Event;

namespace ActorScheduler.Runtime;

/// <summary>
/// INTERNAL API. The precise tick source: a dedicated thread that tells the manager <see cref="Tick"/>(k) when tick k is
/// due on the monotonic clock. It sleeps until shortly before the tick and spins the rest on its own thread, which
/// saves the OS timer's ~1 ms of lateness; no actor waits. After a pause it sends the current tick (numbers skip).
/// </summary>
internal sealed class PreciseTickTimer : IDisposable
{
    /// <summary>Sleep until this long before a tick, then spin: OS timers wake up to about a millisecond late.</summary>
    private static readonly TimeSpan SpinWindow = TimeSpan.FromMilliseconds(1.5);

    private readonly CancellationTokenSource _stop = new();

    private PreciseTickTimer()
    {
    }

    public static PreciseTickTimer Start(TickClock clock, long startTimestamp, IActorRef manager, ILoggingAdapter log, long tickBase = 0)
    {
        var timer = new PreciseTickTimer();
        var token = timer._stop.Token;
        new Thread(() => Run(clock, startTimestamp, manager, log, tickBase, token))
        {
            IsBackground = true,
            Name = "actor-scheduler-ticker",
            Priority = ThreadPriority.AboveNormal,
        }.Start();
        return timer;
    }

    public void Dispose() => _stop.Cancel();

    private static void Run(TickClock clock, long started, IActorRef manager, ILoggingAdapter log, long tickBase, CancellationToken stop)
    {
        var wait = stop.WaitHandle;
        long tick = 1;
        while (!stop.IsCancellationRequested)
        {
            var due = clock.OffsetOf(tick);
            var remaining = due - Stopwatch.GetElapsedTime(started);
            if (remaining > SpinWindow)
            {
                if (wait.WaitOne(remaining - SpinWindow + TimeSpan.FromMilliseconds(0.5)))
                    return;
                continue;
            }

            while (Stopwatch.GetElapsedTime(started) < due)
                Thread.SpinWait(20);

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
