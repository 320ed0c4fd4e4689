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
/// it asks its skip table what is due, decides overlap, and sends <see cref="Run"/> to the runner of each task that may
/// start; each runner answers once with <see cref="RunEnded"/>. It also pauses, resumes, triggers, adds, updates and
/// removes tasks. With a state store it first recovers: its store child answers <see cref="StoreRecovered"/> while
/// every other message waits in the stash. Then two behaviours: dispatching, and not dispatching with its reason
/// (stopping, stopped, or halted after raise-on-error escalated). Its data lives in collaborators: the <see cref="TaskTable"/>, the <see cref="StoreLink"/>,
/// the <see cref="TaskRunners"/> and the <see cref="ManagerTelemetry"/> (docs/architecture.md, "The manager").
/// </summary>
internal sealed class PeriodicTaskManager : ReceiveActor, IWithTimers, IWithUnboundedStash
{
    /// <summary>A task's runner not dispatched for this long is stopped; its next run creates it again.</summary>
    public static readonly TimeSpan PassivateIdleAfter = TimeSpan.FromMinutes(1);

    /// <summary>A cluster run whose start the store has not recorded within this time does not begin (docs/cluster.md).</summary>
    public static readonly TimeSpan RecordStartTimeout = TimeSpan.FromSeconds(30);

    private readonly string _setName;
    private readonly PeriodicTaskSettings _settings;
    private readonly IReadOnlyList<PeriodicTaskDefinition> _definitions;
    private readonly TaskScope _scope;
    private readonly SetStart? _setStart;
    private readonly Props? _storeProps;
    private readonly TaskRunners _runners;
    private readonly ManagerTelemetry _telemetry;
    private readonly bool _withTicker;
    private readonly long _passivateAfterTicks;

    // Made when the set begins (at once, or once its store has recovered).
    private TaskTable _tasks = null!;
    private StoreLink _store = StoreLink.None;
    private TaskPauses _pauses = null!;
    private RunOrders _runs = null!;
    private SetStart.Moment _start;
    private IActorRef? _keeper;
    private readonly List<DueRun> _due = [];
    private readonly TickWaiters _tickWaiters = new();
    private readonly List<IActorRef> _stopRequesters = [];
    private IActorRef? _ticker;
    private Phase _phase = Phase.Dispatching;
    private long _currentTick = -1;
    private long _nextSweepTick;
    private int _running;

    private PeriodicTaskManager(
        string setName, IReadOnlyList<PeriodicTaskDefinition> tasks, PeriodicTaskSettings settings, bool withTicker,
        Props? store, SetStart? start, TaskScope scope)
    {
        _setStart = start;
        _storeProps = store;
        _setName = setName;
        _settings = settings;
        _definitions = tasks;
        _scope = scope;
        _withTicker = withTicker;
        _telemetry = new ManagerTelemetry(setName, Context.System.EventStream, Context.GetLogger());
        var interval = settings.PeriodicInterval;
        _passivateAfterTicks = Math.Max(1, (PassivateIdleAfter.Ticks + interval.Ticks - 1) / interval.Ticks);
        _nextSweepTick = _passivateAfterTicks;
        _runners = new TaskRunners(Context, setName, _passivateAfterTicks, settings.RunEvents);
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
        Akka.Actor.Props.CreateBy(new Producer(setName, tasks, settings, withTicker, store, start, scope));

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
        if (_storeProps is null)
        {
            Begin(StoreLink.None);
            return;
        }

        _keeper = Context.Watch(Context.ActorOf(_storeProps, "keeper"));
    }

