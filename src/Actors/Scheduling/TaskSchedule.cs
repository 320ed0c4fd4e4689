using ActorScheduler.Tasks;

namespace ActorScheduler.Scheduling;

/// <summary>One due run found by <see cref="TaskSchedule.Advance"/>: the task's index and the due times it coalesces.</summary>
internal readonly record struct DueRun(int Index, int Missed);

/// <summary>
/// One task's place in its schedule, exported by <see cref="TaskSchedule.PlaceOf"/> and given back to a new schedule by
/// <see cref="TaskSchedule.Restore"/>. Times are offsets from the start of the schedule that holds the place (negative
/// when restored after the due time passed).
/// </summary>
/// <param name="TicksLeft">Tick-counted tasks: how many ticks after the last processed one the task is due (>= 0).</param>
/// <param name="NextDueTime">Spaced and calendar tasks: the next due time (a calendar task's next occurrence).</param>
/// <param name="NotBefore">Restore only: dispatch nothing before this time (a run of the previous owner may still be in flight).</param>
internal sealed record TaskPlace(long? TicksLeft, TimeSpan? NextDueTime, TimeSpan? NotBefore = null);

/// <summary>
/// The skip table of a task set (docs/semantics.md) as pure state with no clock and no actors, shared by the manager,
/// <c>simulate</c> and tests. Tasks sit in buckets by due tick, so a tick touches only the tasks due on it
/// (docs/architecture.md, "The skip table in buckets").
/// </summary>
internal sealed class TaskSchedule
{
    /// <summary>The most passed occurrences of a calendar task counted one by one (a bound on a long pause's cost).</summary>
    private const long MaxCounted = 1_000_000;

    private readonly List<PeriodicTaskOptions> _options = [];
    private readonly List<CalendarSchedule?> _calendars = [];
    private readonly List<long> _dueTick = [];
    private readonly List<TimeSpan> _nextDueTime = [];
    private readonly List<int> _backlog = [];
    private readonly List<bool> _removed = [];
    private readonly Dictionary<long, List<int>> _buckets = [];
    private readonly PriorityQueue<long, long> _dueTicks = new();
    private readonly Stack<List<int>> _spareBuckets = new();
    private long _lastTick = -1;
    private long _lastBucketTick = -1;
    private List<int>? _lastBucket;

    /// <param name="options">The tasks, in registration order.</param>
    /// <param name="clock">The nominal time of each tick, as an offset from tick 0.</param>
    /// <param name="origin">The wall-clock time of tick 0, on which calendar occurrences are computed.</param>
    public TaskSchedule(IReadOnlyList<PeriodicTaskOptions> options, TickClock clock, DateTimeOffset origin)
    {
        Clock = clock;
        Origin = origin;
        foreach (var o in options)
            Add(o, -1);
    }

    public TickClock Clock { get; }

    /// <summary>The wall-clock time of tick 0.</summary>
    public DateTimeOffset Origin { get; }

    public int Count => _options.Count;

    /// <summary>The last tick passed to <see cref="Advance"/> (-1 before the first).</summary>
    public long LastTick => _lastTick;

    /// <summary>The tick on which task <paramref name="index"/> is next due, or null when it never runs.</summary>
    public long? NextDueTick(int index) => _dueTick[index] == long.MaxValue ? null : _dueTick[index];

    /// <summary>How many ticks task <paramref name="index"/> skips after <paramref name="tick"/> (nova's ticks_to_skip).</summary>
    public long TicksLeft(int index, long tick) => _dueTick[index] - tick;

    /// <summary>The options task <paramref name="index"/> is scheduled by.</summary>
    public PeriodicTaskOptions OptionsOf(int index) => _options[index];

    /// <summary>
    /// Appends a task and returns its index (indices are never reused or shifted). It is placed as if the set had
    /// started on the tick after <paramref name="afterTick"/> (-1: a task present from the start).
    /// </summary>
    public int Add(PeriodicTaskOptions options, long afterTick)
    {
        ArgumentNullException.ThrowIfNull(options);
        var index = _options.Count;
        _options.Add(options);
        _calendars.Add(null);
        _dueTick.Add(long.MaxValue);
        _nextDueTime.Add(TimeSpan.Zero);
        _backlog.Add(0);
        _removed.Add(false);
        Place(index, afterTick);
        return index;
    }

