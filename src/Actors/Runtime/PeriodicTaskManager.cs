using ActorScheduler.Configuration;
using ActorScheduler.Messages;
using ActorScheduler.Scheduling;
using ActorScheduler.Tasks;
using Akka.Actor;
using Akka.Event;

namespace ActorScheduler.Runtime;

/// <summary>
/// INTERNAL API. The manager of one task set: nova's <c>run_periodic_tasks</c> as an actor. On each <see cref="Tick"/>
/// it asks its skip table (<see cref="TaskSchedule"/>) what is due, decides overlap, and sends <see cref="Run"/> to the
/// runner of each task that may start; each runner answers once with <see cref="RunEnded"/>. Phases: running, stopping,
/// stopped, and halted after raise-on-error escalated (docs/architecture.md).
/// </summary>
internal sealed class PeriodicTaskManager : ReceiveActor, IWithTimers
{
    /// <summary>A task's runner not dispatched for this long is stopped; its next run creates it again.</summary>
    public static readonly TimeSpan PassivateIdleAfter = TimeSpan.FromMinutes(1);

    private readonly string _setName;
    private readonly PeriodicTaskSettings _settings;
    private readonly TaskState[] _tasks;
    private readonly Dictionary<string, int> _indexByName;
    private readonly TaskSchedule _schedule;
    private readonly RunOrders _runs;
    private readonly IScheduleStore? _store;
    private readonly bool _withTicker;
    private readonly SetStart.Moment _start;
    private readonly long _passivateAfterTicks;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly List<DueRun> _due = [];
    private readonly List<TaskState> _live = [];
    private readonly List<(long Tick, IActorRef Requester)> _tickWaiters = [];
    private readonly List<IActorRef> _stopRequesters = [];
    private IActorRef? _ticker;
    private long _currentTick = -1;
    private long _nextSweepTick;
    private int _running;
    private bool _reportedAllPlaces;

