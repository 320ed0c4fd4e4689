using ActorScheduler.Configuration;
using ActorScheduler.Messages;
using ActorScheduler.Scheduling;
using ActorScheduler.Tasks;
using Akka.Actor;
using Akka.Event;

namespace ActorScheduler.Actors;

/// <summary>
/// The manager of one task set: nova's <c>run_periodic_tasks</c> as an actor. It owns the skip table (a
/// <see cref="TaskSchedule"/>) as private state; on each <see cref="Tick"/> it sends a run to the child of each due task,
/// in registration order, and logs nova's messages. It never runs task code and never waits for a task. Its supervision
/// strategy stands in for raise_on_error: Resume (log, count) or Escalate (stop dispatching, fail to the parent).
/// </summary>
public sealed class PeriodicTaskManager : ReceiveActor, IWithTimers
{
    private readonly string _setName;
    private readonly PeriodicTaskSettings _settings;
    private readonly TaskState[] _tasks;
    private readonly Dictionary<string, int> _indexByName;
    private readonly TaskSchedule _schedule;
    private readonly bool _withTicker;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly List<DueRun> _due = [];
    private readonly List<(long Tick, IActorRef Requester)> _tickWaiters = [];
    private readonly DateTimeOffset _startedAt;
    private readonly long _startTimestamp;
    private readonly ScheduleHooks? _hooks;
    private bool _reportedAllPlaces;

    private readonly List<TaskState> _live = [];
    private readonly long _passivateAfterTicks;
    private long _nextSweepTick;
    private IActorRef? _ticker;
    private TaskRunner.Run? _order;
    private TaskRunner.Run[] _orderBatch = [];
    private TaskRunner.Run[] _nextOrderBatch = [];
    private long _orderBatchFirstTick;
    private long _orders;
    private DateTimeOffset _dispatchedAt;
    private long _currentTick = -1;
    private bool _halted;
    private bool _stopping;
    private IActorRef? _stopRequester;
    private int _running;

    public PeriodicTaskManager(
        string setName, IReadOnlyList<PeriodicTaskDefinition> tasks, PeriodicTaskSettings settings, bool withTicker)
        : this(setName, tasks, settings, withTicker, null)
    {
    }

    public PeriodicTaskManager(
        string setName, IReadOnlyList<PeriodicTaskDefinition> tasks, PeriodicTaskSettings settings, bool withTicker,
        ScheduleHooks? hooks)
        : this(setName, tasks, settings, withTicker, hooks, null)
    {
    }

