using System.Diagnostics;
using System.Runtime.CompilerServices;
using ActorScheduler.Messages;
using ActorScheduler.Tasks;
using Akka.Actor;
using Akka.Event;

namespace ActorScheduler.Runtime;

/// <summary>
/// INTERNAL API. One child per task: owns a run from <see cref="Run"/> to <see cref="RunEnded"/>, retries included. It
/// runs the body off the actor thread, enforces the timeout, retries a failed or timed-out attempt after its backoff,
/// publishes the run's events and reports the end once to its manager; the last attempt's failure is thrown as
/// <see cref="PeriodicTaskFailedException"/> so that supervision decides (docs/semantics.md, "Retries").
/// </summary>
internal sealed class TaskRunner : UntypedActor, IWithTimers
{
    private const string TimeoutTimer = "timeout";
    private const string RetryTimer = "retry";

    private readonly string _setName;
    private readonly int _index;
    private readonly PeriodicTaskDefinition _task;
    private readonly IActorRef _manager;
    private readonly BodyInvoker _invoker;
    private ILoggingAdapter? _log;

    private Run? _run;
    private int _attempt;
    private bool _bodyRunning;
    private DateTimeOffset _startedAt;
    private CancellationTokenSource? _cancellation;
    private long _startTimestamp;
    private bool _timedOut;
    private RunOutcome _lastOutcome;
    private TimeSpan _lastDuration;
    private bool _stopping;
    private bool _dropRetries;
    private bool _retryReady;
    private Activity? _span;