    private PeriodicTaskManager(
        string setName, IReadOnlyList<PeriodicTaskDefinition> tasks, PeriodicTaskSettings settings, bool withTicker,
        IScheduleStore? store, SetStart? start)
    {
        _start = SetStart.For(start, Context.System);
        _setName = setName;
        _settings = settings;
        _withTicker = withTicker;
        _store = store;
        _tasks = tasks.Select((t, i) => new TaskState(t, i)).ToArray();
        _indexByName = _tasks.ToDictionary(t => t.Name, t => t.Index, StringComparer.Ordinal);
        _passivateAfterTicks = Math.Max(1, (PassivateIdleAfter.Ticks + settings.PeriodicInterval.Ticks - 1) / settings.PeriodicInterval.Ticks);
        _nextSweepTick = _passivateAfterTicks;
        var fuzzy = settings.FuzzyDelay > TimeSpan.Zero
            ? TimeSpan.FromTicks((long)(Random.Shared.NextDouble() * settings.FuzzyDelay.Ticks))
            : TimeSpan.Zero;
        if (fuzzy > TimeSpan.Zero)
            _log.Info("{0}: fuzzy delay {1} ms added to the first tick", setName, (long)fuzzy.TotalMilliseconds);
        _schedule = new TaskSchedule(tasks.Select(t => t.Options).ToList(), new TickClock(settings.InitialDelay + fuzzy, settings.PeriodicInterval), _start.At);
        _runs = new RunOrders(_schedule.Clock, _start.At);
        if (store?.Restored is { } restored)
            Restore(restored);
        Running();
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>
    /// Props of a manager of resolved <paramref name="tasks"/>. Ticks count from <paramref name="start"/> when given,
    /// else from the manager's construction; without <paramref name="withTicker"/> the caller sends <see cref="Tick"/>.
    /// </summary>
    public static Props Props(
        string setName, IReadOnlyList<PeriodicTaskDefinition> tasks, PeriodicTaskSettings settings, bool withTicker,
        IScheduleStore? store = null, SetStart? start = null) =>
        Akka.Actor.Props.CreateBy(new Producer(setName, tasks, settings, withTicker, store, start));

    public static string ActorName(string setName) => "periodic-tasks-" + setName;

    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(-1, -1, Decide, loggingEnabled: false);

    protected override void PreStart()
    {
        if (_withTicker)
            _ticker = Context.ActorOf(Ticker.Props(_schedule.Clock, _settings.TickSource, Self, _start), "ticker");
        _log.Info("{0}: {1} periodic tasks, tick every {2}", _setName, _tasks.Length, Durations.Format(_settings.PeriodicInterval));
    }

    /// <summary>raise_on_error as supervision: a failed run is logged in nova's words, then resumed or escalated.</summary>
    private Directive Decide(Exception error)
    {
        if (error is not PeriodicTaskFailedException failed)
        {
            _log.Error(error, "{0}: task runner failed unexpectedly; restarting it", _setName);
            if (TaskOf(Sender) is { Running: true } task)
                Self.Tell(new RunEnded(task.Index, RunOutcome.Failed, TimeSpan.Zero)); // the restart lost the run
            return Directive.Restart;
        }

        _log.Error(failed.InnerException, "{0}", failed.Message); // "Error during <set>.<task>: <message>"
        if (!_settings.RaiseOnError)
            return Directive.Resume;
        _log.Error("{0}: raise-on-error is on: dispatch halted, failure escalated to the parent", _setName);
        Halted();
        return Directive.Escalate;
    }

    private void Running()
    {
        Receive<Tick>(OnTickRunning);
        Receive<RunEnded>(ended =>
        {
            if (OnRunEnded(ended) is { Pending: { } pending } task)
            {
                task.Pending = null;
                Start(task, pending, Context.System.Scheduler.Now);
            }
        });
        Receive<TriggerTask>(OnTrigger);
        Receive<StopTasks>(_ => BeginStop());
        Queries(dispatching: true);
    }

    /// <summary>Ticking has stopped and runs were cancelled; waiting for them up to shutdown-timeout.</summary>
    private void Stopping()
    {
        Become(() =>
        {
            Receive<Tick>(tick => { RecordTick(tick); });
            Receive<RunEnded>(ended =>
            {
                OnRunEnded(ended);
                if (_running == 0)
                    Stopped();
            });
            Receive<StopTimeoutElapsed>(_ =>
            {
                _log.Warning("{0}: {1} runs still in flight after shutdown-timeout {2}", _setName, _running, Durations.Format(_settings.ShutdownTimeout));
                Stopped();
            });
            Receive<StopTasks>(_ => _stopRequesters.Add(Sender));
            Receive<TriggerTask>(t => Refuse(t, "it is stopping"));
            Queries();
        });
    }

    /// <summary>Stopped: answers queries, and counts the runs that end late.</summary>
    private void Stopped()
    {
        Timers.Cancel(StopTimeoutElapsed.Instance);
        foreach (var requester in _stopRequesters)
            requester.Tell(new TasksStopped(_setName, _running));
        _stopRequesters.Clear();
        Become(() =>
        {
            Receive<Tick>(tick => { RecordTick(tick); });
            Receive<RunEnded>(ended => OnRunEnded(ended));
            Receive<StopTasks>(_ => Sender.Tell(new TasksStopped(_setName, _running)));
            Receive<TriggerTask>(t => Refuse(t, "it is stopped"));
            Queries();
        });
    }

    /// <summary>raise-on-error escalated a failure: nothing is dispatched any more; a stop still cancels runs in flight.</summary>
    private void Halted()
    {
        foreach (var task in _tasks)
            task.Pending = null;
        Become(() =>
        {
            Receive<Tick>(tick => { RecordTick(tick); });
            Receive<RunEnded>(ended => OnRunEnded(ended));
            Receive<StopTasks>(_ => BeginStop());
            Receive<TriggerTask>(t => Refuse(t, "raise-on-error halted it"));
            Queries();
        });
    }

    /// <summary>Stats and tick notifications, in every phase; next due ticks only while the set dispatches.</summary>
    private void Queries(bool dispatching = false)
    {
        Receive<GetTaskStats>(_ => Sender.Tell(Report(dispatching)));
        Receive<NotifyWhenTicked>(OnNotifyWhenTicked);
    }

    private void OnTickRunning(Tick tick)
    {
        if (!RecordTick(tick))
            return;
        Dispatch(tick.Number);
        if (tick.Number >= _nextSweepTick)
        {
            PassivateIdleRunners(tick.Number);
            _nextSweepTick = tick.Number + _passivateAfterTicks;
        }
    }

    /// <summary>Takes the tick's number and answers those waiting for it; false for a tick that does not increase.</summary>
    private bool RecordTick(Tick tick)
    {
        if (tick.Number <= _currentTick)
        {
            _log.Warning("{0}: tick {1} ignored: tick {2} was already processed (ticks must increase)", _setName, tick.Number, _currentTick);
            return false;
        }

        _currentTick = tick.Number;
        for (var i = _tickWaiters.Count - 1; i >= 0; i--)
        {
            if (_tickWaiters[i].Tick > tick.Number)
                continue;
            _tickWaiters[i].Requester.Tell(new Ticked(tick.Number));
            _tickWaiters.RemoveAt(i);
        }

        return true;
    }

    private void Dispatch(long tick)
    {
        _due.Clear();
        _schedule.Advance(tick, _due);
        var run = _runs.For(tick);
        var scheduledAt = run.ScheduledAt;
        var now = Context.System.Scheduler.Now;
        if (_store is not null)
            SavePlaces(tick, scheduledAt);
        var logged = _log.IsDebugEnabled;
        var next = 0;
        foreach (var due in _due)
        {
            var task = _tasks[due.Index];
            if (logged)
                next = LogSkipped(tick, next, due.Index);
            if (due.Missed > 0)
                CountMissed(task, tick, scheduledAt, due.Missed);
            Offer(task, run, now);
        }

        if (logged)
            LogSkipped(tick, next, _tasks.Length);
    }

    /// <summary>Nova's debug lines: "Skipping" for the tasks before <paramref name="upTo"/>, "Running" for it.</summary>
    private int LogSkipped(long tick, int from, int upTo)
    {
        for (var i = from; i < upTo; i++)
            if (_schedule.NextDueTick(i) is not null)
                _log.Debug("Skipping {0}.{1}, {2} ticks left until next run", _setName, _tasks[i].Name, _schedule.TicksLeft(i, tick));
        if (upTo < _tasks.Length)
            _log.Debug("Running periodic task {0}.{1}", _setName, _tasks[upTo].Name);
        return upTo + 1;
    }

    /// <summary>Starts the run, or, with a run in flight, queues it (overlap = queue, none pending) or counts an overrun.</summary>
    private bool Offer(TaskState task, Run run, DateTimeOffset now)
    {
        task.LastDispatchTick = run.Tick;
        if (!task.Running)
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
        PeriodicTaskMetrics.Count(PeriodicTaskMetrics.Overruns, _setName, task.Name, 1);
        _log.Warning("{0}.{1} is due on tick {2} but its run of tick {3} is still in flight: skipped (overrun)", _setName, task.Name, run.Tick, task.RunningTick);
        Context.System.EventStream.Publish(new PeriodicTaskOverrun(_setName, task.Name, run.Tick, run.ScheduledAt));
        return false;
    }

    private void Start(TaskState task, Run run, DateTimeOffset now)
    {
        task.Running = true;
        task.RunningTick = run.Tick;
        task.Counters.Started(now);
        _running++;
        _store?.RunChanged(task.Name, true, now, now + task.Definition.Options.Timeout); // recorded before the run is sent
        RunnerOf(task).Tell(run);
    }

    /// <summary>Counts the end of a run; returns its task, or null for an end already counted.</summary>
    private TaskState? OnRunEnded(RunEnded ended)
    {
        var task = _tasks[ended.Index];
        if (!task.Running)
            return null;
        task.Running = false;
        _running--;
        task.Counters.Ended(ended.Outcome, ended.Duration);
        PeriodicTaskMetrics.RunEnded(_setName, task.Name, OutcomeName(ended.Outcome), ended.Duration);
        _store?.RunChanged(task.Name, false, Context.System.Scheduler.Now, null);
        return task;
    }

    private void CountMissed(TaskState task, long tick, DateTimeOffset scheduledAt, int missed)
    {
        task.Counters.MissedDueTimes(missed);
        PeriodicTaskMetrics.Count(PeriodicTaskMetrics.Missed, _setName, task.Name, missed);
        Context.System.EventStream.Publish(new PeriodicTaskMissed(_setName, task.Name, tick, scheduledAt, missed));
    }

    private static string OutcomeName(RunOutcome outcome) => outcome switch
    {
        RunOutcome.Succeeded => "succeeded",
        RunOutcome.Failed => "failed",
        RunOutcome.Cancelled => "cancelled",
        _ => "timed-out",
    };

    /// <summary>The task's runner, created on its first run (and on the first run after a passivation).</summary>
    private IActorRef RunnerOf(TaskState task)
    {
        if (task.Child is { } child)
            return child;
        // A passivated runner's name stays taken until it has stopped: a new incarnation gets a name of its own.
        var name = RunnerName(task.Name);
        if (task.Incarnation > 0)
            name = $"task~{task.Incarnation + 1}-{name["task-".Length..]}";
        task.Incarnation++;
        task.Child = Context.ActorOf(TaskRunner.Props(_setName, task.Index, task.Definition), name);
        _live.Add(task);
        return task.Child;
    }

    private static string RunnerName(string task)
    {
        var name = "task-" + task;
        return ActorPath.IsValidPathElement(name) ? name : "task-" + Uri.EscapeDataString(task).Replace('%', '~');
    }

    private TaskState? TaskOf(IActorRef child)
    {
        foreach (var task in _live)
            if (child.Equals(task.Child))
                return task;
        return null;
    }

    /// <summary>Stops the runners of tasks not dispatched for PassivateIdleAfter and not running; counters stay here.</summary>
    private void PassivateIdleRunners(long tick)
    {
        for (var i = _live.Count - 1; i >= 0; i--)
        {
            var task = _live[i];
            if (task.Running || tick - task.LastDispatchTick < _passivateAfterTicks)
                continue;
            Context.Stop(task.Child!);
            task.Child = null;
            _live[i] = _live[^1];
            _live.RemoveAt(_live.Count - 1);
        }
    }

    private void OnNotifyWhenTicked(NotifyWhenTicked request)
    {
        if (_currentTick >= request.Tick)
            Sender.Tell(new Ticked(_currentTick));
        else
            _tickWaiters.Add((request.Tick, Sender));
    }

    private void OnTrigger(TriggerTask trigger)
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
        var started = Offer(_tasks[index], new Run(tick, now), now);
        Sender.Tell(new TaskTriggered(trigger.Task, tick, started));
    }