    /// <summary>
    /// Replaces task <paramref name="index"/>'s options. With the same schedule (ticks-between-runs, spacing, cron,
    /// time-zone, enabled) it keeps its next due time; otherwise it is placed again as <see cref="Add"/> would.
    /// </summary>
    public void Update(int index, PeriodicTaskOptions options, long afterTick)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (_removed[index])
            throw new InvalidOperationException($"task {index} was removed.");
        var old = _options[index];
        _options[index] = options;
        if (old.TicksBetweenRuns == options.TicksBetweenRuns && old.Spacing == options.Spacing && old.Cron == options.Cron
            && old.TimeZone == options.TimeZone && old.Enabled == options.Enabled)
            return;
        _backlog[index] = 0;
        Place(index, afterTick);
    }

    /// <summary>Task <paramref name="index"/> is never due again; its index stays taken.</summary>
    public void Remove(int index)
    {
        _removed[index] = true;
        _dueTick[index] = long.MaxValue;
        _backlog[index] = 0;
    }

    /// <summary>Puts task <paramref name="index"/> on its schedule as if the set had started on tick afterTick + 1.</summary>
    private void Place(int index, long afterTick)
    {
        var o = _options[index];
        _calendars[index] = o.Cron is { } cron ? CalendarSchedule.Parse(cron, o.TimeZone, Invalid) : null;
        _dueTick[index] = long.MaxValue;
        if (o.IsDisabled)
            return;
        var begin = afterTick + 1;
        if (o.Spacing is { } spacing)
        {
            var at = Clock.OffsetOf(begin);
            _nextDueTime[index] = o.RunImmediately ? at : at + spacing;
            _dueTick[index] = Math.Max(begin, Clock.FirstTickAtOrAfter(_nextDueTime[index]));
        }
        else if (_calendars[index] is { } calendar)
        {
            if (calendar.Next(Origin + Clock.OffsetOf(Math.Max(afterTick, 0))) is not { } first)
                return;
            _nextDueTime[index] = first - Origin;
            _dueTick[index] = o.RunImmediately ? begin : Math.Max(begin, Clock.FirstTickAtOrAfter(_nextDueTime[index]));
        }
        else
        {
            _dueTick[index] = o.RunImmediately ? begin : begin + Period(o);
        }

        Enqueue(index, _dueTick[index]);
    }

    private static Exception Invalid(string key, string problem) => new ArgumentException($"{key} {problem}");

    /// <summary>
    /// Task <paramref name="index"/>'s place after the last processed tick, to save it; null when the task never runs.
    /// </summary>
    public TaskPlace? PlaceOf(int index)
    {
        if (_dueTick[index] == long.MaxValue)
            return null;
        var ticksLeft = _dueTick[index] - Math.Max(_lastTick, 0);
        return HasDueTimes(index)
            ? new TaskPlace(ticksLeft, _nextDueTime[index])
            : new TaskPlace(ticksLeft, null);
    }

    /// <summary>Spaced and calendar tasks keep due times; tick-counted ones (and every-tick ones) count ticks.</summary>
    private bool HasDueTimes(int index) => _options[index].Spacing is not null || _calendars[index] is not null;

    /// <summary>
    /// Puts saved places back before the first <see cref="Advance"/>; null entries start fresh (so run-immediately applies
    /// only to tasks with nothing saved), and due times that passed follow the task's <see cref="MisfirePolicy"/>
    /// (docs/architecture.md, "Persistence").
    /// </summary>
    /// <returns>The due times counted as missed without a run (skip, run-all beyond its limit), by task.</returns>
    public IReadOnlyList<DueRun> Restore(IReadOnlyList<TaskPlace?> places)
    {
        ArgumentNullException.ThrowIfNull(places);
        if (places.Count != _options.Count)
            throw new ArgumentException($"{places.Count} places for {_options.Count} tasks.", nameof(places));
        if (_lastTick >= 0)
            throw new InvalidOperationException("Restore must come before the first tick.");
        var missed = new List<DueRun>();
        _buckets.Clear();
        _dueTicks.Clear();
        _lastBucket = null;
        _lastBucketTick = -1;
        for (var i = 0; i < _options.Count; i++)
        {
            if (_dueTick[i] == long.MaxValue)
                continue;
            if (places[i] is { } place)
            {
                var hold = place.NotBefore is { } h && h > TimeSpan.Zero ? h : TimeSpan.Zero;
                if (HasDueTimes(i) && place.NextDueTime is { } next)
                    RestoreDueTimes(i, next, hold, missed);
                else if (!HasDueTimes(i) && place.TicksLeft is { } left)
                    _dueTick[i] = Math.Max(Math.Max(left, 0), hold > TimeSpan.Zero ? Clock.FirstTickAtOrAfter(hold) : 0);
            }

            if (_dueTick[i] != long.MaxValue)
                Enqueue(i, _dueTick[i]);
        }

        return missed;
    }

    private void RestoreDueTimes(int index, TimeSpan next, TimeSpan hold, List<DueRun> missed)
    {
        if (next >= hold)
        {
            _nextDueTime[index] = next;
            _dueTick[index] = Clock.FirstTickAtOrAfter(next);
            return;
        }

        var passed = 1 + Passed(index, next, hold);
        var o = _options[index];
        _nextDueTime[index] = next;
        switch (o.Misfire)
        {
            case MisfirePolicy.Skip:
                SetNextDueTime(index, hold);
                if (_dueTick[index] != long.MaxValue)
                    _dueTick[index] = Clock.FirstTickAtOrAfter(_nextDueTime[index]);
                missed.Add(new DueRun(index, (int)Math.Min(int.MaxValue, passed)));
                return;
            case MisfirePolicy.RunAll:
                var runs = Math.Min(passed, o.MisfireLimit);
                if (passed > runs)
                    missed.Add(new DueRun(index, (int)Math.Min(int.MaxValue, passed - runs)));
                _nextDueTime[index] = DueTimeAfter(index, next, passed - runs);
                _backlog[index] = (int)runs - 1;
                _dueTick[index] = Clock.FirstTickAtOrAfter(hold);
                return;
            default:
                // Coalesce: the first passed due time stays the next one, so the run at the first tick after the hold
                // counts every other passed due time as missed (as Reschedule does for a pause).
                _nextDueTime[index] = next;
                _dueTick[index] = Clock.FirstTickAtOrAfter(hold);
                return;
        }
    }

    /// <summary>How many due times of task <paramref name="index"/> lie in (<paramref name="after"/>, <paramref name="upTo"/>].</summary>
    private long Passed(int index, TimeSpan after, TimeSpan upTo)
    {
        if (upTo <= after)
            return 0;
        if (_options[index].Spacing is { } spacing)
            return (upTo - after).Ticks / spacing.Ticks;
        return _calendars[index]!.Count(Origin + after, Origin + upTo, MaxCounted);
    }

    /// <summary>The due time <paramref name="steps"/> due times after <paramref name="from"/>.</summary>
    private TimeSpan DueTimeAfter(int index, TimeSpan from, long steps)
    {
        if (_options[index].Spacing is { } spacing)
            return from + TimeSpan.FromTicks(spacing.Ticks * steps);
        var at = from;
        for (long i = 0; i < steps && _calendars[index]!.Next(Origin + at) is { } next; i++)
            at = next - Origin;
        return at;
    }

    /// <summary>Sets the task's next due time to its first one strictly after <paramref name="now"/> (none: never due).</summary>
    private void SetNextDueTime(int index, TimeSpan now)
    {
        if (_options[index].Spacing is { } spacing)
        {
            var passed = (now - _nextDueTime[index]).Ticks / spacing.Ticks + 1;
            _nextDueTime[index] += TimeSpan.FromTicks(spacing.Ticks * passed);
        }
        else if (_calendars[index]!.Next(Origin + now) is { } next)
        {
            _nextDueTime[index] = next - Origin;
        }
        else
        {
            _dueTick[index] = long.MaxValue;
        }
    }

    /// <summary>
    /// Processes <paramref name="tick"/> (ticks must increase; numbers may be skipped after a pause): appends the
    /// tasks due on it to <paramref name="due"/> in registration order and moves each to its next due tick.
    /// </summary>
    public void Advance(long tick, List<DueRun> due)
    {
        if (tick <= _lastTick)
            throw new ArgumentOutOfRangeException(nameof(tick), $"tick {tick} is not after tick {_lastTick}.");
        _lastTick = tick;
        var start = due.Count;
        var inOrder = true;
        var previous = -1;
        while (_dueTicks.TryPeek(out var bucketTick, out _) && bucketTick <= tick)
        {
            _dueTicks.Dequeue();
            _buckets.Remove(bucketTick, out var bucket);
            if (ReferenceEquals(bucket, _lastBucket))
                _lastBucket = null;
            foreach (var index in bucket!)
            {
                // Entries left by Update or Remove are stale: a task is live only in the bucket of its due tick, and
                // once rescheduled here its due tick is after this one, so a second entry in the bucket is skipped.
                if (_dueTick[index] != bucketTick)
                    continue;
                var missed = Reschedule(index, tick);
                due.Add(new DueRun(index, missed));
                inOrder &= index > previous;
                previous = index;
                if (_dueTick[index] != long.MaxValue)
                    Enqueue(index, _dueTick[index]);
            }

            bucket.Clear();
            _spareBuckets.Push(bucket);
        }

        // A bucket holds its tasks in the order they were rescheduled, which is registration order unless tasks from
        // different ticks met in it (different periods, ticks skipped after a pause, tasks added or updated): only then sort.
        if (!inOrder)
            due.Sort(start, due.Count - start, DueRunByIndex.Instance);
    }

    private void Enqueue(int index, long dueTick)
    {
        if (dueTick != _lastBucketTick || _lastBucket is null)
        {
            if (!_buckets.TryGetValue(dueTick, out var bucket))
            {
                bucket = _spareBuckets.Count > 0 ? _spareBuckets.Pop() : [];
                _buckets.Add(dueTick, bucket);
                _dueTicks.Enqueue(dueTick, dueTick);
            }

            _lastBucketTick = dueTick;
            _lastBucket = bucket;
        }

        _lastBucket.Add(index);
    }

    private int Reschedule(int index, long tick)
    {
        if (!HasDueTimes(index))
        {
            var period = Period(_options[index]);
            var lost = (tick - _dueTick[index]) / period;
            _dueTick[index] = tick + period;
            return (int)Math.Min(int.MaxValue, lost);
        }

        if (_backlog[index] > 0)
        {
            // run-all catch-up after a restore: one run per tick for each passed due time.
            _backlog[index]--;
            _nextDueTime[index] = DueTimeAfter(index, _nextDueTime[index], 1);
            _dueTick[index] = tick + 1;
            return 0;
        }

        var now = Clock.OffsetOf(tick);
        if (_nextDueTime[index] > now)
        {
            // A run before the first due time: run-immediately.
            _dueTick[index] = Math.Max(tick + 1, Clock.FirstTickAtOrAfter(_nextDueTime[index]));
            return 0;
        }

        var missed = Passed(index, _nextDueTime[index], now);
        SetNextDueTime(index, now);
        if (_dueTick[index] != long.MaxValue)
            _dueTick[index] = Math.Max(tick + 1, Clock.FirstTickAtOrAfter(_nextDueTime[index]));
        return (int)Math.Min(int.MaxValue, missed);
    }

    private static long Period(PeriodicTaskOptions o) => (o.TicksBetweenRuns ?? 0) + 1L;

    private sealed class DueRunByIndex : IComparer<DueRun>
    {
        public static readonly DueRunByIndex Instance = new();

        public int Compare(DueRun x, DueRun y) => x.Index.CompareTo(y.Index);
    }
}
