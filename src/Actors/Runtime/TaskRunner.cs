using System.Diagnostics;
using ActorScheduler.Configuration;
using ActorScheduler.Messages;
using ActorScheduler.Tasks;
using Akka.Actor;
using Akka.Event;

namespace ActorScheduler.Runtime;

/// <summary>
/// INTERNAL API. One child per task: owns a run from <see cref="Run"/> to <see cref="RunEnded"/>, retries included. It
/// runs the body off the actor thread, enforces the timeout, retries a failed or timed-out attempt after its backoff,
/// publishes the run's events and reports the end once to its manager; the last attempt's failure is thrown as
/// <see cref="PeriodicTaskFailedException"/> so that supervision decides (docs/semantics.md, "Retries and pausing on
/// failure"). Phases: <see cref="Idle"/> (no run), <see cref="Attempting"/> (a body runs), <see cref="TimedOut"/> (the
/// attempt timed out, its event and the retry's timer are out, its body has not returned) and <see cref="AwaitingRetry"/>
/// (the backoff). A stop or a removal makes the attempt in flight the last (<see cref="Limit"/>).
/// </summary>
internal sealed class TaskRunner : ActorBase, IWithTimers
{
    private const string TimeoutTimer = "timeout";
    private const string RetryTimer = "retry";

    private readonly string _setName;
    private readonly int _index;
    private readonly PeriodicTaskDefinition _task;
    private readonly IActorRef _manager;
    private readonly bool _publishesSteps;
    private readonly bool _publishesFailures;
    private readonly BodyInvoker _invoker;
    private readonly Receive _idle;
    private readonly Receive _attempting;
    private readonly Receive _timedOut;
    private readonly Receive _awaitingRetry;
    private ILoggingAdapter? _log;

    private Limit _limit;
    private Run? _run;
    private int _attempt;
    private DateTimeOffset _startedAt;
    private CancellationTokenSource? _cancellation;
    private long _startTimestamp;
    private RunOutcome _lastOutcome;
    private TimeSpan _lastDuration;
    private string? _lastError;
    private Activity? _span;

    public TaskRunner(string setName, int index, PeriodicTaskDefinition task, RunEvents events)
    {
        _setName = setName;
        _index = index;
        _task = task;
        _publishesSteps = events == RunEvents.All; // started, succeeded
        _publishesFailures = events != RunEvents.Off; // failed, timed-out
        _manager = Context.Parent;
        _invoker = new BodyInvoker(setName, task, Self, Context.System);
        // The phases' delegates, made once: a Become allocates no delegate.
        _idle = Idle;
        _attempting = Attempting;
        _timedOut = TimedOut;
        _awaitingRetry = AwaitingRetry;
    }

    /// <summary>What ends a run: its retries, or the attempt in flight once retries are dropped or the set stops.</summary>
    private enum Limit
    {
        Retries,
        RetriesDropped,
        Stopping,
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>Created when first needed: a logger costs more to build than a run.</summary>
    private ILoggingAdapter Log => _log ??= Context.GetLogger();

    private bool Stopping => _limit == Limit.Stopping;

    private bool IsLastAttempt => _limit != Limit.Retries || _attempt > _task.Options.Retries;

    public static Props Props(string setName, int index, PeriodicTaskDefinition task, RunEvents events = RunEvents.All) =>
        Akka.Actor.Props.CreateBy(new Producer(setName, index, task, events)); // no expression compiled per child

    protected override bool Receive(object message) => Idle(message);

    /// <summary>No run: a Run starts one, unless the set is stopping.</summary>
    private bool Idle(object message)
    {
        switch (message)
        {
            case Run run when !Stopping:
                _run = run;
                _attempt = 1;
                StartAttempt(run);
                return true;
            case CancelRun:
                _limit = Limit.Stopping;
                return true;
            case DropRetries:
                OnDropRetries();
                return true;
            default:
                return Unexpected(message);
        }
    }

    /// <summary>A body runs: its end or its timeout ends the attempt.</summary>
    private bool Attempting(object message)
    {
        switch (message)
        {
            case BodyEnded ended:
                OnBodyEnded(ended.Error);
                return true;
            case TimeoutElapsed elapsed:
                OnTimeoutElapsed(elapsed.Timeout);
                return true;
            case CancelRun:
                _limit = Limit.Stopping;
                _cancellation!.Cancel();
                return true;
            case DropRetries:
                OnDropRetries();
                return true;
            default:
                return Unexpected(message);
        }
    }

