using System.Diagnostics;
using System.Runtime.CompilerServices;
using ActorScheduler.Messages;
using ActorScheduler.Tasks;
using Akka.Actor;
using Akka.Event;

namespace ActorScheduler.Actors;

/// <summary>
/// One child per task: runs the task body off the actor thread, enforces overlap (skip / queue) and timeout, publishes
/// the run's lifecycle on the EventStream and reports each run to its manager. A failed run throws a
/// <see cref="PeriodicTaskFailedException"/> so that the manager's supervision strategy (raise-on-error) decides.
/// </summary>
public sealed class TaskRunner : UntypedActor, IWithTimers
{
    private const string TimeoutTimer = "timeout";

    private readonly string _setName;
    private readonly int _index;
    private readonly PeriodicTaskDefinition _task;
    private readonly ILoggingAdapter _taskLog;
    private ILoggingAdapter? _log;
    private readonly BodyInvoker _invoker;

    private Run? _current;
    private Run? _pending;
    private CancellationTokenSource? _cancellation;
    private long _runId;
    private long _startTimestamp;
    private DateTimeOffset _startedAt;
    private bool _timedOut;
    private bool _stopping;

    public TaskRunner(string setName, int index, PeriodicTaskDefinition task)
    {
        _setName = setName;
        _index = index;
        _task = task;
        _taskLog = Logging.GetLogger(Context.System, $"{setName}.{task.Name}");
        _invoker = new BodyInvoker(this, Self, Context.Parent, Context.System);
    }

    /// <summary>Created when first needed: building a logger (its source is the actor's path) costs more than a run.</summary>
    private ILoggingAdapter Log => _log ??= Context.GetLogger();

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(string setName, int index, PeriodicTaskDefinition task) =>
        Akka.Actor.Props.CreateBy(new Producer(setName, index, task)); // no expression, no reflection per child

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case Run run:
                OnRun(run);
                break;
            case BodyEnded ended:
                OnBodyEnded(ended);
                break;
            case TimeoutElapsed elapsed:
                OnTimeoutElapsed(elapsed);
                break;
            case CancelRun:
                OnCancelRun();
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    private void OnRun(Run run)
    {
        if (_stopping)
            return;
        if (_current is null && !_invoker.Busy)
        {
            Start(run, report: false); // the manager counts a run it sends as started unless told otherwise
            return;
        }

        if (_task.Options.Overlap == OverlapMode.Queue && _pending is null)
        {
            _pending = run;
            Context.Parent.Tell(new RunQueued(_index, run));
            return;
        }

        Log.Warning("{0}.{1} is due on tick {2} but its run of tick {3} is still in flight: skipped (overrun)",
            _setName, _task.Name, run.Tick, _current?.Tick ?? _invoker.Tick);
        Context.System.EventStream.Publish(new PeriodicTaskOverrun(_setName, _task.Name, run.Tick, run.ScheduledAt));
        Context.Parent.Tell(new RunOverran(_index, run));
    }

    private void Start(Run run, bool report)
    {
        // A run with no timeout and overlap = skip ends without coming back here when it succeeds: the work item reports
        // it to the manager itself (one message and one hop fewer per run). Every other ending comes back as BodyEnded.
        var direct = _task.Options.Timeout is null && _task.Options.Overlap == OverlapMode.Skip;
        _current = direct ? null : run;
        _timedOut = false;
        var id = ++_runId;
        // One CancellationTokenSource serves every run until one is cancelled (TryReset succeeds only when it was not).
        if (_cancellation is null || !_cancellation.TryReset())
        {
            _cancellation?.Dispose();
            _cancellation = new CancellationTokenSource();
        }

        if (_task.Options.Timeout is { } timeout)
            Timers.StartSingleTimer(TimeoutTimer, new TimeoutElapsed(id, timeout), timeout);

        // A run started at once is the one the manager counted when it sent the order: it has the order's dispatch time as
        // its start, so events, stats and the saved last run agree. A run started later (queued) reports its own start.
        _startedAt = report ? Context.System.Scheduler.Now : run.DispatchedAt;
        _startTimestamp = Stopwatch.GetTimestamp();
        if (report)
            Context.Parent.Tell(new RunStarted(_index, run.Tick, _startedAt));
        Context.System.EventStream.Publish(new PeriodicTaskStarted(_setName, _task.Name, run.Tick, run.ScheduledAt, _startedAt));

        _invoker.Start(id, run, _cancellation.Token, _startedAt, _startTimestamp, direct);
    }

