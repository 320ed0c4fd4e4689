using ActorScheduler.Configuration;
using ActorScheduler.Messages;
using Akka.Actor;

namespace ActorScheduler.Runtime;

/// <summary>
/// INTERNAL API. A set's run history in memory, for a manager whose store keeps none (docs/control.md, "Run history"):
/// each task's runs up to the retention, and the runs per minute of the last day. Used from the manager's thread only.
/// </summary>
internal sealed class RunHistory(string setName, RunHistorySettings settings, string? node)
{
    private readonly Dictionary<string, RunRing> _tasks = new(StringComparer.Ordinal);
    private readonly MinuteCounts _minutes = new();

    /// <summary>The history of a manager whose store keeps none; the node is the system's address when it has remoting.</summary>
    public static RunHistory InMemory(string setName, RunHistorySettings settings, ActorSystem system) =>
        new(setName, settings, ((ExtendedActorSystem)system).Provider.DefaultAddress is { Host: not null } address ? address.ToString() : null);

    /// <summary>
    /// Answers a <see cref="GetRuns"/> (its task found by <paramref name="find"/>, which tells the sender when it is not)
    /// or a <see cref="GetRunCounts"/>: a limit out of range is refused; the store answers when it keeps the history
    /// (<paramref name="history"/> is then null), else the memory does, as of <paramref name="now"/>.
    /// </summary>
    public static void Answer(
        RunHistory? history, StoreLink store, object query, Func<string, TaskState?> find, IActorRef sender, DateTimeOffset now)
    {
        if (query is GetRuns asked && find(asked.Task) is null)
            return;
        if (query is GetRuns { Limit: < 1 or > GetRuns.MaxLimit } bad)
            sender.Tell(new Status.Failure(new ArgumentOutOfRangeException(
                nameof(GetRuns.Limit), bad.Limit, $"the limit must be between 1 and {GetRuns.MaxLimit}.")));
        else if (history is null)
            store.Forward(query, sender);
        else if (query is GetRuns runs)
            sender.Tell(history.Page(runs, now));
        else if (query is GetRunCounts counts)
            sender.Tell(history.Counts(counts.Since, now));
    }

    /// <summary>The run of <paramref name="task"/> that <paramref name="ended"/> at <paramref name="now"/>.</summary>
    public void Record(TaskState task, RunEnded ended, DateTimeOffset now)
    {
        if (task.CurrentRun is { } run)
            Record(task.Name, new PeriodicTaskRun(
                run.Tick, run.ScheduledAt, task.Counters.LastStart ?? run.ScheduledAt, ended.Duration, ended.Outcome.Name(), ended.Attempts, node)
            {
                EndedAt = now,
                Error = ended.Error,
            });
    }

    /// <summary>Keeps a run that ended, dropping the task's runs beyond the retention.</summary>
    public void Record(string task, PeriodicTaskRun run)
    {
        if (!_tasks.TryGetValue(task, out var ring))
            _tasks[task] = ring = new RunRing(settings.KeepRuns);
        ring.Add(run);
        ring.DropStartedBefore(run.StartedAt - settings.KeepFor);
        _minutes.Add(run.EndedAt ?? run.StartedAt, run.Outcome is "failed" or "timed-out");
    }

    /// <summary>Forgets a task removed from the set.</summary>
    public void Forget(string task) => _tasks.Remove(task);

    /// <summary>The page <paramref name="query"/> asks for, as of <paramref name="now"/>.</summary>
    public RunsPage Page(GetRuns query, DateTimeOffset now)
    {
        if (!_tasks.TryGetValue(query.Task, out var ring))
            return new RunsPage(setName, query.Task, [], null);
        ring.DropStartedBefore(now - settings.KeepFor);
        var runs = ring.Before(query.Before, query.Limit + 1);
        return RunCounts.Page(setName, query.Task, runs, query.Limit);
    }

    public RunCountsReport Counts(DateTimeOffset since, DateTimeOffset now) => new(setName, _minutes.Since(RunCounts.Clamp(since, now)));

    /// <summary>A task's runs, oldest first, in a ring that grows up to its capacity.</summary>
    private sealed class RunRing(int capacity)
    {
        private PeriodicTaskRun[] _items = new PeriodicTaskRun[Math.Min(capacity, 4)];
        private int _first;
        private int _count;