    private void Refuse(TriggerTask trigger, string why) =>
        Sender.Tell(new Status.Failure(new InvalidOperationException($"task set '{_setName}' cannot run '{trigger.Task}': {why}.")));

    private void BeginStop()
    {
        _stopRequesters.Add(Sender);
        if (_ticker is not null)
            Context.Stop(_ticker);
        foreach (var task in _tasks)
        {
            task.Pending = null;
            task.Child?.Tell(CancelRun.Instance);
        }

        if (_running == 0)
        {
            Stopped();
            return;
        }

        Timers.StartSingleTimer(StopTimeoutElapsed.Instance, StopTimeoutElapsed.Instance, _settings.ShutdownTimeout);
        Stopping();
    }

    private TaskStatsReport Report(bool dispatching) => new(_setName, _currentTick, _tasks.Select(t =>
    {
        var next = dispatching ? _schedule.NextDueTick(t.Index) : null;
        return t.Counters.ToStats(
            t.Name,
            t.Definition.Options.DescribeSchedule(_settings.PeriodicInterval),
            !t.Definition.Options.IsDisabled,
            t.Running,
            next,
            next is { } n ? _start.At + _schedule.Clock.OffsetOf(n) : null);
    }).ToList());

    private void Restore(IReadOnlyDictionary<string, RestoredPlace> restored)
    {
        var places = new TaskPlace?[_tasks.Length];
        foreach (var task in _tasks)
            if (restored.TryGetValue(task.Name, out var p))
            {
                places[task.Index] = new TaskPlace(p.TicksLeft, p.NextDueAt - _start.At, p.NotBefore - _start.At);
                task.Counters.LastStart = p.LastRunAt;
            }

        foreach (var missed in _schedule.Restore(places))
            CountMissed(_tasks[missed.Index], 0, _start.At, missed.Missed);
    }

    /// <summary>Saves the places of the tasks due on the tick (of every task, the first time), before their runs start.</summary>
    private void SavePlaces(long tick, DateTimeOffset scheduledAt)
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

        _store!.TickDispatched(tick, places);
    }

    private void AddPlace(List<PlaceReport> places, int index, DateTimeOffset? ranAt)
    {
        if (_schedule.PlaceOf(index) is { } place)
            places.Add(new PlaceReport(_tasks[index].Name, _schedule.NextDueTick(index), _start.At + place.NextDueTime, ranAt));
    }

    private sealed class Producer(
        string setName, IReadOnlyList<PeriodicTaskDefinition> tasks, PeriodicTaskSettings settings, bool withTicker,
        IScheduleStore? store, SetStart? start) : IIndirectActorProducer
    {
        public Type ActorType => typeof(PeriodicTaskManager);

        public ActorBase Produce() => new PeriodicTaskManager(setName, tasks, settings, withTicker, store, start);

        public void Release(ActorBase actor)
        {
        }
    }

    private sealed record StopTimeoutElapsed
    {
        public static readonly StopTimeoutElapsed Instance = new();
    }
}