    private void OnBodyEnded(BodyEnded ended)
    {
        if (ended.RunId != _runId)
            return;
        var duration = Stopwatch.GetElapsedTime(_startTimestamp);
        var timedOut = _timedOut;
        var stopping = _stopping;
        Finish();

        if (timedOut)
        {
            Log.Debug("{0}.{1} run of tick {2} ended {3} after it was started (it had timed out)",
                _setName, _task.Name, ended.Tick, duration);
            StartPending();
            return;
        }

        if (ended.Error is null)
        {
            // The manager hears of the end before anyone sees the event, so stats asked for after the event include it.
            Context.Parent.Tell(new RunEnded(_index, RunOutcome.Succeeded, duration));
            Context.System.EventStream.Publish(new PeriodicTaskSucceeded(_setName, _task.Name, ended.Tick, ended.ScheduledAt, _startedAt, duration));
            StartPending();
            return;
        }

        // A run that ends by honouring the stop's cancellation is counted as cancelled, not failed; its event is a
        // failed event (the event contract has no other) whose error says so.
        var cancelled = stopping && ended.Error is OperationCanceledException;
        var error = cancelled
            ? new OperationCanceledException($"cancelled: task set {_setName} is stopping", ended.Error)
            : ended.Error;
        Context.Parent.Tell(new RunEnded(_index, cancelled ? RunOutcome.Cancelled : RunOutcome.Failed, duration));
        Context.System.EventStream.Publish(new PeriodicTaskFailed(_setName, _task.Name, ended.Tick, ended.ScheduledAt, _startedAt, duration, error));
        if (stopping)
            return;
        StartPending();
        throw new PeriodicTaskFailedException(_setName, _task.Name, ended.Tick, error);
    }

    private void OnTimeoutElapsed(TimeoutElapsed elapsed)
    {
        if (elapsed.RunId != _runId || _current is not { } run || _timedOut)
            return;
        _timedOut = true;
        _cancellation?.Cancel();
        var duration = Stopwatch.GetElapsedTime(_startTimestamp);
        Context.Parent.Tell(new RunEnded(_index, RunOutcome.TimedOut, duration));
        Context.System.EventStream.Publish(
            new PeriodicTaskTimedOut(_setName, _task.Name, run.Tick, run.ScheduledAt, _startedAt, duration, elapsed.Timeout));
        throw new PeriodicTaskTimeoutException(_setName, _task.Name, run.Tick, elapsed.Timeout);
    }

    private void OnCancelRun()
    {
        _stopping = true;
        _pending = null;
        _cancellation?.Cancel();
    }

    private void StartPending()
    {
        if (_pending is { } pending && !_stopping)
        {
            _pending = null;
            Start(pending, report: true);
        }
    }

    private void Finish()
    {
        if (_task.Options.Timeout is not null)
            Timers.Cancel(TimeoutTimer);
        _current = null;
        _invoker.Idle();
        _timedOut = false;
    }

    protected override void PostStop()
    {
        if (_current is not null || _invoker.Busy)
            _cancellation?.Cancel();
        else
            _cancellation?.Dispose();
        base.PostStop();
    }

    /// <summary>Creates runners with a plain constructor call: children are created on the manager's thread, often by the thousand.</summary>
    private sealed class Producer(string setName, int index, PeriodicTaskDefinition task) : IIndirectActorProducer
    {
        public Type ActorType => typeof(TaskRunner);

        public ActorBase Produce() => new TaskRunner(setName, index, task);

        public void Release(ActorBase actor)
        {
        }
    }

    /// <summary>
    /// The manager's order to run the task for <see cref="Tick"/>, due at <see cref="ScheduledAt"/>; <see cref="Order"/>
    /// numbers the manager's orders (one per tick is shared by every task due on it). The manager makes orders ahead of
    /// their ticks (see PeriodicTaskManager.OrderFor) and sets <see cref="DispatchedAt"/> once, before the order is
    /// first sent: from then on it does not change.
    /// </summary>
    internal sealed class Run(long order, long tick, DateTimeOffset scheduledAt)
    {
        private DateTimeOffset? _dispatchedAt;

        public long Order { get; } = order;

        public long Tick { get; } = tick;

        public DateTimeOffset ScheduledAt { get; } = scheduledAt;

        /// <summary>When the manager sent the order: the start of a run begun at once.</summary>
        public DateTimeOffset DispatchedAt =>
            _dispatchedAt ?? throw new InvalidOperationException($"the order for tick {Tick} was not dispatched.");

        /// <summary>Sets the dispatch time; the manager calls this once, before it first sends the order.</summary>
        public Run Dispatch(DateTimeOffset at)
        {
            if (_dispatchedAt is not null)
                throw new InvalidOperationException($"the order for tick {Tick} was already dispatched.");
            _dispatchedAt = at;
            return this;
        }
    }

    /// <summary>A graceful stop: cancel the run in flight and drop any pending one.</summary>
    internal sealed record CancelRun
    {
        public static readonly CancelRun Instance = new();
    }

    internal enum RunOutcome
    {
        Succeeded,
        Failed,
        TimedOut,
        Cancelled,
    }

