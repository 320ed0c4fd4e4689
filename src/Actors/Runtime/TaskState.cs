using ActorScheduler.Messages;
using ActorScheduler.Tasks;
using Akka.Actor;

namespace ActorScheduler.Runtime;

/// <summary>INTERNAL API. What a manager knows of one task: its child, its run in flight, its pending run and its counters.</summary>
internal sealed class TaskState(PeriodicTaskDefinition definition, int index)
{
    public PeriodicTaskDefinition Definition { get; } = definition;

    public int Index { get; } = index;

    public string Name => Definition.Name;

    /// <summary>The runner, created on the first run and again after a passivation; null while passivated.</summary>
    public IActorRef? Child { get; set; }

    public int Incarnation { get; set; }

    /// <summary>True from the Run sent to the runner until its RunEnded.</summary>
    public bool Running { get; set; }

    /// <summary>The tick of the run in flight (or of the last run).</summary>
    public long RunningTick { get; set; }

    /// <summary>With overlap = queue: the run that starts when the running one ends (at most one).</summary>
    public Run? Pending { get; set; }

    public long LastDispatchTick { get; set; }

    public TaskCounters Counters { get; } = new();
}

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

    public void Ended(RunOutcome outcome, TimeSpan duration)
    {
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

    public TaskStats ToStats(string task, string schedule, bool enabled, bool running, long? nextDueTick, DateTimeOffset? nextDueAt) =>
        new(task, schedule, enabled, Runs, Succeeded, Failed, TimedOut, Cancelled, Overruns, Missed, running,
            LastStart, LastDuration,
            _ended > 0 ? _totalDuration / _ended : null,
            _ended > 0 ? _maxDuration : null,
            nextDueTick, nextDueAt);
}
