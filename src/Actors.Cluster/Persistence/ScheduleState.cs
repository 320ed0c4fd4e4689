using System.Text.Json.Serialization;
using ActorScheduler.Messages;
using ActorScheduler.Runtime;
using ActorScheduler.Tasks;
using Akka.Event;

namespace ActorScheduler.Persistence;

/// <summary>
/// One task's saved place. <paramref name="DueTick"/> counts ticks across restarts (the keeper carries the tick
/// numbering on from the last recorded tick); <paramref name="Schedule"/> is the schedule the place belongs to, so a
/// changed schedule (say spacing 1h to 10m) starts fresh instead of inheriting a meaningless place.
/// </summary>
internal sealed record PlaceRecord(string Task, string Schedule, long? DueTick, DateTimeOffset? NextDueAt, DateTimeOffset? LastRunAt);

/// <summary>Journal event: tick <paramref name="Tick"/> (counted across restarts) was processed; the places that changed.</summary>
internal sealed record TickRecorded(long Tick, IReadOnlyList<PlaceRecord> Places);

/// <summary>
/// Journal event: a run of <paramref name="Task"/> is starting (Running: written before its body begins, with the
/// latest time it can end, the cluster node and the process that run it, its tick and due time) or ended (with the run
/// as kept among the recent runs, and the task's counters after it). Fields added after the first release are null in
/// older events.
/// </summary>
internal sealed record RunRecorded(
    string Task, bool Running, DateTimeOffset At, DateTimeOffset? Deadline, string? Node = null, string? Process = null,
    long? Tick = null, DateTimeOffset? ScheduledAt = null, PeriodicTaskRun? Ended = null, CounterRecord? Counters = null);

/// <summary>Journal event: <paramref name="Task"/> was paused (with its note and until) or resumed.</summary>
internal sealed record PauseRecorded(string Task, bool Paused, string? Note, DateTimeOffset? Until);

/// <summary>
/// Journal event: the change made at run time that <paramref name="Task"/> keeps, all its changes since the set
/// started folded into one: <c>add</c> (with options and body type; it replaces a task of the set's own by that name),
/// <c>update</c> (options, and body type when the body is not the set's own), <c>remove</c>, or <c>configured</c> (none
/// kept: the task is as the set defines it). <paramref name="Base"/> identifies the set's own definition the change
/// was made over (null: the set has no such task); a set defined differently since drops the change
/// (docs/control.md, "Changes that last").
/// </summary>
internal sealed record ChangeRecorded(
    string Task, string Kind, string? Base, PeriodicTaskOptions? Options, string? BodyType, DateTimeOffset At);

/// <summary>Journal event: records reported together, in the order they were reported, written as one event.</summary>
internal sealed record RecordedBatch(IReadOnlyList<RecordedItem> Items)
{
    public static RecordedBatch Of(IEnumerable<object> records) => new(records.Select(RecordedItem.Of).ToList());

    public IEnumerable<object> Records() => Items.Select(i => (object?)i.Tick ?? (object?)i.Run ?? (object?)i.Pause ?? i.Change!);
}

/// <summary>One record of a <see cref="RecordedBatch"/>: exactly one of its fields is set.</summary>
internal sealed record RecordedItem(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] TickRecorded? Tick = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] RunRecorded? Run = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] PauseRecorded? Pause = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ChangeRecorded? Change = null)
{
    public static RecordedItem Of(object record) => record switch
    {
        TickRecorded tick => new RecordedItem(Tick: tick),
        RunRecorded run => new RecordedItem(Run: run),
        PauseRecorded pause => new RecordedItem(Pause: pause),
        ChangeRecorded change => new RecordedItem(Change: change),
        _ => throw new ArgumentException($"{record.GetType().Name} is not a journal record.", nameof(record)),
    };
}

/// <summary>A task's counters and recent runs (oldest first) in a snapshot.</summary>
internal sealed record TaskHistory(string Task, CounterRecord? Counters, IReadOnlyList<PeriodicTaskRun> Recent);