    /// <summary>
    /// Starts from the store's places (none without a store): the ticker starts, and dispatching begins. Ticks count from
    /// the set's start, or, with a store, from the end of its recovery (docs/architecture.md, "When a set starts").
    /// </summary>
    private void Begin(StoreLink store)
    {
        _start = SetStart.For(_storeProps is null ? _setStart : null, Context.System);
        var interval = _settings.PeriodicInterval;
        var fuzzy = _settings.FuzzyDelay > TimeSpan.Zero
            ? TimeSpan.FromTicks((long)(Random.Shared.NextDouble() * _settings.FuzzyDelay.Ticks))
            : TimeSpan.Zero;
        if (fuzzy > TimeSpan.Zero)
            _telemetry.Log.Info("{0}: fuzzy delay {1} ms added to the first tick", _setName, (long)fuzzy.TotalMilliseconds);
        var schedule = new TaskSchedule(_definitions.Select(t => t.Options).ToList(), new TickClock(_settings.InitialDelay + fuzzy, interval), _start.At);
        _tasks = new TaskTable(_setName, _definitions, interval, _scope, schedule);
        _store = store;
        _pauses = new TaskPauses(this, Context.System.Scheduler, store, _telemetry);
        _runs = new RunOrders(_tasks.Schedule.Clock, _start.At, store.TickBase);
        foreach (var missed in store.Restore(_tasks, _start.At))
            CountMissed(_tasks[missed.Index], 0, _start.At, missed.Missed);
        _telemetry.PausedCount(_tasks.All.Count(t => t.Pause is not null));
        _pauses.StartRestored(_tasks.All);
        if (_withTicker)
            _ticker = Context.ActorOf(Ticker.Props(_tasks.Schedule.Clock, _settings.TickSource, Self, _start, store.TickBase), "ticker");
        _telemetry.Log.Info("{0}: {1} periodic tasks, tick every {2}", _setName, _tasks.All.Count, Durations.Format(_settings.PeriodicInterval));
        Become(Dispatching);
    }

    protected override void PostStop() => _telemetry.Gone(_running, _tasks?.Live.Count(t => t.Pause is not null) ?? 0);