    /// <summary>A queued run started (a run started at once on the manager's order is not reported: it counts it itself).</summary>
    internal sealed record RunStarted(int Index, long Tick, DateTimeOffset StartedAt);

    /// <summary>The order <paramref name="Run"/> did not start: it waits for the run in flight (overlap = queue).</summary>
    internal sealed record RunQueued(int Index, Run Run);

    internal sealed record RunEnded(int Index, RunOutcome Outcome, TimeSpan Duration);

    /// <summary>The order <paramref name="Run"/> did not start: a run is in flight (overlap = skip, or the queue is full).</summary>
    internal sealed record RunOverran(int Index, Run Run);

    private sealed record BodyEnded(long RunId, long Tick, DateTimeOffset ScheduledAt, Exception? Error);

    private sealed record TimeoutElapsed(long RunId, TimeSpan Timeout);

    /// <summary>
    /// Runs the body on the thread pool, never on the actor's thread, and reports its end. One instance per runner serves
    /// every run (a runner has at most one body in flight), so starting a run queues no closure, no Task and no
    /// continuation: just this work item. A successful direct run is reported by the work item itself (RunEnded to the
    /// manager, then the Succeeded event, then the runner is marked idle); any other ending goes to the runner as
    /// BodyEnded, and the runner marks it idle.
    /// </summary>
    private sealed class BodyInvoker : IThreadPoolWorkItem
    {
        private readonly TaskRunner _owner;
        private readonly Func<PeriodicTaskContext, CancellationToken, ValueTask> _body;
        private readonly IActorRef _runner;
        private readonly IActorRef _manager;
        private readonly ActorSystem _system;
        private readonly EventStream _events;
        private readonly Action _onCompleted;

        // Only values here, no reference to an object made for the run: this long-lived object would otherwise keep one
        // for the next collection to scan, once per task per run. The context is made on the pool thread.
        private long _runId;
        private long _tick = -1;
        private DateTimeOffset _scheduledAt;
        private CancellationToken _cancellationToken;
        private DateTimeOffset _startedAt;
        private long _startTimestamp;
        private bool _direct;
        private int _busy;
        private ValueTaskAwaiter _awaiter;

        public BodyInvoker(TaskRunner owner, IActorRef runner, IActorRef manager, ActorSystem system)
        {
            _owner = owner;
            _body = owner._task.Body;
            _runner = runner;
            _manager = manager;
            _system = system;
            _events = system.EventStream;
            _onCompleted = OnCompleted;
        }

        /// <summary>True from the start of a run until its end has been reported.</summary>
        public bool Busy => Volatile.Read(ref _busy) != 0;

        /// <summary>The tick of the run in flight (or of the last one).</summary>
        public long Tick => Volatile.Read(ref _tick);

        public void Start(
            long runId, Run run, CancellationToken cancellationToken, DateTimeOffset startedAt, long startTimestamp, bool direct)
        {
            _runId = runId;
            _tick = run.Tick;
            _scheduledAt = run.ScheduledAt;
            _cancellationToken = cancellationToken;
            _startedAt = startedAt;
            _startTimestamp = startTimestamp;
            _direct = direct;
            Volatile.Write(ref _busy, 1);
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: true);
        }

        /// <summary>Called by the runner when it has handled the end of a run that came back to it.</summary>
        public void Idle() => Volatile.Write(ref _busy, 0);

        public void Execute()
        {
            var owner = _owner;
            var context = new PeriodicTaskContext(
                owner._setName, owner._task.Name, _tick, _scheduledAt, _system, owner._taskLog, _cancellationToken);
            ValueTask run;
            try
            {
                run = _body(context, _cancellationToken);
            }
            catch (Exception e)
            {
                End(e);
                return;
            }

            if (run.IsCompleted)
            {
                Complete(run.GetAwaiter());
                return;
            }

            _awaiter = run.GetAwaiter();
            _awaiter.UnsafeOnCompleted(_onCompleted);
        }

        private void OnCompleted()
        {
            var awaiter = _awaiter;
            _awaiter = default;
            Complete(awaiter);
        }

        private void Complete(ValueTaskAwaiter awaiter)
        {
            Exception? error = null;
            try
            {
                awaiter.GetResult();
            }
            catch (Exception e)
            {
                error = e;
            }

            End(error);
        }

        private void End(Exception? error)
        {
            if (error is not null || !_direct)
            {
                _runner.Tell(new BodyEnded(_runId, _tick, _scheduledAt, error));
                return;
            }

            var duration = Stopwatch.GetElapsedTime(_startTimestamp);
            _manager.Tell(new RunEnded(_owner._index, RunOutcome.Succeeded, duration), _runner);
            _events.Publish(new PeriodicTaskSucceeded(_owner._setName, _owner._task.Name, _tick, _scheduledAt, _startedAt, duration));
            Volatile.Write(ref _busy, 0);
        }
    }
}