/// <summary>Snapshot: the whole state at once (lists added after the first release are null in older snapshots).</summary>
internal sealed record ScheduleSnapshot(
    long LastTick, IReadOnlyList<PlaceRecord> Places, IReadOnlyList<RunRecorded> Running, IReadOnlyList<PauseRecorded>? Pauses = null,
    IReadOnlyList<TaskHistory>? Histories = null, IReadOnlyList<ChangeRecorded>? Changes = null);

/// <summary>The state a <see cref="ScheduleKeeper"/> rebuilds from its snapshot and journal.</summary>
internal sealed class ScheduleState
{
    /// <summary>How many recent runs of each task are kept.</summary>
    public const int RecentRunsKept = 10;

    public long LastTick { get; private set; } = -1;

    public Dictionary<string, PlaceRecord> Places { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, RunRecorded> Running { get; } = new(StringComparer.Ordinal);

    /// <summary>The paused tasks.</summary>
    public Dictionary<string, PauseRecorded> Pauses { get; } = new(StringComparer.Ordinal);

    /// <summary>Each task's counters after its last run.</summary>
    public Dictionary<string, CounterRecord> Counters { get; } = new(StringComparer.Ordinal);

    /// <summary>Each task's last <see cref="RecentRunsKept"/> runs, oldest first.</summary>
    public Dictionary<string, Queue<PeriodicTaskRun>> Recent { get; } = new(StringComparer.Ordinal);

    /// <summary>The change kept for each task changed at run time.</summary>
    public Dictionary<string, ChangeRecorded> Changes { get; } = new(StringComparer.Ordinal);

    /// <summary>The task's recent runs, newest first.</summary>
    public IReadOnlyList<PeriodicTaskRun> RecentOf(string task) =>
        Recent.TryGetValue(task, out var runs) ? runs.Reverse().ToList() : [];

    /// <summary>
    /// The places a manager starts from, null when nothing was recorded: each task whose recorded schedule is still its
    /// own continues at its due tick (counted from <paramref name="tickBase"/>) and time, with its last run, pause and
    /// counters; another keeps only its pause. A run recorded as started and not ended holds its task until its deadline
    /// (or <paramref name="shutdownTimeout"/> from now) plus <paramref name="clockMargin"/>, unless
    /// <paramref name="isOver"/> says its process is gone (docs/cluster.md, "Never two runs of one cluster task").
    /// </summary>
    public Dictionary<string, RestoredPlace>? Restore(
        IReadOnlyList<PeriodicTaskDefinition> tasks, IReadOnlyDictionary<string, string> scheduleKeys, long tickBase, DateTimeOffset now,
        TimeSpan shutdownTimeout, TimeSpan clockMargin, Func<RunRecorded, bool> isOver, ILoggingAdapter log, string setName)
    {
        if (LastTick < 0 && Pauses.Count == 0)
            return null;
        var restored = new Dictionary<string, RestoredPlace>(StringComparer.Ordinal);
        foreach (var task in tasks)
        {
            var pause = Pauses.TryGetValue(task.Name, out var p) ? new TaskPause(p.Note, p.Until) : null;
            if (!Places.TryGetValue(task.Name, out var place) || place.Schedule != scheduleKeys[task.Name])
            {
                if (pause is not null)
                    restored[task.Name] = new RestoredPlace(null, null, null, Pause: pause);
                continue;
            }

            DateTimeOffset? hold = null;
            if (Running.TryGetValue(task.Name, out var run))
            {
                if (isOver(run))
                    log.Info("{0}.{1}: the run started at {2:O} on {3} ended with its process, which is gone",
                        setName, task.Name, run.At, run.Node ?? "another process");
                else
                    hold = (run.Deadline ?? now + shutdownTimeout) + clockMargin;
            }

            if (hold is { } h && h > now)
                log.Warning("{0}.{1}: a run started at {2:O} may still be in flight on {3}: not dispatched before {4:O}",
                    setName, task.Name, run!.At, run.Node ?? "its previous owner", h);
            restored[task.Name] = new RestoredPlace(
                place.DueTick - tickBase, place.NextDueAt, hold, place.LastRunAt, pause, Counters.GetValueOrDefault(task.Name));
        }

        log.Info("{0}: schedule recovered ({1} of {2} tasks continue where they were, last tick {3})", setName, restored.Count, tasks.Count, LastTick);
        return restored;
    }

    /// <summary>The schedule a place is valid for: the kind and period of the task's schedule.</summary>
    public static string ScheduleKey(PeriodicTaskOptions options) =>
        options.Cron is { } cron ? $"cron:{cron}|{options.TimeZone}"
        : options.Spacing is { } spacing ? $"spacing:{spacing.Ticks}"
        : $"ticks:{options.TicksBetweenRuns ?? 0}";

    public void Apply(object evt)
    {
        switch (evt)
        {
            case RecordedBatch batch:
                foreach (var record in batch.Records())
                    Apply(record);
                break;
            case TickRecorded tick:
                LastTick = Math.Max(LastTick, tick.Tick);
                foreach (var place in tick.Places)
                {
                    var lastRun = place.LastRunAt ?? (Places.TryGetValue(place.Task, out var old) ? old.LastRunAt : null);
                    Places[place.Task] = place with { LastRunAt = lastRun };
                }

                break;
            case RunRecorded run when run.Running:
                Running[run.Task] = run;
                if (Places.TryGetValue(run.Task, out var ranPlace))
                    Places[run.Task] = ranPlace with { LastRunAt = run.At }; // the actual start, over the due time
                break;
            case RunRecorded run:
                Running.Remove(run.Task);
                if (run.Counters is { } counters)
                    Counters[run.Task] = counters;
                if (run.Ended is { } ended)
                    Remember(run.Task, ended);
                break;
            case PauseRecorded { Paused: true } pause:
                Pauses[pause.Task] = pause;
                break;
            case PauseRecorded resume:
                Pauses.Remove(resume.Task);
                break;
            case ChangeRecorded { Kind: KeptChanges.Configured } configured:
                Changes.Remove(configured.Task);
                break;
            case ChangeRecorded change:
                Changes[change.Task] = change;
                break;
        }
    }

    public void Apply(ScheduleSnapshot snapshot)
    {
        LastTick = snapshot.LastTick;
        Places.Clear();
        Running.Clear();
        foreach (var place in snapshot.Places)
            Places[place.Task] = place;
        foreach (var run in snapshot.Running)
            Running[run.Task] = run;
        Pauses.Clear();
        foreach (var pause in snapshot.Pauses ?? [])
            Pauses[pause.Task] = pause;
        Counters.Clear();
        Recent.Clear();
        Changes.Clear();
        foreach (var change in snapshot.Changes ?? [])
            Changes[change.Task] = change;
        foreach (var history in snapshot.Histories ?? [])
        {
            if (history.Counters is { } counters)
                Counters[history.Task] = counters;
            foreach (var run in history.Recent)
                Remember(history.Task, run);
        }
    }

    public ScheduleSnapshot ToSnapshot() =>
        new(LastTick, Places.Values.ToList(), Running.Values.ToList(), Pauses.Values.ToList(),
            Counters.Keys.Union(Recent.Keys)
                .Select(task => new TaskHistory(task, Counters.GetValueOrDefault(task), Recent.TryGetValue(task, out var runs) ? runs.ToList() : []))
                .ToList(),
            Changes.Values.ToList());

    private void Remember(string task, PeriodicTaskRun run)
    {
        if (!Recent.TryGetValue(task, out var runs))
            Recent[task] = runs = new Queue<PeriodicTaskRun>(RecentRunsKept);
        if (runs.Count == RecentRunsKept)
            runs.Dequeue();
        runs.Enqueue(run);
    }
}
