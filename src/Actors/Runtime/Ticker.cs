using ActorScheduler.Configuration;
using ActorScheduler.Messages;
using ActorScheduler.Scheduling;
using ActorScheduler.Testing;
using Akka.Actor;

namespace ActorScheduler.Runtime;

/// <summary>
/// INTERNAL API. Sends <see cref="Tick"/>(n) to the manager: tick 0 at once, tick k at the clock's offset of k from the
/// set's start, fixed-rate. With the precise source a <see cref="PreciseTickTimer"/> on its own thread does the timing;
/// with the scheduler source Akka's scheduler does (virtual time under TestScheduler).
/// </summary>
internal sealed class Ticker : ReceiveActor, IWithTimers
{
    private const string TickTimer = "tick";

    private readonly TickClock _clock;
    private readonly TickSource _source;
    private readonly IActorRef _manager;
    private readonly SetStart.Moment _start;
    private PreciseTickTimer? _precise;
    private readonly long _tickBase;
    private long _next;

    public Ticker(TickClock clock, TickSource source, IActorRef manager, SetStart.Moment start, long tickBase)
    {
        _clock = clock;
        _manager = manager;
        _start = start;
        _tickBase = tickBase;
        _source = source == TickSource.Auto
            ? Context.System.Scheduler is HashedWheelTimerScheduler ? TickSource.Precise : TickSource.Scheduler
            : source;
        Receive<NextTick>(_ => _manager.Tell(new Tick(_tickBase + _next++)));
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Props of a ticker whose tick k is numbered <paramref name="tickBase"/> + k (tick numbers continue after a restore).</summary>
    public static Props Props(TickClock clock, TickSource source, IActorRef manager, SetStart.Moment start, long tickBase = 0) =>
        Akka.Actor.Props.Create(() => new Ticker(clock, source, manager, start, tickBase));

    protected override void PreStart()
    {
        if (_source == TickSource.Precise)
        {
            _manager.Tell(new Tick(_tickBase));
            _precise = PreciseTickTimer.Start(_clock, _start.Timestamp, _manager, Context.System.Log, _tickBase);
            return;
        }

        // Arm the timer before tick 0 leaves, so that a test which has seen tick 0 can advance virtual time.
        var elapsed = Context.System.Scheduler.Now - _start.At;
        var firstDelay = elapsed > TimeSpan.Zero ? _clock.FirstDelay - elapsed : _clock.FirstDelay;
        Timers.StartPeriodicTimer(TickTimer, NextTick.Instance, firstDelay > TimeSpan.Zero ? firstDelay : TimeSpan.Zero, _clock.Interval);
        _manager.Tell(new Tick(_tickBase + _next++));
    }

    protected override void PostStop()
    {
        _precise?.Dispose();
        base.PostStop();
    }

    private sealed record NextTick
    {
        public static readonly NextTick Instance = new();
    }
}
