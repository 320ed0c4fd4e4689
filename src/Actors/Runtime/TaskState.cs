using ActorScheduler.Messages;
using ActorScheduler.Tasks;
using Akka.Actor;

namespace ActorScheduler.Runtime;

/// <summary>
/// INTERNAL API. Where a task's run is, as the manager sees it (docs/architecture.md, "A task's run state"). Each state
/// is left only by the transitions <see cref="TaskState"/> checks.
/// </summary>
internal enum RunState
{
    /// <summary>No run in flight: the next due run starts at once.</summary>
    Idle,

    /// <summary>The store records the run's start; its Run goes to the runner once it is (cluster tasks with a store).</summary>
    RecordingStart,

    /// <summary>The runner has the run.</summary>
    Running,

    /// <summary>The runner has a run of an outdated or removed definition: it is stopped once the run ends.</summary>
    Retiring,
}

/// <summary>
/// INTERNAL API. What a manager knows of one task, kept by reference in its <see cref="TaskTable"/>: its definition,
/// run state, run in flight and queued run, runner, pause and counters.
/// </summary>
internal sealed class TaskState(PeriodicTaskDefinition definition, int index, TimeSpan periodicInterval)
{
    /// <summary>Replaced by an update (<see cref="Redefine"/>), which retires the runner.</summary>
    public PeriodicTaskDefinition Definition { get; private set; } = definition;

    /// <summary>The schedule in words, made once per definition (stats are asked for often; a cron is parsed to say it).</summary>
    public string Schedule { get; private set; } = definition.Options.DescribeSchedule(periodicInterval);

    public int Index { get; } = index;

    public string Name => Definition.Name;

    public RunState State { get; private set; }

    /// <summary>True from the run's start (its Run sent, or its start being recorded) until its RunEnded.</summary>
    public bool InFlight => State != RunState.Idle;

    /// <summary>The runner, created on the first run and again after a passivation or an update; null until then.</summary>
    public IActorRef? Child { get; set; }

    public int Incarnation { get; set; }

    /// <summary>The run in flight (or the last run).</summary>
    public Run? CurrentRun { get; private set; }

    /// <summary>With overlap = queue: the run that starts when the running one ends (at most one).</summary>
    public Run? Pending { get; set; }

    public long LastDispatchTick { get; set; }

    /// <summary>The task's pause, or null when it is not paused.</summary>
    public TaskPause? Pause { get; set; }

    /// <summary>Occurrences failed in a row (after their retries), for pause-after-failures.</summary>
    public int ConsecutiveFailures { get; set; }

    public TaskCounters Counters { get; } = new();

    /// <summary>Idle to Running, or to RecordingStart when the store records the start first.</summary>
    public void Start(Run run, bool recordFirst)
    {
        Expect(State == RunState.Idle, "start");
        CurrentRun = run;
        State = recordFirst ? RunState.RecordingStart : RunState.Running;
    }

    /// <summary>RecordingStart to Running: the store has recorded the start.</summary>
    public void StartRecorded()
    {
        Expect(State == RunState.RecordingStart, "record the start of");
        State = RunState.Running;
    }

    /// <summary>Running to Retiring: the runner is stopped when the run ends.</summary>
    public void Retire()
    {
        Expect(State is RunState.Running or RunState.Retiring, "retire the runner of");
        State = RunState.Retiring;
    }

    /// <summary>Any state with a run in flight back to Idle; true when the runner must be stopped now.</summary>
    public bool End()
    {
        Expect(InFlight, "end");
        var retire = State == RunState.Retiring;
        State = RunState.Idle;
        return retire;
    }

    public void Redefine(PeriodicTaskDefinition definition, TimeSpan periodicInterval)
    {
        Definition = definition;
        Schedule = definition.Options.DescribeSchedule(periodicInterval);
    }

    private void Expect(bool allowed, string what)
    {
        if (!allowed)
            throw new InvalidOperationException($"cannot {what} a run of task '{Name}' in state {State}.");
    }
}

/// <summary>INTERNAL API. A pause: its note and the time it ends by itself, if any.</summary>
internal sealed record TaskPause(string? Note, DateTimeOffset? Until);

/// <summary>INTERNAL API. One task's statistics, as a plain class the manager updates.</summary>
internal sealed class TaskCounters
{
    public long Runs { get; private set; }
    public long Succeeded { get; private set; }
    public long Failed { get; private set; }
    public long TimedOut { get; private set; }
    public long Cancelled { get; private set; }
    public long Overruns { get; private set; }
    public long Missed { get; private set; }
    public long SkippedWhilePaused { get; private set; }
    public long Retries { get; private set; }
    public DateTimeOffset? LastStart { get; set; }
    public TimeSpan? LastDuration { get; private set; }
    private long _ended;
    private TimeSpan _totalDuration;
    private TimeSpan _maxDuration;

    public void Started(DateTimeOffset at)
    {
        Runs++;
        LastStart = at;
    }

    public void Ended(RunOutcome outcome, TimeSpan duration, int attempts)
    {
        Retries += attempts - 1;
        switch (outcome)
        {
            case RunOutcome.Succeeded: Succeeded++; break;
            case RunOutcome.Failed: Failed++; break;
            case RunOutcome.TimedOut: TimedOut++; break;
            case RunOutcome.Cancelled: Cancelled++; break;
        }

        _ended++;
        LastDuration = duration;
        _totalDuration += duration;
        if (duration > _maxDuration)
            _maxDuration = duration;
    }

    public void Overran() => Overruns++;

    public void MissedDueTimes(int count) => Missed += count;

    public void SkippedPaused(int count) => SkippedWhilePaused += count;

    /// <summary>The counters as a record, kept by a store so that they continue on the next start.</summary>
    public CounterRecord ToRecord() =>
        new(Runs, Succeeded, Failed, TimedOut, Cancelled, Overruns, Missed, SkippedWhilePaused, Retries, _ended, _totalDuration, _maxDuration, LastDuration);

    /// <summary>Continues from counters saved by a store (before the first tick).</summary>
    public void Restore(CounterRecord saved)
    {
        (Runs, Succeeded, Failed, TimedOut, Cancelled) = (saved.Runs, saved.Succeeded, saved.Failed, saved.TimedOut, saved.Cancelled);
        (Overruns, Missed, SkippedWhilePaused, Retries) = (saved.Overruns, saved.Missed, saved.SkippedWhilePaused, saved.Retries);
        (_ended, _totalDuration, _maxDuration, LastDuration) = (saved.Ended, saved.TotalDuration, saved.MaxDuration, saved.LastDuration);
    }

    public TaskStats ToStats(
        string task, string schedule, bool enabled, bool running, long? nextDueTick, DateTimeOffset? nextDueAt, TaskPause? pause) =>
        new(task, schedule, enabled, Runs, Succeeded, Failed, TimedOut, Cancelled, Overruns, Missed, running,
            LastStart, LastDuration,
            _ended > 0 ? _totalDuration / _ended : null,
            _ended > 0 ? _maxDuration : null,
            nextDueTick, nextDueAt,
            pause is not null, pause?.Note, pause?.Until, SkippedWhilePaused, Retries);
}

/// <summary>INTERNAL API. A task's counters as saved by a store (<see cref="TaskCounters.ToRecord"/>).</summary>
internal sealed record CounterRecord(
    long Runs, long Succeeded, long Failed, long TimedOut, long Cancelled, long Overruns, long Missed, long SkippedWhilePaused,
    long Retries, long Ended, TimeSpan TotalDuration, TimeSpan MaxDuration, TimeSpan? LastDuration);
