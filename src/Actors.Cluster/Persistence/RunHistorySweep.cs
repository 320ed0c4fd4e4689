namespace ActorScheduler.Persistence;

/// <summary>INTERNAL API. The steps of a run history's sweep: old runs by age, tasks cut to keep-runs, old minutes.</summary>
internal enum RunHistorySweepStep
{
    Age,
    Count,
    Minutes,
}

/// <summary>
/// INTERNAL API. A sweep of a <see cref="RunHistoryWriter"/>'s retention in progress (docs/cluster.md, "Run history"):
/// its time, its step, and the tasks it trims to keep-runs.
/// </summary>
internal sealed class RunHistorySweep(DateTimeOffset at, List<string> tasks)
{
    /// <summary>Runs deleted by age in one statement.</summary>
    internal const int DeleteChunk = 1_000;

    /// <summary>Tasks trimmed to keep-runs in one step (deleting at most <see cref="DeleteChunk"/> runs).</summary>
    internal const int TasksPerStep = 100;

    internal static readonly TimeSpan SweepEvery = TimeSpan.FromMinutes(1);

    /// <summary>Minutes are counted for a day; their rows are deleted after two.</summary>
    internal static readonly TimeSpan KeepMinutesFor = TimeSpan.FromDays(2);

    private int _next;

    public DateTimeOffset At => at;

    public RunHistorySweepStep Step { get; private set; }

    public long Deleted { get; private set; }

    public IReadOnlyList<string> NextTasks(int count) => tasks.GetRange(_next, Math.Min(count, tasks.Count - _next));

    /// <summary>Counts a step's deletions and the tasks it is done with, and moves on; true when the sweep is over.</summary>
    public bool Advance(int deleted, int done, int chunk)
    {
        Deleted += deleted;
        _next += done;
        switch (Step)
        {
            case RunHistorySweepStep.Age when deleted >= chunk:
                return false; // more may be as old
            case RunHistorySweepStep.Age or RunHistorySweepStep.Count:
                Step = _next < tasks.Count ? RunHistorySweepStep.Count : RunHistorySweepStep.Minutes;
                return false;
            default:
                return true;
        }
    }
}