    private PeriodicTaskManager(
        string setName, IReadOnlyList<PeriodicTaskDefinition> tasks, PeriodicTaskSettings settings, bool withTicker,
        ScheduleHooks? hooks, SetStart? start)
    {
        _hooks = hooks;
        // The moment the task set starts: tick offsets count from here (DESIGN.md section 3.1). It is the moment the
        // application started the set when it says so (StartPeriodicTasks, WithPeriodicTasks), else this construction.
        (_startedAt, _startTimestamp) = SetStart.For(start, Context.System);
        _setName = setName;
        _settings = settings;
        _withTicker = withTicker;
        _tasks = tasks.Select((t, i) => new TaskState(t, i)).ToArray();
        _passivateAfterTicks = TicksIn(PassivateIdleAfter, settings.PeriodicInterval);
        _nextSweepTick = _passivateAfterTicks;
        _indexByName = _tasks.ToDictionary(t => t.Definition.Name, t => t.Index, StringComparer.Ordinal);
        var fuzzy = settings.FuzzyDelay > TimeSpan.Zero
            ? TimeSpan.FromTicks((long)(Random.Shared.NextDouble() * settings.FuzzyDelay.Ticks))
            : TimeSpan.Zero;
        _schedule = new TaskSchedule(tasks.Select(t => t.Options).ToList(), new TickClock(settings.InitialDelay + fuzzy, settings.PeriodicInterval));
        if (hooks?.Restored is { } restored)
            RestoreSchedule(restored);
        if (fuzzy > TimeSpan.Zero)
            _log.Info("{0}: fuzzy delay {1} ms added to the first tick", setName, (long)fuzzy.TotalMilliseconds);

        Receive<Tick>(OnTick);
        Receive<TickScheduler.TickAt>(tick =>
        {
            tick.WaitUntilDue();
            OnTick(new Tick(tick.Number));
        });
        Receive<TaskRunner.RunStarted>(OnRunStarted);
        Receive<TaskRunner.RunEnded>(OnRunEnded);
        Receive<TaskRunner.RunOverran>(OnRunOverran);
        Receive<TaskRunner.RunQueued>(queued => UndoAssumedStart(_tasks[queued.Index], queued.Run));
        Receive<GetTaskStats>(_ => Sender.Tell(Report()));
        Receive<NotifyWhenTicked>(OnNotifyWhenTicked);
        Receive<TriggerTask>(OnTriggerTask);
        Receive<StopTasks>(_ => OnStopTasks());
        Receive<StopTimeoutElapsed>(_ => CompleteStop());
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>
    /// Props of the manager of <paramref name="set"/>. Overrides from <paramref name="settings"/> are applied and checked
    /// here, so configuration mistakes surface as <see cref="PeriodicTaskConfigurationException"/> at the call site.
    /// With <paramref name="withTicker"/> false no tick scheduler is started: send <see cref="Tick"/> yourself (tests).
    /// </summary>
    public static Props Props(PeriodicTaskSet set, PeriodicTaskSettings settings, bool withTicker = true) =>
        Props(set, settings, withTicker, null);

    /// <summary>As the public Props, with the moment the application started the set (see <see cref="SetStart"/>).</summary>
    internal static Props Props(PeriodicTaskSet set, PeriodicTaskSettings settings, bool withTicker, SetStart? start)
    {
        ArgumentNullException.ThrowIfNull(set);
        ArgumentNullException.ThrowIfNull(settings);
        var tasks = settings.Resolve(set);
        foreach (var task in tasks)
            if (task.Options.Scope == TaskScope.Cluster)
                throw new PeriodicTaskConfigurationException(
                    $"{settings.Path}.tasks.{task.Name}.scope",
                    "cluster needs the ActorScheduler.Cluster package: start the set with StartClusterPeriodicTasks or WithClusterPeriodicTasks.");
        return Props(set.Name, tasks, settings, withTicker, null, start);
    }

    /// <summary>
    /// Props of a manager of already resolved <paramref name="tasks"/>, wired to a schedule keeper; ticks count from
    /// <paramref name="start"/> when given (see <see cref="SetStart"/>), else from the manager's construction.
    /// </summary>
    internal static Props Props(
        string setName, IReadOnlyList<PeriodicTaskDefinition> tasks, PeriodicTaskSettings settings, bool withTicker,
        ScheduleHooks? hooks, SetStart? start = null) =>
        // A producer instead of an expression: Akka evaluates an expression's arguments by compiling them, which costs
        // milliseconds on every Props (and so delays the start of the set).
        Akka.Actor.Props.CreateBy(new Producer(setName, tasks, settings, withTicker, hooks, start));

    /// <summary>Creates the manager with a plain constructor call (also on a restart by its supervisor).</summary>
    private sealed class Producer(
        string setName, IReadOnlyList<PeriodicTaskDefinition> tasks, PeriodicTaskSettings settings, bool withTicker,
        ScheduleHooks? hooks, SetStart? start) : IIndirectActorProducer
    {
        public Type ActorType => typeof(PeriodicTaskManager);

        public ActorBase Produce() => new PeriodicTaskManager(setName, tasks, settings, withTicker, hooks, start);

        public void Release(ActorBase actor)
        {
        }
    }

    /// <summary>
    /// Passivation: the child of a task that has not been dispatched for this long (at least one tick) is stopped; its
    /// next run creates it again. Tasks that run rarely then cost only their place in the skip table between runs, for
    /// one child creation per run; tasks that run more often than this keep their child. The manager looks at its live
    /// children (not at every task) once per this interval.
    /// </summary>
    public static readonly TimeSpan PassivateIdleAfter = TimeSpan.FromMinutes(1);

    /// <summary>The conventional actor name of a set's manager: periodic-tasks-NAME.</summary>
    public static string ActorName(string setName) => "periodic-tasks-" + setName;

    /// <summary>
    /// raise_on_error as supervision. A failed run arrives as <see cref="PeriodicTaskFailedException"/>: it is logged with
    /// nova's words; raise-on-error = off resumes the runner (the task keeps its schedule), on escalates it to this
    /// manager's parent after halting dispatch. Anything else thrown by a runner is a defect and restarts it.
    /// </summary>
    protected override SupervisorStrategy SupervisorStrategy() =>
        new OneForOneStrategy(-1, -1, Decide, loggingEnabled: false);

    private Directive Decide(Exception error)
    {
        if (error is not PeriodicTaskFailedException failed)
        {
            _log.Error(error, "{0}: task runner failed unexpectedly; restarting it", _setName);
            return Directive.Restart;
        }

        _log.Error(failed.InnerException, "{0}", failed.Message); // "Error during <set>.<task>: <message>"
        if (!_settings.RaiseOnError)
            return Directive.Resume;
        _halted = true;
        return Directive.Escalate;
    }

    protected override void PreStart()
    {
        if (_withTicker)
            _ticker = Context.ActorOf(TickScheduler.Props(_schedule.Clock, _settings.TickSource, Self, _startedAt, _startTimestamp), "ticker");
        _log.Info("{0}: {1} periodic tasks, tick every {2}", _setName, _tasks.Length, Durations.Format(_settings.PeriodicInterval));
    }

    private void OnTick(Tick tick)
    {
        if (tick.Number <= _currentTick)
        {
            _log.Warning("{0}: tick {1} ignored: tick {2} was already processed (ticks must increase)", _setName, tick.Number, _currentTick);
            return;
        }

        _currentTick = tick.Number;
        if (!_halted && !_stopping)
        {
            Dispatch(tick.Number);
            if (tick.Number >= _nextSweepTick)
            {
                PassivateIdleChildren(tick.Number);
                _nextSweepTick = tick.Number + _passivateAfterTicks;
            }
        }

        for (var i = _tickWaiters.Count - 1; i >= 0; i--)
        {
            if (_tickWaiters[i].Tick > tick.Number)
                continue;
            _tickWaiters[i].Requester.Tell(new Ticked(tick.Number));
            _tickWaiters.RemoveAt(i);
        }
    }

    private void Dispatch(long tick)
    {
        _due.Clear();
        _schedule.Advance(tick, _due);
        var scheduledAt = _startedAt + _schedule.Clock.OffsetOf(tick);
        _dispatchedAt = Context.System.Scheduler.Now;
        // The keeper (cluster package) records the tick's places before the runs' starts, which refine the last run time.
        if (_hooks is not null)
            ReportPlaces(tick, scheduledAt);
        if (_log.IsDebugEnabled)
        {
            DispatchLogged(tick, scheduledAt);
            return;
        }

        foreach (var run in _due)
            Dispatch(_tasks[run.Index], run, tick, scheduledAt);
    }

    /// <summary>Nova's loop with its debug lines: every task in registration order, skipped or run.</summary>
    private void DispatchLogged(long tick, DateTimeOffset scheduledAt)
    {
        var next = 0;
        foreach (var task in _tasks)
        {
            if (next < _due.Count && _due[next].Index == task.Index)
            {
                _log.Debug("Running periodic task {0}.{1}", _setName, task.Definition.Name);
                Dispatch(task, _due[next++], tick, scheduledAt);
            }
            else if (_schedule.NextDueTick(task.Index) is not null)
            {
                _log.Debug("Skipping {0}.{1}, {2} ticks left until next run", _setName, task.Definition.Name, _schedule.TicksLeft(task.Index, tick));
            }
        }
    }

    private void RestoreSchedule(IReadOnlyDictionary<string, RestoredPlace> restored)
    {
        var places = new TaskPlace?[_tasks.Length];
        foreach (var task in _tasks)
            if (restored.TryGetValue(task.Definition.Name, out var p))
            {
                places[task.Index] = new TaskPlace(p.TicksLeft, p.NextDueAt - _startedAt, p.NotBefore - _startedAt);
                task.LastStart = p.LastRunAt;
            }

        foreach (var missed in _schedule.Restore(places))
        {
            var task = _tasks[missed.Index];
            task.Missed += missed.Missed;
            PeriodicTaskMetrics.Count(PeriodicTaskMetrics.Missed, _setName, task.Definition.Name, missed.Missed);
            Context.System.EventStream.Publish(new PeriodicTaskMissed(_setName, task.Definition.Name, 0, _startedAt, missed.Missed));
        }
    }

    private void ReportPlaces(long tick, DateTimeOffset scheduledAt)
    {
        var places = new List<PlaceReport>(_reportedAllPlaces ? _due.Count : _tasks.Length);
        if (_reportedAllPlaces)
        {
            foreach (var run in _due)
                AddPlace(places, run.Index, scheduledAt);
        }
        else
        {
            var due = 0;
            foreach (var task in _tasks)
            {
                var ran = due < _due.Count && _due[due].Index == task.Index;
                if (ran)
                    due++;
                AddPlace(places, task.Index, ran ? scheduledAt : null);
            }

            _reportedAllPlaces = true;
        }

        _hooks!.Keeper.Tell(new ScheduleAdvanced(tick, places));
    }

    private void AddPlace(List<PlaceReport> places, int index, DateTimeOffset? ranAt)
    {
        if (_schedule.PlaceOf(index) is not { } place)
            return;
        places.Add(new PlaceReport(
            _tasks[index].Definition.Name, _schedule.NextDueTick(index), _startedAt + place.NextDueTime, ranAt));
    }

    private void Dispatch(TaskState task, DueRun run, long tick, DateTimeOffset scheduledAt)
    {
        if (run.Missed > 0)
        {
            task.Missed += run.Missed;
            PeriodicTaskMetrics.Count(PeriodicTaskMetrics.Missed, _setName, task.Definition.Name, run.Missed);
            Context.System.EventStream.Publish(new PeriodicTaskMissed(_setName, task.Definition.Name, tick, scheduledAt, run.Missed));
        }

        // One order per tick, shared by every task due on it: dispatch allocates nothing per task.
        if (_order is null || _order.Tick != tick)
            _order = OrderFor(tick).Dispatch(_dispatchedAt);
        Send(task, _order, _dispatchedAt);
    }

    /// <summary>
    /// The order for <paramref name="tick"/>, made in a batch well before its tick. An order made at dispatch would be a
    /// young object that the mailbox of every task due on the tick refers to: every garbage collection would then scan
    /// all those long-lived mailboxes (tens of milliseconds with 100,000 tasks). Made ahead, it has aged with them.
    /// </summary>
    private TaskRunner.Run OrderFor(long tick)
    {
        if (tick >= _orderBatchFirstTick + _orderBatch.Length)
        {
            var next = _orderBatchFirstTick + _orderBatch.Length;
            if (_nextOrderBatch.Length > 0 && tick < next + _nextOrderBatch.Length)
            {
                (_orderBatch, _orderBatchFirstTick) = (_nextOrderBatch, next);
            }
            else
            {
                _orderBatch = MakeOrders(tick);
                _orderBatchFirstTick = tick;
            }

            _nextOrderBatch = MakeOrders(_orderBatchFirstTick + OrdersPerBatch);
        }

        return _orderBatch[tick - _orderBatchFirstTick];
    }

    private const int OrdersPerBatch = 128;

    private TaskRunner.Run[] MakeOrders(long firstTick)
    {
        var orders = new TaskRunner.Run[OrdersPerBatch];
        for (var i = 0; i < orders.Length; i++)
            orders[i] = new TaskRunner.Run(++_orders, firstTick + i, _startedAt + _schedule.Clock.OffsetOf(firstTick + i));
        return orders;
    }

    /// <summary>
    /// Sends a run order to the task's child. The child starts it at once unless a run is in flight, and says so only
    /// when it does not (RunOverran, RunQueued): so the start is counted here, with no message back per run.
    /// </summary>
    private void Send(TaskState task, TaskRunner.Run order, DateTimeOffset now)
    {
        task.LastDispatchTick = order.Tick;
        ChildOf(task).Tell(order);
        if (task.Running || _stopping)
            return;
        task.PreviousStart = task.LastStart;
        task.AssumedOrder = order.Order;
        task.Runs++;
        task.Running = true;
        task.LastStart = now;
        _running++;
        ReportRunState(task, true, now);
    }

    /// <summary>The child did not start <paramref name="order"/>: take back the start counted when it was sent.</summary>
    private void UndoAssumedStart(TaskState task, TaskRunner.Run order)
    {
        if (!task.Running || task.AssumedOrder != order.Order)
            return;
        task.AssumedOrder = 0;
        task.Runs--;
        task.Running = false;
        task.LastStart = task.PreviousStart;
        _running--;
        ReportRunState(task, false, Context.System.Scheduler.Now);
        if (_stopping && _running <= 0)
            CompleteStop();
    }

    /// <summary>The task's child, created on its first run (and again on the first run after a passivation).</summary>
    private IActorRef ChildOf(TaskState task)
    {
        if (task.Child is { } child)
            return child;
        // A passivated child's name stays taken until it has stopped: a new incarnation gets a name of its own.
        var name = ChildName(task.Definition.Name);
        if (task.Incarnation > 0)
            name = $"task~{task.Incarnation + 1}-{name["task-".Length..]}";
        task.Incarnation++;
        task.Child = Context.ActorOf(TaskRunner.Props(_setName, task.Index, task.Definition), name);
        _live.Add(task);
        return task.Child;
    }

    private static string ChildName(string task)
    {
        var name = "task-" + task;
        return ActorPath.IsValidPathElement(name) ? name : "task-" + Uri.EscapeDataString(task).Replace('%', '~');
    }

    /// <summary>
    /// Stops the children of tasks idle for long (see <see cref="PassivateIdleAfter"/>): not running, not dispatched
    /// since, and whose last run did not time out (a timed-out body may still be running in its child, which must go on
    /// blocking the task's next run). Stats stay here, in the manager.
    /// </summary>
    private void PassivateIdleChildren(long tick)
    {
        for (var i = _live.Count - 1; i >= 0; i--)
        {
            var task = _live[i];
            if (task.Running || task.LastTimedOut || tick - task.LastDispatchTick < _passivateAfterTicks)
                continue;
            Context.Stop(task.Child!);
            task.Child = null;
            _live[i] = _live[^1];
            _live.RemoveAt(_live.Count - 1);
        }
    }

    private static long TicksIn(TimeSpan span, TimeSpan interval) =>
        Math.Max(1, (span.Ticks + interval.Ticks - 1) / interval.Ticks);

    private void OnRunStarted(TaskRunner.RunStarted started)
    {
        var task = _tasks[started.Index];
        task.Runs++;
        task.Running = true;
        task.LastStart = started.StartedAt;
        _running++;
        ReportRunState(task, true, started.StartedAt);
    }

    /// <summary>Tells the schedule keeper (cluster package) that a run started or ended, so a new owner can hold it.</summary>
    private void ReportRunState(TaskState task, bool running, DateTimeOffset at) =>
        _hooks?.Keeper.Tell(new RunStateChanged(
            task.Definition.Name, running, at, running ? at + task.Definition.Options.Timeout : null));

    private void OnRunOverran(TaskRunner.RunOverran overran)
    {
        var task = _tasks[overran.Index];
        UndoAssumedStart(task, overran.Run);
        task.Overruns++;
        PeriodicTaskMetrics.Count(PeriodicTaskMetrics.Overruns, _setName, task.Definition.Name, 1);
    }

    private void OnRunEnded(TaskRunner.RunEnded ended)
    {
        var task = _tasks[ended.Index];
        task.AssumedOrder = 0;
        switch (ended.Outcome)
        {
            case TaskRunner.RunOutcome.Succeeded: task.Succeeded++; break;
            case TaskRunner.RunOutcome.Failed: task.Failed++; break;
            case TaskRunner.RunOutcome.TimedOut: task.TimedOut++; break;
            case TaskRunner.RunOutcome.Cancelled: task.Cancelled++; break;
        }

        task.LastTimedOut = ended.Outcome == TaskRunner.RunOutcome.TimedOut;
        task.LastDuration = ended.Duration;
        task.TotalDuration += ended.Duration;
        task.Ended++;
        if (ended.Duration > task.MaxDuration)
            task.MaxDuration = ended.Duration;
        PeriodicTaskMetrics.RunEnded(_setName, task.Definition.Name, OutcomeName(ended.Outcome), ended.Duration);
        // A timed-out run whose body ignores cancellation still blocks the task's next run (in its runner), but no
        // longer counts as running here, so it does not hold up a graceful stop.
        if (task.Running)
        {
            task.Running = false;
            _running--;
        }

        ReportRunState(task, false, Context.System.Scheduler.Now);
        if (_stopping && _running <= 0)
            CompleteStop();
    }

    private static string OutcomeName(TaskRunner.RunOutcome outcome) => outcome switch
    {
        TaskRunner.RunOutcome.Succeeded => "succeeded",
        TaskRunner.RunOutcome.Failed => "failed",
        TaskRunner.RunOutcome.Cancelled => "cancelled",
        _ => "timed-out",
    };

    private void OnNotifyWhenTicked(NotifyWhenTicked request)
    {
        if (_currentTick >= request.Tick)
            Sender.Tell(new Ticked(_currentTick));
        else
            _tickWaiters.Add((request.Tick, Sender));
    }

    private void OnTriggerTask(TriggerTask trigger)
    {
        if (!_indexByName.TryGetValue(trigger.Task, out var index))
        {
            var closest = Suggestions.Closest(trigger.Task, _indexByName.Keys);
            Sender.Tell(new Status.Failure(new ArgumentException(
                $"no task named '{trigger.Task}' in set '{_setName}'{(closest is null ? "" : $"; did you mean '{closest}'?")}")));
            return;
        }

        var tick = Math.Max(0, _currentTick);
        var now = Context.System.Scheduler.Now;
        Send(_tasks[index], new TaskRunner.Run(++_orders, tick, now).Dispatch(now), now);
        Sender.Tell(new TaskTriggered(trigger.Task, tick));
    }

    private void OnStopTasks()
    {
        if (_stopRequester is not null || (_stopping && _running <= 0))
        {
            Sender.Tell(new TasksStopped(_setName, _running));
            return;
        }

        _stopping = true;
        _stopRequester = Sender;
        if (_ticker is not null)
            Context.Stop(_ticker);
        foreach (var task in _tasks)
            task.Child?.Tell(TaskRunner.CancelRun.Instance);
        if (_running <= 0)
        {
            CompleteStop();
            return;
        }

        Timers.StartSingleTimer(StopTimeoutElapsed.Instance, StopTimeoutElapsed.Instance, _settings.ShutdownTimeout);
    }

    private void CompleteStop()
    {
        if (_stopRequester is null)
            return;
        if (_running > 0)
            _log.Warning("{0}: {1} runs still in flight after shutdown-timeout {2}", _setName, _running, Durations.Format(_settings.ShutdownTimeout));
        _stopRequester.Tell(new TasksStopped(_setName, Math.Max(0, _running)));
        _stopRequester = ActorRefs.Nobody;
    }

    private TaskStatsReport Report() => new(_setName, _currentTick, _tasks.Select(t =>
    {
        var next = _halted || _stopping ? null : _schedule.NextDueTick(t.Index);
        return new TaskStats(
            t.Definition.Name,
            t.Definition.Options.DescribeSchedule(_settings.PeriodicInterval),
            !t.Definition.Options.IsDisabled,
            t.Runs, t.Succeeded, t.Failed, t.TimedOut, t.Cancelled, t.Overruns, t.Missed, t.Running,
            t.LastStart, t.LastDuration,
            t.Ended > 0 ? t.TotalDuration / t.Ended : null,
            t.Ended > 0 ? t.MaxDuration : null,
            next,
            next is { } n ? _startedAt + _schedule.Clock.OffsetOf(n) : null);
    }).ToList());

    private sealed class TaskState(PeriodicTaskDefinition definition, int index)
    {
        public PeriodicTaskDefinition Definition { get; } = definition;
        public int Index { get; } = index;
        public IActorRef? Child { get; set; }
        public int Incarnation { get; set; }
        /// <summary>
        /// The order whose start is counted but not yet ended (0: none). A number, not the order itself: a reference to a
        /// young object stored in this long-lived one would make every collection scan it (one per task per run).
        /// </summary>
        public long AssumedOrder { get; set; }
        public DateTimeOffset? PreviousStart { get; set; }
        public long LastDispatchTick { get; set; }
        public bool LastTimedOut { get; set; }
        public long Runs { get; set; }
        public long Succeeded { get; set; }
        public long Failed { get; set; }
        public long TimedOut { get; set; }
        public long Cancelled { get; set; }
        public long Overruns { get; set; }
        public long Missed { get; set; }
        public long Ended { get; set; }
        public bool Running { get; set; }
        public DateTimeOffset? LastStart { get; set; }
        public TimeSpan? LastDuration { get; set; }
        public TimeSpan TotalDuration { get; set; }
        public TimeSpan MaxDuration { get; set; }
    }

    private sealed record StopTimeoutElapsed
    {
        public static readonly StopTimeoutElapsed Instance = new();
    }
}