    /// <summary>
    /// The attempt timed out and its body still runs: no other attempt starts beside it. Its end ends the run after the
    /// last attempt, starts the retry that is due or waits for it.
    /// </summary>
    private bool TimedOut(object message)
    {
        switch (message)
        {
            case BodyEnded:
                OnTimedOutBodyEnded();
                return true;
            case CancelRun:
                _limit = Limit.Stopping; // its token was cancelled at the timeout
                return true;
            case DropRetries:
                OnDropRetries();
                return true;
            default:
                return Unexpected(message); // a RetryDue too: the body's end starts the retry (its timer is then inactive)
        }
    }

    /// <summary>The backoff before the next attempt; a stop or a removal ends the run with the last attempt's outcome.</summary>
    private bool AwaitingRetry(object message)
    {
        switch (message)
        {
            case RetryDue:
                StartNextAttempt();
                return true;
            case CancelRun:
                _limit = Limit.Stopping;
                EndPendingRetry();
                return true;
            case DropRetries:
                OnDropRetries();
                EndPendingRetry();
                return true;
            default:
                return Unexpected(message);
        }
    }

    /// <summary>
    /// What every phase does with a message it does not expect: a Run is refused (the manager sends Run only to a task
    /// with no run in flight, so it is a defect); the end, timeout or retry of no attempt in flight is dropped.
    /// </summary>
    private bool Unexpected(object message)
    {
        switch (message)
        {
            case Run run:
                Log.Error("{0}.{1}: run of tick {2} refused: a run is in flight or the set is stopping", _setName, _task.Name, run.Tick);
                return true;
            case BodyEnded or TimeoutElapsed or RetryDue:
                return true;
            default:
                return false;
        }
    }

    private void OnDropRetries()
    {
        if (_limit == Limit.Retries)
            _limit = Limit.RetriesDropped;
    }

    private void StartAttempt(Run run)
    {
        Become(_attempting);
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
        if (_publishesSteps)
            Publish(new PeriodicTaskStarted(_setName, _task.Name, run.Tick, run.ScheduledAt, _startedAt) { Attempt = _attempt });

        _span = PeriodicTaskTracing.StartRun(_setName, _task.Name, run.Tick, _attempt);
        _invoker.Start(run, _attempt, _span, _cancellation.Token);
    }

    private void StartNextAttempt()
    {
        _attempt++;
        StartAttempt(_run!);
    }

    private void OnBodyEnded(Exception? error)
    {
        var run = _run!;
        var duration = Stopwatch.GetElapsedTime(_startTimestamp);
        if (_task.Options.Timeout is not null)
            Timers.Cancel(TimeoutTimer);

        if (error is null)
        {
            // The manager hears of the end before anyone sees the event, so stats asked for after the event include it.
            EndSpan(RunOutcome.Succeeded, null);
            End(RunOutcome.Succeeded, duration);
            if (_publishesSteps)
                Publish(new PeriodicTaskSucceeded(_setName, _task.Name, run.Tick, run.ScheduledAt, _startedAt, duration) { Attempt = _attempt });
            return;
        }

        // A run that ends by honouring the stop's cancellation is counted as cancelled, not failed.
        var outcome = RunOutcome.Failed;
        if (Stopping && error is OperationCanceledException)
        {
            outcome = RunOutcome.Cancelled;
            error = new OperationCanceledException($"cancelled: task set {_setName} is stopping", error);
        }

        var last = IsLastAttempt;
        EndSpan(outcome, error.Message);
        if (last)
        {
            End(outcome, duration, OneLine(error)); // idle before the throw below: a resumed runner takes the next Run
        }
        else
        {
            Retry(outcome, duration, OneLine(error)); // the timer is armed before anyone sees the event
            Become(_awaitingRetry);
        }

        if (_publishesFailures)
            Publish(new PeriodicTaskFailed(_setName, _task.Name, run.Tick, run.ScheduledAt, _startedAt, duration, error) { Attempt = _attempt });

        if (last && !Stopping)
            throw new PeriodicTaskFailedException(_setName, _task.Name, run.Tick, error);
    }

