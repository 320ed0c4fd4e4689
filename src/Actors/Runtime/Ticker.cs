using ActorScheduler.Configuration;
using ActorScheduler.Messages;
using ActorScheduler.Scheduling;
using ActorScheduler.Testing;
using Akka.Actor;

namespace ActorScheduler.Runtime;

/// <summary>
/// INTERNAL API. Sends <see cref="Tick"/>(n) to the manager: tick 0 at once, tick k at the clock's offset of k from the
/// set's start, fixed-rate; and, between ticks, one <see cref="Wake"/> at the time the manager last asked for with
/// <see cref="WakeAt"/> (a calendar occurrence). With the precise source a <see cref="PreciseTickTimer"/> on its own
/// thread does the timing; with the scheduler source Akka's scheduler does (virtual time under TestScheduler).
/// </summary>
internal sealed class Ticker : ReceiveActor, IWithTimers
{
    private const string TickTimer = "tick";
    private const string WakeTimer = "wake";

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
        Receive<WakeAt>(OnWakeAt);
        Receive<Wake>(wake => _manager.Tell(wake));
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

    /// <summary>Replaces the wake asked for before (null: none).</summary>
    private void OnWakeAt(WakeAt request)
    {
        if (_precise is not null)
            _precise.WakeAt(request.At);
        else if (request.At is { } at)
            Timers.StartSingleTimer(WakeTimer, new Wake(at), Max(at - _start.Elapsed(Context.System.Scheduler), TimeSpan.Zero));
        else
            Timers.Cancel(WakeTimer);

        static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
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

    /// <summary>From the manager: wake it at <paramref name="At"/> (an offset from the set's start), or never (null).</summary>
    internal sealed record WakeAt(TimeSpan? At);

    /// <summary>To the manager: the time <paramref name="At"/> it asked for has come (docs/architecture.md, "Calendar wakes and the wall clock").</summary>
    internal sealed record Wake(TimeSpan At);
}
