using ActorScheduler.Configuration;
using ActorScheduler.Messages;
using ActorScheduler.Scheduling;
using ActorScheduler.Tasks;
using ActorScheduler.Testing;
using Akka.Actor;
using Akka.Event;

namespace ActorScheduler.Runtime;

/// <summary>
/// INTERNAL API. The manager of one task set: nova's <c>run_periodic_tasks</c> as an actor. On each <see cref="Tick"/>
/// it asks its skip table what is due and offers each due run to <see cref="RunsInFlight"/>, which sends it to the
/// task's runner; each runner answers once with <see cref="RunEnded"/>. With a state store it first recovers (other
/// messages wait in the stash); then it is dispatching, or not dispatching with its reason: stopping, stopped, or halted
/// by raise-on-error. Its data lives in collaborators (docs/architecture.md, "The manager").
/// </summary>
internal sealed class PeriodicTaskManager : ReceiveActor, IWithTimers, IWithUnboundedStash
{
    private readonly Setup _setup;
    private readonly string _setName;
    private readonly PeriodicTaskSettings _settings;
    private readonly TaskRunners _runners;
    private readonly ManagerTelemetry _telemetry;
    private readonly List<DueRun> _due = [];
    private readonly TickWaiters _tickWaiters = new();
    private readonly StopRequests _stopRequests;

    // Made when the set begins (at once, or once its store has recovered).
    private TaskTable _tasks = null!;
    private StoreLink _store = StoreLink.None;
    private TaskPauses _pauses = null!;
    private RunOrders _orders = null!;
    private RunsInFlight _runs = null!;
    private RunHistory? _history;
    private CalendarWakes _wakes = null!;
    private SetStart.Moment _start;
    private IActorRef? _keeper;
    private IActorRef? _ticker;
    private Phase _phase = Phase.Dispatching;
    private long _currentTick = -1;

