using System.Diagnostics;
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
public sealed class TaskRunner : ReceiveActor, IWithTimers
{
    private const string TimeoutTimer = "timeout";

    private readonly string _setName;
    private readonly int _index;
    private readonly PeriodicTaskDefinition _task;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly ILoggingAdapter _taskLog;

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

        Receive<Run>(OnRun);
        Receive<BodyEnded>(OnBodyEnded);
        Receive<TimeoutElapsed>(OnTimeoutElapsed);
        Receive<CancelRun>(_ => OnCancelRun());
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(string setName, int index, PeriodicTaskDefinition task) =>
        Akka.Actor.Props.Create(() => new TaskRunner(setName, index, task));

    private void OnRun(Run run)
    {
        if (_stopping)
            return;
        if (_current is null)
        {
            Start(run);
            return;
        }

        if (_task.Options.Overlap == OverlapMode.Queue && _pending is null)
        {
            _pending = run;
            return;
        }

        _log.Warning("{0}.{1} is due on tick {2} but its run of tick {3} is still in flight: skipped (overrun)",
            _setName, _task.Name, run.Tick, _current.Tick);
        Context.System.EventStream.Publish(new PeriodicTaskOverrun(_setName, _task.Name, run.Tick, run.ScheduledAt));
        Context.Parent.Tell(new RunOverran(_index));
    }

    private void Start(Run run)
    {
        _current = run;
        _timedOut = false;
        var id = ++_runId;
        _cancellation = new CancellationTokenSource();
        if (_task.Options.Timeout is { } timeout)
            Timers.StartSingleTimer(TimeoutTimer, new TimeoutElapsed(id, timeout), timeout);

        _startedAt = Context.System.Scheduler.Now;
        _startTimestamp = Stopwatch.GetTimestamp();
        Context.Parent.Tell(new RunStarted(_index, run.Tick, _startedAt));
        Context.System.EventStream.Publish(new PeriodicTaskStarted(_setName, _task.Name, run.Tick, run.ScheduledAt, _startedAt));

        var token = _cancellation.Token;
        var context = new PeriodicTaskContext(_setName, _task.Name, run.Tick, run.ScheduledAt, Context.System, _taskLog, token);
        var body = _task.Body;
        var self = Self;
        Task.Run(async () => await body(context, token).ConfigureAwait(false), CancellationToken.None)
            .ContinueWith(
                t => self.Tell(new BodyEnded(id, t.IsFaulted ? Unwrap(t.Exception!) : t.IsCanceled ? new OperationCanceledException() : null)),
                CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private void OnBodyEnded(BodyEnded ended)
    {
        if (ended.RunId != _runId || _current is not { } run)
            return;
        var duration = Stopwatch.GetElapsedTime(_startTimestamp);
        var timedOut = _timedOut;
        var stopping = _stopping;
        Finish();

        if (timedOut)
        {
            _log.Debug("{0}.{1} run of tick {2} ended {3} after it was started (it had timed out)",
                _setName, _task.Name, run.Tick, duration);
            StartPending();
            return;
        }

        if (ended.Error is null)
        {
            Context.System.EventStream.Publish(new PeriodicTaskSucceeded(_setName, _task.Name, run.Tick, run.ScheduledAt, _startedAt, duration));
            Context.Parent.Tell(new RunEnded(_index, RunOutcome.Succeeded, duration));
            StartPending();
            return;
        }

        var error = stopping && ended.Error is OperationCanceledException
            ? new OperationCanceledException($"cancelled: task set {_setName} is stopping", ended.Error)
            : ended.Error;
        Context.System.EventStream.Publish(new PeriodicTaskFailed(_setName, _task.Name, run.Tick, run.ScheduledAt, _startedAt, duration, error));
        Context.Parent.Tell(new RunEnded(_index, RunOutcome.Failed, duration));
        if (stopping)
            return;
        StartPending();
        throw new PeriodicTaskFailedException(_setName, _task.Name, run.Tick, error);
    }

    private void OnTimeoutElapsed(TimeoutElapsed elapsed)
    {
        if (elapsed.RunId != _runId || _current is not { } run || _timedOut)
            return;
        _timedOut = true;
        _cancellation?.Cancel();
        var duration = Stopwatch.GetElapsedTime(_startTimestamp);
        Context.System.EventStream.Publish(
            new PeriodicTaskTimedOut(_setName, _task.Name, run.Tick, run.ScheduledAt, _startedAt, duration, elapsed.Timeout));
        Context.Parent.Tell(new RunEnded(_index, RunOutcome.TimedOut, duration));
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
            Start(pending);
        }
    }

    private void Finish()
    {
        Timers.Cancel(TimeoutTimer);
        _cancellation?.Dispose();
        _cancellation = null;
        _current = null;
        _timedOut = false;
    }

    protected override void PostStop()
    {
        _cancellation?.Cancel();
        base.PostStop();
    }

    private static Exception Unwrap(AggregateException error) =>
        error.InnerExceptions.Count == 1 ? error.InnerExceptions[0] : error;

    /// <summary>The manager's order to run the task for <paramref name="Tick"/>.</summary>
    internal sealed record Run(long Tick, DateTimeOffset ScheduledAt);

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
    }

    internal sealed record RunStarted(int Index, long Tick, DateTimeOffset StartedAt);

    internal sealed record RunEnded(int Index, RunOutcome Outcome, TimeSpan Duration);

    internal sealed record RunOverran(int Index);

    private sealed record BodyEnded(long RunId, Exception? Error);

    private sealed record TimeoutElapsed(long RunId, TimeSpan Timeout);
}
