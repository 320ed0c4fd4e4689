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
/// runner of each task that may start; each runner answers once with <see cref="RunEnded"/>. It also pauses, resumes,
/// triggers, adds, updates and removes tasks on request. Phases: running, stopping, stopped, and halted after
/// raise-on-error escalated (docs/architecture.md).
/// </summary>
internal sealed class PeriodicTaskManager : ReceiveActor, IWithTimers
{
    /// <summary>A task's runner not dispatched for this long is stopped; its next run creates it again.</summary>
    public static readonly TimeSpan PassivateIdleAfter = TimeSpan.FromMinutes(1);

    private readonly string _setName;
    private readonly PeriodicTaskSettings _settings;
    private readonly List<TaskState> _tasks;
    private readonly Dictionary<string, int> _indexByName;
    private readonly TaskSchedule _schedule;
    private readonly RunOrders _runs;
    private readonly IScheduleStore? _store;
    private readonly bool _withTicker;
    private readonly TaskScope _scope;
    private readonly SetStart.Moment _start;
    private readonly long _passivateAfterTicks;
    private readonly long _tickBase;
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
        IScheduleStore? store, SetStart? start, TaskScope scope)
    {
        _start = SetStart.For(start, Context.System);
        _setName = setName;
        _settings = settings;
        _withTicker = withTicker;
        _store = store;
        _tickBase = store?.TickBase ?? 0;
        _scope = scope;
        _tasks = tasks.Select((t, i) => new TaskState(t, i, settings.PeriodicInterval)).ToList();
        _indexByName = _tasks.ToDictionary(t => t.Name, t => t.Index, StringComparer.Ordinal);
        _passivateAfterTicks = Math.Max(1, (PassivateIdleAfter.Ticks + settings.PeriodicInterval.Ticks - 1) / settings.PeriodicInterval.Ticks);
        _nextSweepTick = _passivateAfterTicks;
        var fuzzy = settings.FuzzyDelay > TimeSpan.Zero
            ? TimeSpan.FromTicks((long)(Random.Shared.NextDouble() * settings.FuzzyDelay.Ticks))
            : TimeSpan.Zero;
        if (fuzzy > TimeSpan.Zero)
            _log.Info("{0}: fuzzy delay {1} ms added to the first tick", setName, (long)fuzzy.TotalMilliseconds);
        _schedule = new TaskSchedule(tasks.Select(t => t.Options).ToList(), new TickClock(settings.InitialDelay + fuzzy, settings.PeriodicInterval), _start.At);
        _runs = new RunOrders(_schedule.Clock, _start.At, _tickBase);
        if (store?.Restored is { } restored)
            Restore(restored);
        Running();
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>
    /// Props of a manager of resolved <paramref name="tasks"/>. Ticks count from <paramref name="start"/> when given,
    /// else from the manager's construction; without <paramref name="withTicker"/> the caller sends <see cref="Tick"/>.
    /// Tasks added at run time must have <paramref name="scope"/> (a cluster singleton's manager runs cluster tasks).
    /// </summary>
    public static Props Props(
        string setName, IReadOnlyList<PeriodicTaskDefinition> tasks, PeriodicTaskSettings settings, bool withTicker,
        IScheduleStore? store = null, SetStart? start = null, TaskScope scope = TaskScope.Node) =>
        Akka.Actor.Props.CreateBy(new Producer(setName, tasks, settings, withTicker, store, start, scope));

    public static string ActorName(string setName) => "periodic-tasks-" + setName;

    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(-1, -1, Decide, loggingEnabled: false);

    protected override void PreStart()
    {
        if (_withTicker)
            _ticker = Context.ActorOf(Ticker.Props(_schedule.Clock, _settings.TickSource, Self, _start, _tickBase), "ticker");
        foreach (var task in _tasks)
            if (task.Pause?.Until is { } until)
                StartPauseTimer(task, until); // a pause restored from the store
        _log.Info("{0}: {1} periodic tasks, tick every {2}", _setName, _tasks.Count, Durations.Format(_settings.PeriodicInterval));
    }

    /// <summary>The gauges of runs in flight and paused tasks no longer count this manager's.</summary>
    protected override void PostStop()
    {
        PeriodicTaskMetrics.Change(PeriodicTaskMetrics.InFlight, _setName, -_running);
        PeriodicTaskMetrics.Change(PeriodicTaskMetrics.Paused, _setName, -_tasks.Count(t => t.Pause is not null && !t.Removed));
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
        Receive<RunStartRecorded>(recorded =>
        {
            if (Recorded(recorded) is { } task)
                RunnerOf(task).Tell(recorded.Run);
        });
        Receive<TriggerTask>(OnTrigger);
        Receive<ChangeTasks>(OnChangeTasks);
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
            Receive<RunStartRecorded>(NotStarted);
            Receive<StopTasks>(_ => _stopRequesters.Add(Sender));
            Receive<TriggerTask>(t => Refuse(t.Task, "it is stopping"));
            Receive<ChangeTasks>(_ => Refuse(null, "it is stopping"));
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
            Receive<RunStartRecorded>(NotStarted);
            Receive<StopTasks>(_ => Sender.Tell(new TasksStopped(_setName, _running)));
            Receive<TriggerTask>(t => Refuse(t.Task, "it is stopped"));
            Receive<ChangeTasks>(_ => Refuse(null, "it is stopped"));
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
            Receive<RunStartRecorded>(NotStarted);
            Receive<StopTasks>(_ => BeginStop());
            Receive<TriggerTask>(t => Refuse(t.Task, "raise-on-error halted it"));
            Receive<ChangeTasks>(_ => Refuse(null, "raise-on-error halted it"));
            Queries();
        });
    }

    /// <summary>
    /// Stats, tick notifications, pause and resume, in every phase (a pause is kept, and saved with a store, whatever the
    /// set is doing); next due ticks only while the set dispatches.
    /// </summary>
    private void Queries(bool dispatching = false)
    {
        Receive<GetTaskStats>(_ => Sender.Tell(Report(dispatching)));
        Receive<NotifyWhenTicked>(OnNotifyWhenTicked);
        Receive<GetRecentRuns>(q =>
        {
            if (Find(q.Task) is not null)
                Sender.Tell(new RecentRunsReport(_setName, q.Task, false, [])); // a store keeps them (ScheduleKeeper)
        });
        Receive<PauseTask>(p => OnPause(p, dispatching));
        Receive<ResumeTask>(r =>
        {
            if (Find(r.Task) is { } task)
            {
                Resume(task, note: null);
                Sender.Tell(StatsOf(task, dispatching));
            }
        });
        Receive<PauseExpired>(e =>
        {
            if (e.Index < _tasks.Count && _tasks[e.Index] is { Pause.Until: { } until } task && until == e.Until)
                Resume(task, "expired");
        });
    }

    private void OnTickRunning(Tick tick)
    {
        if (!RecordTick(tick))
            return;
        Dispatch(_currentTick);
        if (_currentTick >= _nextSweepTick)
        {
            PassivateIdleRunners(_currentTick);
            _nextSweepTick = _currentTick + _passivateAfterTicks;
        }
    }

    /// <summary>
    /// Takes the tick's number and answers those waiting for it; false for a tick that does not increase. Ticks are
    /// numbered from the store's tick base outside (they continue across restarts) and from 0 inside.
    /// </summary>
    private bool RecordTick(Tick tick)
    {
        var number = tick.Number - _tickBase;
        if (number <= _currentTick)
        {
            _log.Warning("{0}: tick {1} ignored: tick {2} was already processed (ticks must increase)", _setName, tick.Number, Math.Max(_currentTick + _tickBase, _tickBase - 1));
            return false;
        }

        _currentTick = number;
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
            if (task.Pause is { } pause)
            {
                if (pause.Until is { } until && until <= scheduledAt)
                {
                    Resume(task, "expired");
                }
                else
                {
                    // A pause masks the due run (and any it coalesces); the schedule has moved on as usual.
                    task.Counters.SkippedPaused(1 + due.Missed);
                    continue;
                }
            }

            if (due.Missed > 0)
                CountMissed(task, tick, scheduledAt, due.Missed);
            Offer(task, run, now);
        }

        if (logged)
            LogSkipped(tick, next, _tasks.Count);
    }

    /// <summary>Nova's debug lines: "Skipping" for the tasks before <paramref name="upTo"/>, "Running" for it.</summary>
    private int LogSkipped(long tick, int from, int upTo)
    {
        for (var i = from; i < upTo; i++)
            if (_schedule.NextDueTick(i) is not null)
                _log.Debug("Skipping {0}.{1}, {2} ticks left until next run", _setName, _tasks[i].Name, _schedule.TicksLeft(i, tick));
        if (upTo < _tasks.Count)
            _log.Debug(_tasks[upTo].Pause is null ? "Running periodic task {0}.{1}" : "Skipping {0}.{1}: paused", _setName, _tasks[upTo].Name);
        return upTo + 1;
    }

    /// <summary>Starts the run, or, with a run in flight, queues it (overlap = queue, none pending) or counts an overrun.</summary>
    private bool Offer(TaskState task, Run run, DateTimeOffset now)
    {
        task.LastDispatchTick = Math.Max(0, _currentTick);
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
        _log.Warning("{0}.{1} is due on tick {2} but its run of tick {3} is still in flight: skipped (overrun)", _setName, task.Name, run.Tick, task.CurrentRun?.Tick);
        Context.System.EventStream.Publish(new PeriodicTaskOverrun(_setName, task.Name, run.Tick, run.ScheduledAt));
        return false;
    }

    /// <summary>
    /// Starts a run. A store that records a start before its run (cluster tasks, docs/cluster.md, "Never two runs") is
    /// told first: the Run goes to the runner when it answers <see cref="RunStartRecorded"/>; until then the task counts
    /// as running. Other stores are told beside the run.
    /// </summary>
    private void Start(TaskState task, Run run, DateTimeOffset now)
    {
        task.Running = true;
        task.CurrentRun = run;
        task.Counters.Started(now);
        _running++;
        PeriodicTaskMetrics.Change(PeriodicTaskMetrics.InFlight, _setName, 1);
        _store?.RunStarting(task.Index, task.Name, run, now, RetryPolicy.Deadline(task.Definition.Options, now));
        if (_store is { RecordsStartBeforeRun: true })
            task.AwaitingStart = true;
        else
            RunnerOf(task).Tell(run);
    }

    /// <summary>The task whose recorded start is awaited, or null (a start already ended, or a removed task's: ended here).</summary>
    private TaskState? Recorded(RunStartRecorded recorded)
    {
        if (TakeAwaitedStart(recorded) is not { } task)
            return null;
        if (!task.Removed)
            return task;
        OnRunEnded(new RunEnded(task.Index, RunOutcome.Cancelled, TimeSpan.Zero));
        return null;
    }

    /// <summary>A start recorded after the set stopped dispatching: the run never begins and ends as cancelled.</summary>
    private void NotStarted(RunStartRecorded recorded)
    {
        if (TakeAwaitedStart(recorded) is { } task)
            Self.Tell(new RunEnded(task.Index, RunOutcome.Cancelled, TimeSpan.Zero));
    }

    /// <summary>The task whose recorded start it was, no longer awaiting it; null when that run has already ended.</summary>
    private TaskState? TakeAwaitedStart(RunStartRecorded recorded)
    {
        var task = _tasks[recorded.Index];
        if (!task.AwaitingStart)
            return null;
        task.AwaitingStart = false;
        return task;
    }

    /// <summary>
    /// Counts the end of a run, retires an outdated runner and applies pause-after-failures; returns the task, or null
    /// for an end already counted.
    /// </summary>
    private TaskState? OnRunEnded(RunEnded ended)
    {
        var task = _tasks[ended.Index];
        if (!task.Running)
            return null;
        task.Running = false;
        _running--;
        PeriodicTaskMetrics.Change(PeriodicTaskMetrics.InFlight, _setName, -1);
        task.Counters.Ended(ended.Outcome, ended.Duration, ended.Attempts);
        PeriodicTaskMetrics.RunEnded(_setName, task.Name, OutcomeName(ended.Outcome), ended.Duration);
        if (_store is not null && task.CurrentRun is { } run)
            _store.RunEnded(task.Name, Context.System.Scheduler.Now, new EndedRun(
                run.Tick, run.ScheduledAt, task.Counters.LastStart ?? run.ScheduledAt, ended.Duration, ended.Outcome, ended.Attempts,
                task.Counters.ToRecord()));
        if (task.Removed || task.RetireRunner)
            StopRunner(task);
        if (ended.Outcome == RunOutcome.Succeeded)
            task.ConsecutiveFailures = 0;
        else if (ended.Outcome is RunOutcome.Failed or RunOutcome.TimedOut && !task.Removed)
            CountFailedOccurrence(task);
        return task.Removed ? null : task;
    }

    /// <summary>pause-after-failures = K: the K-th failed occurrence in a row pauses the task.</summary>
    private void CountFailedOccurrence(TaskState task)
    {
        task.ConsecutiveFailures++;
        var limit = task.Definition.Options.PauseAfterFailures;
        if (limit <= 0 || task.ConsecutiveFailures < limit || task.Pause is not null)
            return;
        var note = $"paused after {limit} consecutive failures";
        _log.Warning("{0}.{1} {2}; resume it to run it again", _setName, task.Name, note);
        Pause(task, note, until: null);
    }

    private void CountMissed(TaskState task, long tick, DateTimeOffset scheduledAt, int missed)
    {
        task.Counters.MissedDueTimes(missed);
        PeriodicTaskMetrics.Count(PeriodicTaskMetrics.Missed, _setName, task.Name, missed);
        Context.System.EventStream.Publish(new PeriodicTaskMissed(_setName, task.Name, tick + _tickBase, scheduledAt, missed));
    }

    internal static string OutcomeName(RunOutcome outcome) => outcome switch
    {
        RunOutcome.Succeeded => "succeeded",
        RunOutcome.Failed => "failed",
        RunOutcome.Cancelled => "cancelled",
        _ => "timed-out",
    };

    /// <summary>The task's runner, created on its first run (and on the first run after a passivation or an update).</summary>
    private IActorRef RunnerOf(TaskState task)
    {
        if (task.Child is { } child)
            return child;
        // A stopped runner's name stays taken until it has stopped (and a removed task's runner may still run under it):
        // a new incarnation gets a name of its own.
        var baseName = RunnerName(task.Name);
        string name;
        do
        {
            name = task.Incarnation == 0 ? baseName : $"task~{task.Incarnation + 1}-{baseName["task-".Length..]}";
            task.Incarnation++;
        }
        while (!Context.Child(name).IsNobody());

        task.Child = Context.ActorOf(TaskRunner.Props(_setName, task.Index, task.Definition), name);
        _live.Add(task);
        return task.Child;
    }

    private void StopRunner(TaskState task)
    {
        task.RetireRunner = false;
        if (task.Child is not { } child)
            return;
        Context.Stop(child);
        task.Child = null;
        _live.Remove(task);
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
        if (_currentTick >= 0 && _currentTick + _tickBase >= request.Tick)
            Sender.Tell(new Ticked(_currentTick + _tickBase));
        else
            _tickWaiters.Add((request.Tick, Sender));
    }

    private void OnTrigger(TriggerTask trigger)
    {
        if (Find(trigger.Task) is not { } task)
            return;
        var tick = Math.Max(0, _currentTick) + _tickBase;
        var now = Context.System.Scheduler.Now;
        var started = Offer(task, new Run(tick, now), now);
        Sender.Tell(new TaskTriggered(trigger.Task, tick, started));
        Context.System.EventStream.Publish(new PeriodicTaskTriggered(_setName, task.Name, now, tick, started));
    }

    /// <summary>The live task named <paramref name="name"/>; otherwise the sender gets a failure naming the closest task.</summary>
    private TaskState? Find(string name)
    {
        if (_indexByName.TryGetValue(name, out var index))
            return _tasks[index];
        Sender.Tell(new Status.Failure(NotFound(name)));
        return null;
    }

    private PeriodicTaskNotFoundException NotFound(string name)
    {
        var closest = Suggestions.Closest(name, _indexByName.Keys);
        return new PeriodicTaskNotFoundException(_setName, name,
            $"no task named '{name}' in task set '{_setName}'{(closest is null ? "" : $"; did you mean '{closest}'?")}");
    }

    private void Refuse(string? task, string why) =>
        Sender.Tell(new Status.Failure(new TaskSetUnavailableException(task is null
            ? $"task set '{_setName}' cannot change its tasks: {why}."
            : $"task set '{_setName}' cannot run '{task}': {why}.")));

    private void OnPause(PauseTask request, bool dispatching)
    {
        var now = Context.System.Scheduler.Now;
        if (request.Until is { } until && until <= now)
        {
            Sender.Tell(new Status.Failure(new ArgumentException(
                $"until: {until.UtcDateTime:yyyy-MM-ddTHH:mm:ss.fffZ} is not in the future (now is {now.UtcDateTime:yyyy-MM-ddTHH:mm:ss.fffZ}).", "until")));
            return;
        }

        if (Find(request.Task) is not { } task)
            return;
        Pause(task, string.IsNullOrWhiteSpace(request.Note) ? null : request.Note.Trim(), request.Until);
        Sender.Tell(StatsOf(task, dispatching));
    }

    /// <summary>Pauses (or re-pauses with a new note and until) a task; its schedule goes on.</summary>
    private void Pause(TaskState task, string? note, DateTimeOffset? until)
    {
        var pause = new TaskPause(note, until);
        if (task.Pause is null)
            PeriodicTaskMetrics.Change(PeriodicTaskMetrics.Paused, _setName, 1);
        task.Pause = pause;
        Timers.Cancel(PauseTimerKey(task));
        if (until is { } u)
            StartPauseTimer(task, u);
        _store?.PauseChanged(task.Name, pause);
        _log.Debug("{0}.{1} paused{2}{3}", _setName, task.Name,
            note is null ? "" : $" ({note})", until is null ? "" : $" until {Utc(until.Value)}");
        Context.System.EventStream.Publish(new PeriodicTaskPaused(_setName, task.Name, Context.System.Scheduler.Now, note, until));

        static string Utc(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", System.Globalization.CultureInfo.InvariantCulture);
    }

    private void Resume(TaskState task, string? note)
    {
        if (task.Pause is null)
            return;
        task.Pause = null;
        PeriodicTaskMetrics.Change(PeriodicTaskMetrics.Paused, _setName, -1);
        Timers.Cancel(PauseTimerKey(task));
        _store?.PauseChanged(task.Name, null);
        _log.Debug("{0}.{1} resumed{2}", _setName, task.Name, note is null ? "" : $" ({note})");
        Context.System.EventStream.Publish(new PeriodicTaskResumed(_setName, task.Name, Context.System.Scheduler.Now, note));
    }

    private void StartPauseTimer(TaskState task, DateTimeOffset until)
    {
        var delay = until - Context.System.Scheduler.Now;
        Timers.StartSingleTimer(PauseTimerKey(task), new PauseExpired(task.Index, until), delay > TimeSpan.Zero ? delay : TimeSpan.Zero);
    }

    private static string PauseTimerKey(TaskState task) => "pause-" + task.Index;

    /// <summary>Applies a change whole, or refuses it whole (the set is then exactly as before).</summary>
    private void OnChangeTasks(ChangeTasks request)
    {
        try
        {
            CheckChanges(request.Changes);
        }
        catch (Exception e) when (e is PeriodicTaskDefinitionException or PeriodicTaskNotFoundException or ArgumentException)
        {
            Sender.Tell(new Status.Failure(e));
            return;
        }

        var now = Context.System.Scheduler.Now;
        var (added, updated, removed) = (new List<string>(), new List<string>(), new List<string>());
        foreach (var change in request.Changes)
        {
            switch (change)
            {
                case AddTask add:
                    var task = new TaskState(add.Definition, _tasks.Count, _settings.PeriodicInterval);
                    _tasks.Add(task);
                    _indexByName.Add(task.Name, task.Index);
                    _schedule.Add(add.Definition.Options, _currentTick);
                    added.Add(task.Name);
                    Context.System.EventStream.Publish(new PeriodicTaskAdded(_setName, task.Name, now, task.Schedule));
                    break;
                case UpdateTask update:
                    Update(_tasks[_indexByName[update.Task]], update);
                    updated.Add(update.Task);
                    break;
                case RemoveTask remove:
                    Remove(_tasks[_indexByName[remove.Task]]);
                    removed.Add(remove.Task);
                    break;
            }
        }

        _log.Info("{0}: tasks changed: {1} added, {2} updated, {3} removed", _setName, added.Count, updated.Count, removed.Count);
        Sender.Tell(new TasksChanged(_setName, added, updated, removed));
    }

    /// <summary>Checks every change against the set as it is, and against the other changes of the request.</summary>
    private void CheckChanges(IReadOnlyList<TaskChange> changes)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var change in changes)
        {
            ArgumentNullException.ThrowIfNull(change, nameof(changes));
            if (!seen.Add(change.Task))
                throw new ArgumentException($"task '{change.Task}' appears more than once in one change.", nameof(changes));
            switch (change)
            {
                case AddTask add:
                    if (_indexByName.ContainsKey(add.Task))
                        throw new ArgumentException($"task set '{_setName}' already has a task named '{add.Task}'.", nameof(changes));
                    CheckScope(add.Task, add.Options);
                    break;
                case UpdateTask update:
                    if (!_indexByName.TryGetValue(update.Task, out var index))
                        throw NotFound(update.Task);
                    ArgumentNullException.ThrowIfNull(update.Options, nameof(changes));
                    OptionsValidation.Validate(Updated(_tasks[index], update.Options), $"task '{update.Task}'");
                    break;
                case RemoveTask remove:
                    if (!_indexByName.ContainsKey(remove.Task))
                        throw NotFound(remove.Task);
                    break;
                default:
                    throw new ArgumentException($"unknown change {change.GetType().Name}.", nameof(changes));
            }
        }
    }

    private void CheckScope(string task, PeriodicTaskOptions options)
    {
        if (options.Scope != _scope)
            throw new PeriodicTaskDefinitionException(_scope == TaskScope.Node
                ? $"task '{task}': scope = cluster tasks run in the cluster package's singleton; this set runs scope = node tasks."
                : $"task '{task}': this cluster singleton runs scope = cluster tasks, not scope = node ones.");
    }

    /// <summary>
    /// The options an update gives <paramref name="task"/>: a task keeps its scope and role (it cannot move between this
    /// node and the cluster while the set runs); options that ask for another scope or role are refused.
    /// </summary>
    private static PeriodicTaskOptions Updated(TaskState task, PeriodicTaskOptions options)
    {
        var current = task.Definition.Options;
        if ((options.Scope, options.Role) != (current.Scope, current.Role) && (options.Scope, options.Role) != (TaskScope.Node, ""))
            throw new PeriodicTaskDefinitionException(
                $"task '{task.Name}': scope and role cannot change while the set runs (remove the task and add it where it belongs).");
        return options with { Scope = current.Scope, Role = current.Role };
    }

    /// <summary>New options (and body) from the next due run on; a run in flight ends with the old ones.</summary>
    private void Update(TaskState task, UpdateTask update)
    {
        var options = Updated(task, update.Options);
        task.Redefine(new PeriodicTaskDefinition(task.Name, options, update.Body ?? task.Definition.Body, task.Definition.Source), _settings.PeriodicInterval);
        _schedule.Update(task.Index, options, _currentTick);
        if (task.Running)
            task.RetireRunner = true;
        else
            StopRunner(task);
        if (options.Overlap == OverlapMode.Skip)
            task.Pending = null;
        Context.System.EventStream.Publish(new PeriodicTaskUpdated(_setName, task.Name, Context.System.Scheduler.Now, task.Schedule));
    }

    /// <summary>The task never starts again; its run in flight ends normally (a pending retry is dropped).</summary>
    private void Remove(TaskState task)
    {
        task.Removed = true;
        task.Pending = null;
        if (task.Pause is not null)
            PeriodicTaskMetrics.Change(PeriodicTaskMetrics.Paused, _setName, -1);
        _indexByName.Remove(task.Name);
        _schedule.Remove(task.Index);
        Timers.Cancel(PauseTimerKey(task));
        if (task.Running)
            task.Child?.Tell(DropRetries.Instance);
        else
            StopRunner(task);
        Context.System.EventStream.Publish(new PeriodicTaskRemoved(_setName, task.Name, Context.System.Scheduler.Now));
    }


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

    private TaskStatsReport Report(bool dispatching) =>
        new(_setName, _currentTick < 0 ? _currentTick : _currentTick + _tickBase, _tasks.Where(t => !t.Removed).Select(t => StatsOf(t, dispatching)).ToList());

    private TaskStats StatsOf(TaskState t, bool dispatching)
    {
        var next = dispatching ? _schedule.NextDueTick(t.Index) : null;
        return t.Counters.ToStats(
            t.Name,
            t.Schedule,
            !t.Definition.Options.IsDisabled,
            t.Running,
            next + _tickBase,
            next is { } n ? _start.At + _schedule.Clock.OffsetOf(n) : null,
            t.Pause);
    }

    private void Restore(IReadOnlyDictionary<string, RestoredPlace> restored)
    {
        var places = new TaskPlace?[_tasks.Count];
        foreach (var task in _tasks)
            if (restored.TryGetValue(task.Name, out var p))
            {
                places[task.Index] = new TaskPlace(p.TicksLeft, p.NextDueAt - _start.At, p.NotBefore - _start.At);
                if (p.Counters is { } counters)
                    task.Counters.Restore(counters);
                task.Counters.LastStart = p.LastRunAt;
                task.Pause = p.Pause;
                if (p.Pause is not null)
                    PeriodicTaskMetrics.Change(PeriodicTaskMetrics.Paused, _setName, 1);
            }

        foreach (var missed in _schedule.Restore(places))
            CountMissed(_tasks[missed.Index], 0, _start.At, missed.Missed);
    }

    /// <summary>Saves the places of the tasks due on the tick (of every task, the first time), before their runs start.</summary>
    private void SavePlaces(long tick, DateTimeOffset scheduledAt)
    {
        var places = new List<PlaceReport>(_reportedAllPlaces ? _due.Count : _tasks.Count);
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
        IScheduleStore? store, SetStart? start, TaskScope scope) : IIndirectActorProducer
    {
        public Type ActorType => typeof(PeriodicTaskManager);

        public ActorBase Produce() => new PeriodicTaskManager(setName, tasks, settings, withTicker, store, start, scope);

        public void Release(ActorBase actor)
        {
        }
    }

    private sealed record StopTimeoutElapsed
    {
        public static readonly StopTimeoutElapsed Instance = new();
    }

    /// <summary>The until time of task <paramref name="Index"/>'s pause has come.</summary>
    private sealed record PauseExpired(int Index, DateTimeOffset Until);
}
