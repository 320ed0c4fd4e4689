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
/// <param name="NextDueTime">Spaced tasks: the next due time.</param>
/// <param name="NotBefore">Restore only: dispatch nothing before this time (a run of the previous owner may still be in flight).</param>
internal sealed record TaskPlace(long? TicksLeft, TimeSpan? NextDueTime, TimeSpan? NotBefore = null);

/// <summary>
/// The skip table of a task set (docs/semantics.md) as pure state with no clock and no actors, shared by the manager,
/// <c>simulate</c> and tests. Tasks sit in buckets by due tick, so a tick touches only the tasks due on it
/// (docs/architecture.md, "The skip table in buckets").
/// </summary>
internal sealed class TaskSchedule
{
    private readonly PeriodicTaskOptions[] _options;
    private readonly long[] _dueTick;
    private readonly TimeSpan[] _nextDueTime;
    private readonly int[] _backlog;
    private readonly Dictionary<long, List<int>> _buckets = [];
    private readonly PriorityQueue<long, long> _dueTicks = new();
    private readonly Stack<List<int>> _spareBuckets = new();
    private long _lastTick = -1;
    private long _lastBucketTick = -1;
    private List<int>? _lastBucket;

    public TaskSchedule(IReadOnlyList<PeriodicTaskOptions> options, TickClock clock)
    {
        Clock = clock;
        _options = options.ToArray();
        _dueTick = new long[_options.Length];
        _nextDueTime = new TimeSpan[_options.Length];
        _backlog = new int[_options.Length];
        for (var i = 0; i < _options.Length; i++)
        {
            var o = _options[i];
            if (o.IsDisabled)
            {
                _dueTick[i] = long.MaxValue;
                continue;
            }

            if (o.Spacing is { } spacing)
            {
                _nextDueTime[i] = o.RunImmediately ? TimeSpan.Zero : spacing;
                _dueTick[i] = clock.FirstTickAtOrAfter(_nextDueTime[i]);
            }
            else
            {
                _dueTick[i] = o.RunImmediately ? 0 : Period(o);
            }

            Enqueue(i, _dueTick[i]);
        }
    }

    public TickClock Clock { get; }

    public int Count => _options.Length;

    /// <summary>The last tick passed to <see cref="Advance"/> (-1 before the first).</summary>
    public long LastTick => _lastTick;

    /// <summary>The tick on which task <paramref name="index"/> is next due, or null when it never runs.</summary>
    public long? NextDueTick(int index) => _dueTick[index] == long.MaxValue ? null : _dueTick[index];

    /// <summary>How many ticks task <paramref name="index"/> skips after <paramref name="tick"/> (nova's ticks_to_skip).</summary>
    public long TicksLeft(int index, long tick) => _dueTick[index] - tick;

    /// <summary>
    /// Task <paramref name="index"/>'s place after the last processed tick, to save it; null when the task never runs.
    /// </summary>
    public TaskPlace? PlaceOf(int index)
    {
        if (_dueTick[index] == long.MaxValue)
            return null;
        var ticksLeft = _dueTick[index] - Math.Max(_lastTick, 0);
        return _options[index].Spacing is null
            ? new TaskPlace(ticksLeft, null)
            : new TaskPlace(ticksLeft, _nextDueTime[index]);
    }