    private void OnTimeoutElapsed(TimeSpan timeout)
    {
        var run = _run!;
        Become(_timedOut); // before the throw below: the run ends when the body returns
        _cancellation!.Cancel();
        var elapsed = Stopwatch.GetElapsedTime(_startTimestamp);
        var last = IsLastAttempt;
        if (!last)
            Retry(RunOutcome.TimedOut, elapsed, $"timed out after {Durations.Format(timeout)}"); // backoff counts from the timeout
        if (_publishesFailures)
            Publish(new PeriodicTaskTimedOut(_setName, _task.Name, run.Tick, run.ScheduledAt, _startedAt, elapsed, timeout) { Attempt = _attempt });

        if (last)
            throw new PeriodicTaskTimeoutException(_setName, _task.Name, run.Tick, timeout);
    }

    /// <summary>
    /// The body of a timed-out attempt returned; its event went out at the timeout (and the failure, or the retry's
    /// timer, with it).
    /// </summary>
    private void OnTimedOutBodyEnded()
    {
        var duration = Stopwatch.GetElapsedTime(_startTimestamp);
        EndSpan(RunOutcome.TimedOut, $"timed out after {Durations.Format(_task.Options.Timeout!.Value)}");
        _lastDuration = duration;
        if (IsLastAttempt)
        {
            Timers.Cancel(RetryTimer);
            End(RunOutcome.TimedOut, duration, $"timed out after {Durations.Format(_task.Options.Timeout!.Value)}");
        }
        else if (Timers.IsTimerActive(RetryTimer))
        {
            Become(_awaitingRetry);
        }
        else
        {
            StartNextAttempt(); // the retry fell due while the body ran
        }
    }

    /// <summary>Arms the retry after the attempt's backoff (<see cref="RetryPolicy.Backoff"/>).</summary>
    private void Retry(RunOutcome outcome, TimeSpan duration, string why)
    {
        _lastOutcome = outcome;
        _lastDuration = duration;
        _lastError = why;
        var delay = RetryPolicy.Backoff(_task.Options, _attempt);
        Log.Warning("Error during {0}.{1} (attempt {2} of {3}): {4}; retrying in {5}",
            _setName, _task.Name, _attempt, _task.Options.Retries + 1, why, Durations.Format(delay));
        Timers.StartSingleTimer(RetryTimer, RetryDue.Instance, delay);
    }

    /// <summary>A stop or a removal while a retry waits: the run ends with its last attempt's outcome.</summary>
    private void EndPendingRetry()
    {
        Timers.Cancel(RetryTimer);
        End(_lastOutcome, _lastDuration, _lastError);
    }

    private void Publish(PeriodicTaskEvent e) => Context.System.EventStream.Publish(e);

    private void EndSpan(RunOutcome outcome, string? error)
    {
        PeriodicTaskTracing.End(_span, outcome.Name(), error);
        _span = null;
    }

    private void End(RunOutcome outcome, TimeSpan duration, string? error = null)
    {
        _run = null;
        Become(_idle);
        _manager.Tell(new RunEnded(_index, outcome, duration, _attempt, error));
    }

    /// <summary>An error as the run history keeps it: its message on one line (its type when it has none), at most 2,000 characters.</summary>
    internal static string OneLine(Exception error)
    {
        var text = string.Join(' ', (string.IsNullOrWhiteSpace(error.Message) ? error.GetType().Name : error.Message)
            .Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        return text.Length <= 2000 ? text : text[..1999] + "…";
    }

    protected override void PostStop()
    {
        EndSpan(RunOutcome.Cancelled, "the task runner stopped");
        if (_run is not null)
            _cancellation?.Cancel();
        else
            _cancellation?.Dispose();
        base.PostStop();
    }

    private sealed class Producer(string setName, int index, PeriodicTaskDefinition task, RunEvents events) : IIndirectActorProducer
    {
        public Type ActorType => typeof(TaskRunner);

        public ActorBase Produce() => new TaskRunner(setName, index, task, events);

        public void Release(ActorBase actor)
        {
        }
    }

    private sealed record TimeoutElapsed(TimeSpan Timeout);

    private sealed record RetryDue
    {
        public static readonly RetryDue Instance = new();
    }
}