        public void Add(PeriodicTaskRun run)
        {
            if (_count == _items.Length && _count < capacity)
                Grow();
            if (_count == _items.Length)
            {
                _items[_first] = run; // the oldest is overwritten
                _first = (_first + 1) % _items.Length;
                return;
            }

            _items[(_first + _count) % _items.Length] = run;
            _count++;
        }

        public void DropStartedBefore(DateTimeOffset oldest)
        {
            while (_count > 0 && _items[_first].StartedAt < oldest)
            {
                _items[_first] = null!;
                _first = (_first + 1) % _items.Length;
                _count--;
            }
        }

        /// <summary>At most <paramref name="limit"/> runs that started before <paramref name="before"/>, newest first.</summary>
        public List<PeriodicTaskRun> Before(DateTimeOffset? before, int limit)
        {
            var page = new List<PeriodicTaskRun>(Math.Min(limit, _count));
            for (var i = _count - 1; i >= 0 && page.Count < limit; i--)
            {
                var run = _items[(_first + i) % _items.Length];
                if (before is null || run.StartedAt < before)
                    page.Add(run);
            }

            return page;
        }

        private void Grow()
        {
            var grown = new PeriodicTaskRun[Math.Min(capacity, _items.Length * 2)];
            for (var i = 0; i < _count; i++)
                grown[i] = _items[(_first + i) % _items.Length];
            (_items, _first) = (grown, 0);
        }
    }

    /// <summary>Runs and failures per minute for the last day: one slot per minute, reused a day later.</summary>
    private sealed class MinuteCounts
    {
        private readonly (long Minute, long Runs, long Failed)[] _slots = new (long, long, long)[RunCounts.MinutesKept];

        public void Add(DateTimeOffset endedAt, bool failed)
        {
            var minute = RunCounts.MinuteOf(endedAt);
            ref var slot = ref _slots[minute % _slots.Length];
            if (slot.Minute != minute)
                slot = (minute, 0, 0);
            slot.Runs++;
            if (failed)
                slot.Failed++;
        }

        public List<RunCount> Since(DateTimeOffset since)
        {
            var from = RunCounts.MinuteOf(since);
            return _slots.Where(s => s.Runs > 0 && s.Minute >= from).OrderBy(s => s.Minute)
                .Select(s => new RunCount(RunCounts.StartOf(s.Minute), s.Runs, s.Failed)).ToList();
        }
    }
}

/// <summary>INTERNAL API. What every run history shares: pages, minutes, and the sum of several managers' counts.</summary>
internal static class RunCounts
{
    /// <summary>Minutes of counts kept: a day and the minute in progress.</summary>
    public const int MinutesKept = 24 * 60 + 1;

    public static long MinuteOf(DateTimeOffset time) => time.ToUnixTimeMilliseconds() / 60_000;

    public static DateTimeOffset StartOf(long minute) => DateTimeOffset.FromUnixTimeMilliseconds(minute * 60_000);

    /// <summary><paramref name="since"/>, but at most a day before <paramref name="now"/>.</summary>
    public static DateTimeOffset Clamp(DateTimeOffset since, DateTimeOffset now) =>
        since < now - TimeSpan.FromDays(1) ? now - TimeSpan.FromDays(1) : since;

    /// <summary>The page of <paramref name="runs"/> (newest first, up to limit + 1 read to know whether more follow).</summary>
    public static RunsPage Page(string setName, string task, List<PeriodicTaskRun> runs, int limit)
    {
        if (runs.Count <= limit)
            return new RunsPage(setName, task, runs, null);
        runs.RemoveRange(limit, runs.Count - limit);
        return new RunsPage(setName, task, runs, runs[^1].StartedAt);
    }

    /// <summary>The counts of several managers of one set, added minute by minute.</summary>
    public static RunCountsReport Sum(string setName, IEnumerable<RunCountsReport> reports) => new(setName, reports
        .SelectMany(r => r.Minutes)
        .GroupBy(m => m.Minute)
        .OrderBy(g => g.Key)
        .Select(g => new RunCount(g.Key, g.Sum(m => m.Runs), g.Sum(m => m.Failed)))
        .ToList());
}