    public TaskRunner(string setName, int index, PeriodicTaskDefinition task)
    {
        _setName = setName;
        _index = index;
        _task = task;
        _manager = Context.Parent;
        _invoker = new BodyInvoker(setName, task, Self, Context.System);
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Created when first needed: a logger costs more to build than a run.</summary>
    private ILoggingAdapter Log => _log ??= Context.GetLogger();

    private int LastAttempt => _dropRetries || _stopping ? _attempt : _task.Options.Retries + 1;

    public static Props Props(string setName, int index, PeriodicTaskDefinition task) =>
        Akka.Actor.Props.CreateBy(new Producer(setName, index, task)); // no expression compiled per child

    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case Run run:
                OnRun(run);
                break;
            case BodyEnded ended:
                OnBodyEnded(ended.Error);
                break;
            case TimeoutElapsed elapsed:
                OnTimeoutElapsed(elapsed.Timeout);
                break;
            case RetryDue:
                if (_run is null)
                    break;
                if (_bodyRunning)
                    _retryReady = true; // a timed-out body still running: the retry starts when it ends
                else
                    StartNextAttempt(_run);
                break;
            case CancelRun:
                _stopping = true;
                _cancellation?.Cancel();
                EndPendingRetry();
                break;
            case DropRetries:
                _dropRetries = true;
                EndPendingRetry();
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    private void OnRun(Run run)
    {
        _retryReady = false;
        if (_run is not null || _stopping)
        {
            // The manager sends Run only to a task with no run in flight; anything else is a defect.
            Log.Error("{0}.{1}: run of tick {2} refused: a run is in flight or the set is stopping", _setName, _task.Name, run.Tick);
            return;
        }

        _run = run;
        _attempt = 1;
        StartAttempt(run);
    }

    private void StartAttempt(Run run)
    {
        _timedOut = false;
        _bodyRunning = true;
        // One CancellationTokenSource serves every run until one is cancelled (TryReset succeeds only when it was not).
        if (_cancellation is null || !_cancellation.TryReset())
        {
            _cancellation?.Dispose();
            _cancellation = new CancellationTokenSource();
        }

        if (_task.Options.Timeout is { } timeout)
            Timers.StartSingleTimer(TimeoutTimer, new TimeoutElapsed(timeout), timeout);
        _startedAt = Context.System.Scheduler.Now;
        _startTimestamp = Stopwatch.GetTimestamp();
        Context.System.EventStream.Publish(
            new PeriodicTaskStarted(_setName, _task.Name, run.Tick, run.ScheduledAt, _startedAt) { Attempt = _attempt });
        _span = PeriodicTaskTracing.StartRun(_setName, _task.Name, run.Tick, _attempt);
        _invoker.Start(run, _attempt, _span, _cancellation.Token);
    }

    private void OnBodyEnded(Exception? error)
    {
        if (_run is not { } run || !_bodyRunning)
            return;
        _bodyRunning = false;
        var duration = Stopwatch.GetElapsedTime(_startTimestamp);
        if (_task.Options.Timeout is not null)
            Timers.Cancel(TimeoutTimer);

        if (_timedOut)
        {
            // The timed-out event went out at the timeout (and the failure, or the retry's timer, with it); this is the
            // body's end.
            EndSpan("timed-out", $"timed out after {Durations.Format(_task.Options.Timeout!.Value)}");
            _lastDuration = duration;
            if (_attempt >= LastAttempt)
            {
                Timers.Cancel(RetryTimer);
                End(RunOutcome.TimedOut, duration);
            }
            else if (_retryReady)
            {
                StartNextAttempt(run);
            }

            return;
        }

        if (error is null)
        {
            // The manager hears of the end before anyone sees the event, so stats asked for after the event include it.
            EndSpan("succeeded", null);
            End(RunOutcome.Succeeded, duration);
            Context.System.EventStream.Publish(
                new PeriodicTaskSucceeded(_setName, _task.Name, run.Tick, run.ScheduledAt, _startedAt, duration) { Attempt = _attempt });
            return;
        }

        // A run that ends by honouring the stop's cancellation is counted as cancelled, not failed.
        var cancelled = _stopping && error is OperationCanceledException;
        if (cancelled)
            error = new OperationCanceledException($"cancelled: task set {_setName} is stopping", error);
        var last = _attempt >= LastAttempt;
        EndSpan(cancelled ? "cancelled" : "failed", error.Message);
        if (last)
            End(cancelled ? RunOutcome.Cancelled : RunOutcome.Failed, duration);
        else
            Retry(RunOutcome.Failed, duration, error.Message); // the timer is armed before anyone sees the event
        Context.System.EventStream.Publish(
            new PeriodicTaskFailed(_setName, _task.Name, run.Tick, run.ScheduledAt, _startedAt, duration, error) { Attempt = _attempt });
        if (last && !_stopping)
            throw new PeriodicTaskFailedException(_setName, _task.Name, run.Tick, error);
    }

    private void OnTimeoutElapsed(TimeSpan timeout)
    {
        if (_run is not { } run || !_bodyRunning || _timedOut)
            return;
        _timedOut = true;
        _cancellation?.Cancel();
        var elapsed = Stopwatch.GetElapsedTime(_startTimestamp);
        var last = _attempt >= LastAttempt;
        if (!last)
            Retry(RunOutcome.TimedOut, elapsed, $"timed out after {Durations.Format(timeout)}"); // backoff counts from the timeout
        Context.System.EventStream.Publish(new PeriodicTaskTimedOut(
            _setName, _task.Name, run.Tick, run.ScheduledAt, _startedAt, elapsed, timeout) { Attempt = _attempt });
        if (last)
            throw new PeriodicTaskTimeoutException(_setName, _task.Name, run.Tick, timeout);
    }

    private void StartNextAttempt(Run run)
    {
        _retryReady = false;
        _attempt++;
        StartAttempt(run);
    }

    /// <summary>
    /// Waits the attempt's backoff (retry-backoff doubled per attempt, capped at retry-max-backoff), then runs again
    /// (a timed-out body still running delays the retry until it ends).
    /// </summary>
    private void Retry(RunOutcome outcome, TimeSpan duration, string why)
    {
        _retryReady = false;
        _lastOutcome = outcome;
        _lastDuration = duration;
        var options = _task.Options;
        var delay = options.RetryBackoff;
        for (var i = 1; i < _attempt && delay < options.RetryMaxBackoff; i++)
            delay += delay;
        if (delay > options.RetryMaxBackoff)
            delay = options.RetryMaxBackoff;
        Log.Warning("Error during {0}.{1} (attempt {2} of {3}): {4}; retrying in {5}",
            _setName, _task.Name, _attempt, options.Retries + 1, why, Durations.Format(delay));
        Timers.StartSingleTimer(RetryTimer, RetryDue.Instance, delay);
    }

    /// <summary>A stop or a removal while a retry waits: the run ends with its last attempt's outcome.</summary>
    private void EndPendingRetry()
    {
        if (_run is null || _bodyRunning)
            return;
        Timers.Cancel(RetryTimer);
        End(_lastOutcome, _lastDuration);
    }

    private void EndSpan(string outcome, string? error)
    {
        PeriodicTaskTracing.End(_span, outcome, error);
        _span = null;
    }

    private void End(RunOutcome outcome, TimeSpan duration)
    {
        _run = null;
        _manager.Tell(new RunEnded(_index, outcome, duration, _attempt));
    }

    protected override void PostStop()
    {
        EndSpan("cancelled", "the task runner stopped");
        if (_run is not null)
            _cancellation?.Cancel();
        else
            _cancellation?.Dispose();
        base.PostStop();
    }

    private sealed class Producer(string setName, int index, PeriodicTaskDefinition task) : IIndirectActorProducer
    {
        public Type ActorType => typeof(TaskRunner);

        public ActorBase Produce() => new TaskRunner(setName, index, task);

        public void Release(ActorBase actor)
        {
        }
    }

    /// <summary>The body ended, with the exception it threw, if any. Sent by the body's continuation to the runner.</summary>
    private sealed record BodyEnded(Exception? Error)
    {
        public static readonly BodyEnded Success = new((Exception?)null);
    }

    private sealed record TimeoutElapsed(TimeSpan Timeout);

    private sealed record RetryDue
    {
        public static readonly RetryDue Instance = new();
    }

    /// <summary>
    /// Runs the body on the thread pool and tells the runner when it ends. One instance per runner serves every run (a
    /// runner has one body in flight at most), so a run queues no closure and no continuation object.
    /// </summary>
    private sealed class BodyInvoker : IThreadPoolWorkItem
    {
        private readonly string _setName;
        private readonly PeriodicTaskDefinition _task;
        private readonly IActorRef _runner;
        private readonly ActorSystem _system;
        private readonly ILoggingAdapter _taskLog;
        private readonly Action _onCompleted;
        private Run? _run;
        private int _attempt;
        private Activity? _span;
        private CancellationToken _token;
        private ValueTaskAwaiter _awaiter;

        public BodyInvoker(string setName, PeriodicTaskDefinition task, IActorRef runner, ActorSystem system)
        {
            _setName = setName;
            _task = task;
            _runner = runner;
            _system = system;
            _taskLog = Logging.GetLogger(system, $"{setName}.{task.Name}");
            _onCompleted = OnCompleted;
        }

        public void Start(Run run, int attempt, Activity? span, CancellationToken token)
        {
            _run = run;
            _attempt = attempt;
            _span = span;
            _token = token;
            ThreadPool.UnsafeQueueUserWorkItem(this, preferLocal: true);
        }

        public void Execute()
        {
            var run = _run!;
            _run = null;
            var context = new PeriodicTaskContext(_setName, _task.Name, run.Tick, run.ScheduledAt, _system, _taskLog, _token) { Attempt = _attempt };
            ValueTask body;
            var span = _span;
            _span = null;
            if (span is not null)
                Activity.Current = span; // spans the body starts are the run's children
            try
            {
                body = _task.Body(context, _token);
            }
            catch (Exception e)
            {
                _runner.Tell(new BodyEnded(e));
                return;
            }
            finally
            {
                if (span is not null)
                    Activity.Current = null;
            }

            if (body.IsCompleted)
            {
                Complete(body.GetAwaiter());
                return;
            }

            _awaiter = body.GetAwaiter();
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
            try
            {
                awaiter.GetResult();
            }
            catch (Exception e)
            {
                _runner.Tell(new BodyEnded(e));
                return;
            }

            _runner.Tell(BodyEnded.Success);
        }
    }
}
