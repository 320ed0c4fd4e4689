using Akka.Actor;
using Akka.Configuration;

namespace ActorScheduler.Benchmarks.Engines;

/// <summary>
/// What an Akka.NET user writes by hand: one actor per task with IWithTimers (a periodic timer every T on Akka's default
/// scheduler), running the body off the actor thread and skipping a tick while the last run is in flight.
/// </summary>
public sealed class AkkaTimersEngine : IEngine
{
    private ActorSystem? _system;
    private EngineSpec? _spec;
    private TaskBody? _body;

    public string Name => EngineNames.AkkaTimers;

    private IActorRef? _parent;

    /// <summary>Creates the N actors (before the epoch: creating 100,000 actors takes seconds); they arm their timers at <see cref="StartAsync"/>.</summary>
    public async Task PrepareAsync(EngineSpec spec, TaskBody body)
    {
        _spec = spec;
        _body = body;
        _system = ActorSystem.Create("bench", ConfigurationFactory.ParseString("""
            akka {
              loglevel = WARNING
              stdout-loglevel = WARNING
              log-dead-letters = off
              coordinated-shutdown.run-by-clr-shutdown-hook = off
            }
            """));
        // Start Akka's scheduler before the actors arm their timers: HashedWheelTimerScheduler starts its worker on first
        // use and blocks the caller until it runs, so a thousand actors arming timers at once on a cold scheduler could
        // take every thread-pool thread and never start it (seen as a worker that hung now and then).
        var fired = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _system.Scheduler.Advanced.ScheduleOnce(TimeSpan.FromMilliseconds(1), () => fired.TrySetResult());
        await fired.Task.WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);

        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _parent = _system.ActorOf(Akka.Actor.Props.Create(() => new TaskParent(spec, body, ready)), "tasks");
        await ready.Task.WaitAsync(TimeSpan.FromMinutes(2)).ConfigureAwait(false);
    }

    public Task StartAsync(long epoch, DateTimeOffset epochUtc)
    {
        _parent!.Tell(new Start(epoch));
        return Task.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        if (_system is not null)
            await _system.Terminate().WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
    }

    private sealed class TaskParent : UntypedActor
    {
        private readonly IActorRef[] _children;

        private readonly EngineSpec _spec;
        private readonly TaskBody _body;
        private readonly TaskCompletionSource _ready;

        public TaskParent(EngineSpec spec, TaskBody body, TaskCompletionSource ready)
        {
            _spec = spec;
            _body = body;
            _ready = ready;
            _children = new IActorRef[spec.Tasks];
        }

        protected override void PreStart()
        {
            for (var i = 0; i < _spec.Tasks; i++)
                _children[i] = Context.ActorOf(Akka.Actor.Props.Create(typeof(TimerTask), i, _spec, _body), "t" + i);
            _ready.TrySetResult();
        }

        protected override void OnReceive(object message)
        {
            switch (message)
            {
                case Start start:
                    foreach (var child in _children)
                        child.Tell(start);
                    break;
                default:
                    Unhandled(message);
                    break;
            }
        }
    }

    private sealed class TimerTask : ReceiveActor, IWithTimers
    {
        private readonly int _index;
        private readonly EngineSpec _spec;
        private readonly TaskBody _body;
        private bool _running;

        public TimerTask(int index, EngineSpec spec, TaskBody body)
        {
            _index = index;
            _spec = spec;
            _body = body;
            Receive<Start>(OnStart);
            Receive<Fire>(_ => OnFire());
            Receive<Done>(_ => _running = false);
        }

        public ITimerScheduler Timers { get; set; } = null!;

        private void OnStart(Start start)
        {
            // Align the first run on epoch (+ T), as a careful user would.
            var firstDue = _spec.FirstRunAtStart ? TimeSpan.Zero : _spec.Period;
            var initial = firstDue - System.Diagnostics.Stopwatch.GetElapsedTime(start.Epoch);
            Timers.StartPeriodicTimer("tick", Fire.Instance, initial > TimeSpan.Zero ? initial : TimeSpan.Zero, _spec.Period);
        }

        private void OnFire()
        {
            if (_running)
                return;
            _running = true;
            var body = _body;
            var index = _index;
            var self = Self;
            Task.Run(async () => await body(index, Occurrence.None, CancellationToken.None).ConfigureAwait(false))
                .ContinueWith(_ => self.Tell(Done.Instance), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    private sealed record Start(long Epoch);

    private sealed class Fire
    {
        public static readonly Fire Instance = new();
    }

    private sealed class Done
    {
        public static readonly Done Instance = new();
    }
}