    /// <summary>raise_on_error as supervision: a failed run is logged in nova's words, then resumed or escalated.</summary>
    private Directive Decide(Exception error)
    {
        if (Sender.Equals(_keeper))
            return Directive.Escalate; // the store failed: the set's own supervisor decides, as for the set
        if (error is not PeriodicTaskFailedException failed)
        {
            _telemetry.Log.Error(error, "{0}: task runner failed unexpectedly; restarting it", _setName);
            if (_runners.TaskOf(Sender) is { InFlight: true } task)
                OnRunEnded(new RunEnded(task.Index, RunOutcome.Failed, TimeSpan.Zero)); // the restart lost the run
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
            Begin(StoreLink.For(recovered.Store));
            Stash.UnstashAll();
        });
        Receive<Terminated>(OnTerminated);
        ReceiveAny(_ => Stash.Stash());
    }

    private void Dispatching()
    {
        Receive<Tick>(OnTick);
        Receive<TriggerTask>(OnTrigger);
        Receive<ChangeTasks>(OnChangeTasks);
        Receive<StopTasks>(_ => BeginStop());
        Always();
    }

    private void NotDispatching()
    {
        Receive<Tick>(tick => RecordTick(tick));
        Receive<StopTimeoutElapsed>(_ =>
        {
            if (_phase != Phase.Stopping)
                return;
            _telemetry.Log.Warning("{0}: {1} runs still in flight after shutdown-timeout {2}", _setName, _running, Durations.Format(_settings.ShutdownTimeout));
            StopDispatching(Phase.Stopped);
        });
        Receive<StopTasks>(_ =>
        {
            if (_phase == Phase.Halted)
                BeginStop();
            else if (_phase == Phase.Stopping)
                _stopRequesters.Add(Sender);
            else
                Sender.Tell(new TasksStopped(_setName, _running));
        });
        Receive<TriggerTask>(t => Refuse(t.Task));
        Receive<ChangeTasks>(_ => Refuse(null));
        Always();
    }

    /// <summary>Run ends, stats, tick notifications, pause and resume: in every phase (a pause is kept whatever the set does).</summary>
    private void Always()
    {
        Receive<RunEnded>(OnRunEnded);
        Receive<RunStartRecorded>(OnStartRecorded);
        Receive<GetTaskStats>(_ => Sender.Tell(new TaskStatsReport(_setName, _currentTick < 0 ? _currentTick : _store.Outside(_currentTick),
            _tasks.Live.Select(t => StatsOf(t)).ToList())));
        Receive<NotifyWhenTicked>(n => _tickWaiters.Add(n, Sender, _currentTick < 0 ? null : _store.Outside(_currentTick)));
        Receive<GetRecentRuns>(q =>
        {
            if (Find(q.Task) is null)
                return;
            if (_keeper is null)
                Sender.Tell(new RecentRunsReport(_setName, q.Task, false, [])); // only a store keeps them
            else
                _keeper.Forward(q);
        });
        Receive<FlushState>(f =>
        {
            if (_keeper is null)
                Sender.Tell(StateFlushed.Instance);
            else
                _keeper.Forward(f);
        });
        Receive<RecordStartTimedOut>(OnRecordStartTimedOut);
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
        {
            Timers.Cancel(StopTimeoutElapsed.Instance);
            foreach (var requester in _stopRequesters)
                requester.Tell(new TasksStopped(_setName, _running));
            _stopRequesters.Clear();
        }

        Become(NotDispatching);
    }

    private void BeginStop()
    {
        _stopRequesters.Add(Sender);
        if (_ticker is not null)
            Context.Stop(_ticker);
        foreach (var task in _tasks.All)
            task.Child?.Tell(CancelRun.Instance);
        if (_running == 0)
        {
            StopDispatching(Phase.Stopped);
            return;
        }

        Timers.StartSingleTimer(StopTimeoutElapsed.Instance, StopTimeoutElapsed.Instance, _settings.ShutdownTimeout);
        StopDispatching(Phase.Stopping);
    }

    private void Refuse(string? task)
    {
        var why = _phase switch { Phase.Stopping => "it is stopping", Phase.Stopped => "it is stopped", _ => "raise-on-error halted it" };
        Sender.Tell(new Status.Failure(new TaskSetUnavailableException(task is null
            ? $"task set '{_setName}' cannot change its tasks: {why}."
            : $"task set '{_setName}' cannot run '{task}': {why}.")));
    }

    // ---- ticks and dispatch -----------------------------------------------------------------------------------------

    private void OnTick(Tick tick)
    {
        if (!RecordTick(tick))
            return;
        Dispatch(_currentTick);
        if (_currentTick >= _nextSweepTick)
        {
            _runners.Passivate(_currentTick);
            _nextSweepTick = _currentTick + _passivateAfterTicks;
        }
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

    private void Dispatch(long tick)
    {
        _due.Clear();
        _tasks.Schedule.Advance(tick, _due);
        var run = _runs.For(tick);
        var now = Context.System.Scheduler.Now;
        _store.TickDispatched(_tasks, tick, _due, run.ScheduledAt, _start.At);
        _telemetry.LogTick(_tasks, tick, _due);
        foreach (var due in _due)
        {
            var task = _tasks[due.Index];
            if (task.Pause is { } pause)
            {
                if (pause.Until is not { } until || until > run.ScheduledAt)
                {
                    // A pause masks the due run (and any it coalesces); the schedule has moved on as usual.
                    task.Counters.SkippedPaused(1 + due.Missed);
                    continue;
                }

                _pauses.Resume(task, "expired");
            }

            if (due.Missed > 0)
                CountMissed(task, tick, run.ScheduledAt, due.Missed);
            Offer(task, run, now);
        }
    }

    /// <summary>Starts the run, or, with a run in flight, queues it (overlap = queue, none pending) or counts an overrun.</summary>
    private bool Offer(TaskState task, Run run, DateTimeOffset now)
    {
        task.LastDispatchTick = Math.Max(0, _currentTick);
        if (!task.InFlight)
        {
            Start(task, run, now);
            return true;
        }

        if (task.Definition.Options.Overlap == OverlapMode.Queue && task.Pending is null)
        {
            task.Pending = run;
            return true;
        }

        task.Counters.Overran();
        _telemetry.Overran(task, run);
        return false;
    }

    private void OnTrigger(TriggerTask trigger)
    {
        if (Find(trigger.Task) is not { } task)
            return;
        var tick = _store.Outside(Math.Max(0, _currentTick));
        var now = Context.System.Scheduler.Now;
        var started = Offer(task, new Run(tick, now), now);
        Sender.Tell(new TaskTriggered(trigger.Task, tick, started));
        _telemetry.Triggered(task, now, tick, started);
    }

    // ---- a run: start, recorded start, end --------------------------------------------------------------------------

    /// <summary>
    /// Starts a run. A store that records a start before its run (cluster tasks, docs/cluster.md, "Never two runs") is
    /// told first, and the Run goes to the runner when it answers <see cref="RunStartRecorded"/>; other stores are told
    /// beside the run.
    /// </summary>
    private void Start(TaskState task, Run run, DateTimeOffset now)
    {
        task.Start(run, _store.RecordsStartBeforeRun);
        task.Counters.Started(now);
        _running++;
        _telemetry.RunStarted();
        _store.RunStarting(task, run, now);
        if (task.State == RunState.Running)
            _runners.Of(task).Tell(run);
        else
            Timers.StartSingleTimer(RecordTimerKey(task), new RecordStartTimedOut(task.Index, run), RecordStartTimeout);
    }

    private static string RecordTimerKey(TaskState task) => "record-" + task.Index;

    /// <summary>The store recorded a start: the run begins, unless the set stopped dispatching or lost the task meanwhile.</summary>
    private void OnStartRecorded(RunStartRecorded recorded)
    {
        var task = _tasks[recorded.Index];
        if (task.State != RunState.RecordingStart || !Equals(task.CurrentRun, recorded.Run))
            return; // that run has already ended
        Timers.Cancel(RecordTimerKey(task));
        task.StartRecorded();
        if (IsDispatching && _tasks.IsLive(task))
            _runners.Of(task).Tell(recorded.Run);
        else
            OnRunEnded(new RunEnded(task.Index, RunOutcome.Cancelled, TimeSpan.Zero));
    }

    /// <summary>The store did not record a start in time: the run does not begin, and ends as cancelled.</summary>
    private void OnRecordStartTimedOut(RecordStartTimedOut timedOut)
    {
        var task = _tasks[timedOut.Index];
        if (task.State != RunState.RecordingStart || !Equals(task.CurrentRun, timedOut.Run))
            return;
        _telemetry.Log.Warning("{0}.{1}: the state store did not record the start of the run of tick {2} within {3}: the run does not begin",
            _setName, task.Name, timedOut.Run.Tick, Durations.Format(RecordStartTimeout));
        OnRunEnded(new RunEnded(task.Index, RunOutcome.Cancelled, TimeSpan.Zero));
    }

    /// <summary>The store child stopped (a journal write failed, which stops it): the set stops with it, as before it has no record.</summary>
    private void OnTerminated(Terminated terminated)
    {
        if (!terminated.ActorRef.Equals(_keeper))
            return;
        _telemetry.Log.Error("{0}: the state store stopped (see the error before this one): the task set stops", _setName);
        Context.Stop(Self);
    }

    /// <summary>
    /// The one path by which a run ends (its runner's answer, a cancelled recorded start, a runner restarted by
    /// supervision): counts it, retires an outdated runner, applies pause-after-failures, then starts a queued run or
    /// completes a stop.
    /// </summary>
    private void OnRunEnded(RunEnded ended)
    {
        var task = _tasks[ended.Index];
        if (!task.InFlight)
            return; // an end already counted
        if (task.End())
            _runners.Stop(task);
        _running--;
        task.Counters.Ended(ended.Outcome, ended.Duration, ended.Attempts);
        _telemetry.RunEnded(task, ended);
        _store.RunEnded(task, ended, Context.System.Scheduler);
        var live = _tasks.IsLive(task);
        if (ended.Outcome == RunOutcome.Succeeded)
            task.ConsecutiveFailures = 0;
        else if (ended.Outcome is RunOutcome.Failed or RunOutcome.TimedOut && live)
            CountFailedOccurrence(task);

        if (IsDispatching && live && task.Pending is { } pending)
        {
            task.Pending = null;
            Start(task, pending, Context.System.Scheduler.Now);
        }
        else if (_phase == Phase.Stopping && _running == 0)
        {
            StopDispatching(Phase.Stopped);
        }
    }

    /// <summary>pause-after-failures = K: the K-th failed occurrence in a row pauses the task.</summary>
    private void CountFailedOccurrence(TaskState task)
    {
        task.ConsecutiveFailures++;
        var limit = task.Definition.Options.PauseAfterFailures;
        if (limit <= 0 || task.ConsecutiveFailures < limit || task.Pause is not null)
            return;
        var note = $"paused after {limit} consecutive failures";
        _telemetry.PausedAfterFailures(task, note);
        _pauses.Pause(task, note, until: null);
    }

    private void CountMissed(TaskState task, long tick, DateTimeOffset scheduledAt, int missed)
    {
        task.Counters.MissedDueTimes(missed);
        _telemetry.Missed(task, _store.Outside(tick), scheduledAt, missed);
    }

    // ---- pause and resume ---------------------------------------------------------------------------------------------

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

    // ---- run-time changes ---------------------------------------------------------------------------------------------

    /// <summary>Applies a change whole, or refuses it whole (the set is then exactly as before).</summary>
    private void OnChangeTasks(ChangeTasks request)
    {
        try
        {
            _tasks.Check(request.Changes);
        }
        catch (Exception e) when (e is PeriodicTaskDefinitionException or PeriodicTaskNotFoundException or ArgumentException)
        {
            Sender.Tell(new Status.Failure(e));
            return;
        }

        var now = Context.System.Scheduler.Now;
        var (added, updated, removed) = _tasks.Apply(request.Changes, _currentTick);
        foreach (var task in added)
            _telemetry.Added(task, now);
        foreach (var task in updated)
        {
            _runners.Retire(task);
            _telemetry.Updated(task, now);
        }

        foreach (var task in removed)
            Remove(task, now);
        _telemetry.Log.Info("{0}: tasks changed: {1} added, {2} updated, {3} removed", _setName, added.Count, updated.Count, removed.Count);
        Sender.Tell(new TasksChanged(_setName, Names(added), Names(updated), Names(removed)));

        static List<string> Names(List<TaskState> tasks) => tasks.ConvertAll(t => t.Name);
    }

    /// <summary>The task never starts again; its run in flight ends normally (a pending retry is dropped).</summary>
    private void Remove(TaskState task, DateTimeOffset now)
    {
        _pauses.Forget(task);
        if (task.State is RunState.Running or RunState.Retiring)
            task.Child?.Tell(DropRetries.Instance);
        _runners.Retire(task);
        _telemetry.Removed(task, now);
    }

    // ---- lookups --------------------------------------------------------------------------------------------------------

    /// <summary>The live task named <paramref name="name"/>; otherwise the sender gets a failure naming the closest task.</summary>
    private TaskState? Find(string name)
    {
        if (_tasks.Find(name) is { } task)
            return task;
        Sender.Tell(new Status.Failure(_tasks.NotFound(name)));
        return null;
    }

    private TaskStats StatsOf(TaskState task) => _tasks.StatsOf(task, IsDispatching, _store, _start.At);

    private sealed class Producer(
        string setName, IReadOnlyList<PeriodicTaskDefinition> tasks, PeriodicTaskSettings settings, bool withTicker,
        Props? store, SetStart? start, TaskScope scope) : IIndirectActorProducer
    {
        public Type ActorType => typeof(PeriodicTaskManager);

        public ActorBase Produce() => new PeriodicTaskManager(setName, tasks, settings, withTicker, store, start, scope);

        public void Release(ActorBase actor)
        {
        }
    }

    private sealed record RecordStartTimedOut(int Index, Run Run);

    private sealed record StopTimeoutElapsed
    {
        public static readonly StopTimeoutElapsed Instance = new();
    }
}