    public PeriodicTaskManager(Setup setup)
    {
        _setup = setup;
        (_setName, _settings) = (setup.SetName, setup.Settings);
        _telemetry = new ManagerTelemetry(_setName, Context.System.EventStream, Context.GetLogger());
        _runners = new TaskRunners(Context, _setName, _settings.PeriodicInterval, _settings.RunEvents);
        _stopRequests = new StopRequests(_setName, this);
        Recovering();
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public IStash Stash { get; set; } = null!;

    /// <summary>
    /// Props of a manager of resolved <paramref name="tasks"/>. Ticks count from <paramref name="start"/> when given,
    /// else from the manager's construction; without <paramref name="withTicker"/> the caller sends <see cref="Tick"/>.
    /// Tasks added at run time must have <paramref name="scope"/> (a cluster singleton's manager runs cluster tasks).
    /// <paramref name="store"/> is the Props of the state store child, which answers <see cref="StoreRecovered"/>.
    /// </summary>
    public static Props Props(
        string setName, IReadOnlyList<PeriodicTaskDefinition> tasks, PeriodicTaskSettings settings, bool withTicker,
        Props? store = null, SetStart? start = null, TaskScope scope = TaskScope.Node) =>
        Akka.Actor.Props.Create<PeriodicTaskManager>(new Setup(setName, tasks, settings, withTicker, store, start, scope));

    public static string ActorName(string setName) => "periodic-tasks-" + setName;

    private enum Phase
    {
        Dispatching,

        /// <summary>Ticking has stopped and runs were cancelled; waiting for them up to shutdown-timeout.</summary>
        Stopping,

        /// <summary>Answers queries, and counts the runs that end late.</summary>
        Stopped,

        /// <summary>raise-on-error escalated a failure: nothing is dispatched any more; a stop still cancels runs in flight.</summary>
        Halted,
    }

    private bool IsDispatching => _phase == Phase.Dispatching;

    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(-1, -1, Decide, loggingEnabled: false);

    protected override void PreStart()
    {
        if (_setup.Store is null)
            Begin(StoreLink.None);
        else
            _keeper = Context.Watch(Context.ActorOf(_setup.Store, "keeper"));
    }

    /// <summary>
    /// Starts from the store's places (none without a store): the ticker starts, and dispatching begins. Ticks count from
    /// the set's start, or, with a store, from the end of its recovery (docs/architecture.md, "When a set starts").
    /// </summary>
    private void Begin(StoreLink store)
    {
        _start = SetStart.For(_setup.Store is null ? _setup.Start : null, Context.System);
        var origin = CalendarWakes.Origin(Context.System, _settings.TimeProvider, _start, out var wall);
        _tasks = TaskTable.ForSet(_setName, store.Tasks ?? _setup.Tasks, _settings, _setup.Scope, origin, out var fuzzy);
        if (fuzzy > TimeSpan.Zero)
            _telemetry.Log.Info("{0}: fuzzy delay {1} ms added to the first tick", _setName, (long)fuzzy.TotalMilliseconds);
        _store = store;
        _pauses = new TaskPauses(this, Context.System.Scheduler, store, _telemetry);
        _history = store.KeepsHistory ? null : RunHistory.InMemory(_setName, _settings.RunHistory, Context.System);
        _runs = new RunsInFlight(_runners, store, _history, _pauses, _telemetry, this, Context.System.Scheduler);
        _orders = new RunOrders(_tasks.Schedule.Clock, _start.At, store.TickBase);
        _wakes = new CalendarWakes(_setName, _tasks, _runs, wall, _start, Context.System.Scheduler, _telemetry.Log);
        foreach (var missed in store.Restore(_tasks, _start.At))
            _runs.Missed(_tasks[missed.Index], 0, _start.At, missed.Missed);
        _telemetry.PausedCount(_tasks.All.Count(t => t.Pause is not null));
        _pauses.StartRestored(_tasks.All);
        if (_setup.WithTicker)
            _wakes.Ticker = _ticker = Context.ActorOf(Ticker.Props(_tasks.Schedule.Clock, _settings.TickSource, Self, _start, store.TickBase), "ticker");
        _telemetry.Log.Info("{0}: {1} periodic tasks, tick every {2}", _setName, _tasks.All.Count, Durations.Format(_settings.PeriodicInterval));
        Become(Dispatching);
    }

    protected override void PostStop() => _telemetry.Gone(_runs?.Count ?? 0, _tasks?.Live.Count(t => t.Pause is not null) ?? 0);

    /// <summary>raise_on_error as supervision: a failed run is logged in nova's words, then resumed or escalated.</summary>
    private Directive Decide(Exception error)
    {
        if (Sender.Equals(_keeper))
            return Directive.Escalate; // the store failed: the set's own supervisor decides, as for the set
        if (error is not PeriodicTaskFailedException failed)
        {
            _telemetry.Log.Error(error, "{0}: task runner failed unexpectedly; restarting it", _setName);
            if (_runners.TaskOf(Sender) is { InFlight: true } task)
                OnRunEnded(new RunEnded(task.Index, RunOutcome.Failed, TimeSpan.Zero, Error: "the task runner failed: " + error.Message)); // the restart lost the run
            return Directive.Restart;
        }

        _telemetry.Log.Error(failed.InnerException, "{0}", failed.Message); // "Error during <set>.<task>: <message>"
        if (!_settings.RaiseOnError)
            return Directive.Resume;
        _telemetry.Log.Error("{0}: raise-on-error is on: dispatch halted, failure escalated to the parent", _setName);
        StopDispatching(Phase.Halted);
        return Directive.Escalate;
    }

    // ---- behaviours ------------------------------------------------------------------------------------------------

    /// <summary>Until the store child has recovered, every other message waits.</summary>
    private void Recovering()
    {
        Receive<StoreRecovered>(recovered =>
        {
            Begin(StoreLink.For(recovered.Store, _keeper));
            Stash.UnstashAll();
        });
        Receive<Terminated>(OnTerminated);
        ReceiveAny(_ => Stash.Stash());
    }

    private void Dispatching()
    {
        Receive<Tick>(OnTick);
        Receive<Ticker.Wake>(OnWake);
        Receive<TriggerTask>(OnTrigger);
        Receive<ChangeTasks>(OnChangeTasks);
        Receive<StopTasks>(_ => BeginStop());
        Always();
    }

    private void NotDispatching()
    {
        Receive<Tick>(tick => RecordTick(tick));
        Receive<Ticker.Wake>(_ => { });
        Receive<StopRequests.TimedOut>(_ =>
        {
            if (_phase != Phase.Stopping)
                return;
            _telemetry.Log.Warning("{0}: {1} runs still in flight after shutdown-timeout {2}", _setName, _runs.Count, Durations.Format(_settings.ShutdownTimeout));
            StopDispatching(Phase.Stopped);
        });
        Receive<StopTasks>(_ =>
        {
            if (_phase == Phase.Halted)
                BeginStop();
            else if (_phase == Phase.Stopping)
                _stopRequests.Add(Sender);
            else
                Sender.Tell(new TasksStopped(_setName, _runs.Count));
        });
        Receive<TriggerTask>(t => Sender.Tell(new Status.Failure(Unavailable($"cannot run '{t.Task}'"))));
        Receive<ChangeTasks>(_ => Sender.Tell(new Status.Failure(Unavailable("cannot change its tasks"))));
        Always();
    }

    /// <summary>Run ends, stats, tick notifications, pause and resume: in every phase (a pause is kept whatever the set does).</summary>
    private void Always()
    {
        Receive<RunEnded>(OnRunEnded);
        Receive<RunStartRecorded>(r => Cancel(_runs.Recorded(_tasks, r, IsDispatching)));
        Receive<RunStartRefused>(r => Cancel(_runs.Refused(_tasks, r)));
        Receive<RunsInFlight.RecordStartTimedOut>(t => Cancel(_runs.TimedOut(_tasks, t)));
        Receive<GetTaskStats>(_ => Sender.Tell(new TaskStatsReport(_setName, _currentTick < 0 ? _currentTick : _store.Outside(_currentTick),
            _tasks.Live.Select(t => StatsOf(t)).ToList())));
        Receive<NotifyWhenTicked>(n => _tickWaiters.Add(n, Sender, _currentTick < 0 ? null : _store.Outside(_currentTick)));
        Receive<GetRecentRuns>(q =>
        {
            if (Find(q.Task) is not null)
                _store.RecentRuns(_setName, q, Sender);
        });
        Receive<GetRuns>(q => RunHistory.Answer(_history, _store, q, Find, Sender, Context.System.Scheduler.Now));
        Receive<GetRunCounts>(q => RunHistory.Answer(_history, _store, q, Find, Sender, Context.System.Scheduler.Now));
        Receive<FlushState>(f => _store.Flush(f, Sender));
        Receive<Terminated>(OnTerminated);
        Receive<PauseTask>(OnPause);
        Receive<ResumeTask>(r =>
        {
            if (Find(r.Task) is not { } task)
                return;
            _pauses.Resume(task, note: null);
            Sender.Tell(StatsOf(task));
        });
        Receive<TaskPauses.Expired>(e => _pauses.OnExpired(e, _tasks));
    }

    private void StopDispatching(Phase phase)
    {
        _phase = phase;
        foreach (var task in _tasks.All)
            task.Pending = null;
        if (phase == Phase.Stopped)
            _stopRequests.Stopped(_runs.Count);

        Become(NotDispatching);
    }

    private void BeginStop()
    {
        _stopRequests.Add(Sender);
        if (_ticker is not null)
            Context.Stop(_ticker);
        foreach (var task in _tasks.All)
            task.Child?.Tell(CancelRun.Instance);
        if (_runs.Count == 0)
        {
            StopDispatching(Phase.Stopped);
            return;
        }

        _stopRequests.WaitAtMost(_settings.ShutdownTimeout);
        StopDispatching(Phase.Stopping);
    }

    private TaskSetUnavailableException Unavailable(string what) => new(
        $"task set '{_setName}' {what}: {_phase switch { Phase.Stopping => "it is stopping", Phase.Stopped => "it is stopped", _ => "raise-on-error halted it" }}.");

    // ---- ticks and dispatch -----------------------------------------------------------------------------------------

    private void OnTick(Tick tick)
    {
        if (!RecordTick(tick))
            return;
        Advance(_tasks.Schedule.Clock.OffsetOf(_currentTick), _orders.For(_currentTick));
        _runners.Sweep(_currentTick);
    }

    /// <summary>A calendar occurrence between ticks: its tasks run now, numbered with the current tick (docs/semantics.md, "Calendar tasks").</summary>
    private void OnWake(Ticker.Wake wake)
    {
        _wakes.Woken(wake.At);
        if (_currentTick >= 0)
            Advance(wake.At, tickRun: null);
    }

    /// <summary>Follows a step of the wall clock, moves the schedule to <paramref name="at"/> (the current tick's time, with its
    /// <paramref name="tickRun"/>, or a wake's), offers what is due, and asks for the next wake.</summary>
    private void Advance(TimeSpan at, Run? tickRun)
    {
        _wakes.CheckWallClock(at, _currentTick);
        _due.Clear();
        if (tickRun is null)
            _tasks.Schedule.AdvanceTo(at, _due);
        else
            _tasks.Schedule.Advance(_currentTick, _due);
        if (tickRun is not null || _due.Count > 0)
            _runs.OfferDue(_tasks, _due, _currentTick, tickRun, at, _start.At);
        _wakes.Arm(_currentTick);
    }

    /// <summary>Takes the tick's number and answers those waiting for it; false for a tick that does not increase.</summary>
    private bool RecordTick(Tick tick)
    {
        var number = _store.Inside(tick.Number);
        if (number <= _currentTick)
        {
            _telemetry.Log.Warning("{0}: tick {1} ignored: tick {2} was already processed (ticks must increase)",
                _setName, tick.Number, _store.Outside(Math.Max(_currentTick, -1)));
            return false;
        }

        _currentTick = number;
        _tickWaiters.Ticked(tick.Number);
        return true;
    }

    private void OnTrigger(TriggerTask trigger)
    {
        if (Find(trigger.Task) is { } task)
            Sender.Tell(_runs.Trigger(task, _currentTick));
    }

    // ---- a run's end ---------------------------------------------------------------------------------------------

    /// <summary>The store child stopped (a journal write failed, which stops it): the set stops with it, as before it has no record.</summary>
    private void OnTerminated(Terminated terminated)
    {
        if (!terminated.ActorRef.Equals(_keeper))
            return;
        _telemetry.Log.Error("{0}: the state store stopped (see the error before this one): the task set stops", _setName);
        Context.Stop(Self);
    }

    /// <summary>A run ended (the one path, <see cref="RunsInFlight.End"/>): then a queued run starts, or a stop completes.</summary>
    private void OnRunEnded(RunEnded ended)
    {
        if (_runs.End(_tasks, ended) is not { } task)
            return;
        if (IsDispatching && _tasks.IsLive(task) && task.Pending is { } pending)
        {
            task.Pending = null;
            _runs.Start(task, pending);
        }
        else if (_phase == Phase.Stopping && _runs.Count == 0)
        {
            StopDispatching(Phase.Stopped);
        }
    }

    /// <summary>A run that does not begin (its start was not recorded in time, or the set stopped meanwhile) ends as cancelled.</summary>
    private void Cancel(TaskState? task)
    {
        if (task is not null)
            OnRunEnded(new RunEnded(task.Index, RunOutcome.Cancelled, TimeSpan.Zero));
    }

    // ---- pause, and run-time changes -----------------------------------------------------------------------------------

    private void OnPause(PauseTask request)
    {
        if (_pauses.CheckUntil(request.Until) is { } error)
            Sender.Tell(new Status.Failure(error));
        else if (Find(request.Task) is { } task)
        {
            _pauses.Pause(task, string.IsNullOrWhiteSpace(request.Note) ? null : request.Note.Trim(), request.Until);
            Sender.Tell(StatsOf(task));
        }
    }

    /// <summary>Applies a change whole, or refuses it whole, logged (docs/semantics.md, "Changes at run time").</summary>
    private void OnChangeTasks(ChangeTasks request)
    {
        var (changes, refused) = _tasks.Checked(request.Changes, Context.System);
        if (refused is not null)
        {
            _telemetry.Log.Info("{0}: a change was refused: {1}", _setName, refused.Message); // its sender may be on another node
            Sender.Tell(new Status.Failure(refused));
            return;
        }

        var (added, updated, removed) = _tasks.Apply(changes, _currentTick, _wakes.Now);
        updated.ForEach(_runners.Retire);
        foreach (var task in removed)
        {
            _pauses.Forget(task);
            _history?.Forget(task.Name);
            _runners.Remove(task);
        }

        _store.TasksChanged(changes, _tasks, request.FromConfiguration);
        _telemetry.Changed(added, updated, removed, Context.System.Scheduler.Now);
        _wakes.Arm(_currentTick);
        Sender.Tell(new TasksChanged(_setName, added.ConvertAll(t => t.Name), updated.ConvertAll(t => t.Name), removed.ConvertAll(t => t.Name)));
    }

    /// <summary>The live task named <paramref name="name"/>; otherwise the sender gets a failure naming the closest task.</summary>
    private TaskState? Find(string name)
    {
        if (_tasks.Find(name) is { } task)
            return task;
        Sender.Tell(new Status.Failure(_tasks.NotFound(name)));
        return null;
    }

    private TaskStats StatsOf(TaskState task) => _tasks.StatsOf(task, IsDispatching, _store, _start.At);

    internal sealed record Setup(
        string SetName, IReadOnlyList<PeriodicTaskDefinition> Tasks, PeriodicTaskSettings Settings, bool WithTicker,
        Props? Store, SetStart? Start, TaskScope Scope);
}