    /// <summary>
    /// Puts saved places back before the first <see cref="Advance"/>; null entries start fresh (so run-immediately applies
    /// only to tasks with nothing saved), and due times that passed follow the task's <see cref="MisfirePolicy"/>
    /// (docs/architecture.md, "Persistence").
    /// </summary>
    /// <returns>The due times counted as missed without a run (skip, run-all beyond its limit), by task.</returns>
    public IReadOnlyList<DueRun> Restore(IReadOnlyList<TaskPlace?> places)
    {
        ArgumentNullException.ThrowIfNull(places);
        if (places.Count != _options.Length)
            throw new ArgumentException($"{places.Count} places for {_options.Length} tasks.", nameof(places));
        if (_lastTick >= 0)
            throw new InvalidOperationException("Restore must come before the first tick.");
        var missed = new List<DueRun>();
        _buckets.Clear();
        _dueTicks.Clear();
        _lastBucket = null;
        _lastBucketTick = -1;
        for (var i = 0; i < _options.Length; i++)
        {
            if (_dueTick[i] == long.MaxValue)
                continue;
            if (places[i] is { } place)
            {
                var hold = place.NotBefore is { } h && h > TimeSpan.Zero ? h : TimeSpan.Zero;
                if (_options[i].Spacing is { } spacing && place.NextDueTime is { } next)
                    RestoreSpaced(i, spacing, next, hold, missed);
                else if (_options[i].Spacing is null && place.TicksLeft is { } left)
                    _dueTick[i] = Math.Max(Math.Max(left, 0), hold > TimeSpan.Zero ? Clock.FirstTickAtOrAfter(hold) : 0);
            }

            Enqueue(i, _dueTick[i]);
        }

        return missed;
    }

    private void RestoreSpaced(int index, TimeSpan spacing, TimeSpan next, TimeSpan hold, List<DueRun> missed)
    {
        if (next >= hold)
        {
            _nextDueTime[index] = next;
            _dueTick[index] = Clock.FirstTickAtOrAfter(next);
            return;
        }

        var passed = (hold - next).Ticks / spacing.Ticks + 1;
        var o = _options[index];
        switch (o.Misfire)
        {
            case MisfirePolicy.Skip:
                _nextDueTime[index] = next + TimeSpan.FromTicks(spacing.Ticks * passed);
                _dueTick[index] = Clock.FirstTickAtOrAfter(_nextDueTime[index]);
                missed.Add(new DueRun(index, (int)Math.Min(int.MaxValue, passed)));
                return;
            case MisfirePolicy.RunAll:
                var runs = Math.Min(passed, o.MisfireLimit);
                if (passed > runs)
                    missed.Add(new DueRun(index, (int)Math.Min(int.MaxValue, passed - runs)));
                _nextDueTime[index] = next + TimeSpan.FromTicks(spacing.Ticks * (passed - runs));
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
        while (_dueTicks.TryPeek(out var dueTick, out _) && dueTick <= tick)
        {
            _dueTicks.Dequeue();
            _buckets.Remove(dueTick, out var bucket);
            if (ReferenceEquals(bucket, _lastBucket))
                _lastBucket = null;
            foreach (var index in bucket!)
            {
                var missed = Reschedule(index, tick);
                due.Add(new DueRun(index, missed));
                inOrder &= index > previous;
                previous = index;
                Enqueue(index, _dueTick[index]);
            }

            bucket.Clear();
            _spareBuckets.Push(bucket);
        }

        // A bucket holds its tasks in the order they were rescheduled, which is registration order unless tasks from
        // different ticks met in it (different periods, or ticks skipped after a pause): only then sort.
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
        var o = _options[index];
        if (o.Spacing is { } spacing)
        {
            if (_backlog[index] > 0)
            {
                // run-all catch-up after a restore: one run per tick for each passed due time.
                _backlog[index]--;
                _nextDueTime[index] += spacing;
                _dueTick[index] = tick + 1;
                return 0;
            }

            var now = Clock.OffsetOf(tick);
            var passed = (now - _nextDueTime[index]).Ticks / spacing.Ticks + 1;
            _nextDueTime[index] += TimeSpan.FromTicks(spacing.Ticks * passed);
            _dueTick[index] = Math.Max(tick + 1, Clock.FirstTickAtOrAfter(_nextDueTime[index]));
            return (int)Math.Min(int.MaxValue, passed - 1);
        }

        var period = Period(o);
        var missed = (tick - _dueTick[index]) / period;
        _dueTick[index] = tick + period;
        return (int)Math.Min(int.MaxValue, missed);
    }

    private static long Period(PeriodicTaskOptions o) => (o.TicksBetweenRuns ?? 0) + 1L;

    private sealed class DueRunByIndex : IComparer<DueRun>
    {
        public static readonly DueRunByIndex Instance = new();

        public int Compare(DueRun x, DueRun y) => x.Index.CompareTo(y.Index);
    }
}
