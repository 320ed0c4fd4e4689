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
internal sealed partial class TaskSchedule
{
    /// <summary>The most passed occurrences of a calendar task counted one by one (a bound on a long pause's cost).</summary>
    private const long MaxCounted = 1_000_000;

    private readonly List<PeriodicTaskOptions> _options = [];
    private readonly List<CalendarSchedule?> _calendars = [];
    private readonly List<long> _dueTick = [];
    private readonly List<TimeSpan> _nextDueTime = [];
    private readonly List<TimeSpan> _dueAt = [];
    private readonly List<int> _backlog = [];
    private readonly List<bool> _removed = [];
    private readonly Dictionary<long, List<int>> _buckets = [];
    private readonly PriorityQueue<long, long> _dueTicks = new();
    private readonly Stack<List<int>> _spareBuckets = new();
    private readonly PriorityQueue<int, TimeSpan> _calendarDue = new();
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

    /// <summary>
    /// How far the wall clock is from the monotonic one: the wall time at offset t is Origin + WallShift + t. It moves
    /// only by <see cref="ShiftWall"/> (docs/semantics.md, "Calendar tasks").
    /// </summary>
    public TimeSpan WallShift { get; private set; }

    /// <summary>The wall-clock time at offset <paramref name="offset"/> from tick 0.</summary>
    public DateTimeOffset WallAt(TimeSpan offset) => Origin + WallShift + offset;

    /// <summary>True for a calendar (cron) task: it is due at its occurrences, not on ticks.</summary>
    public bool IsCalendar(int index) => _calendars[index] is not null;

    public int Count => _options.Count;

    /// <summary>The last tick passed to <see cref="Advance"/> (-1 before the first).</summary>
    public long LastTick => _lastTick;

    /// <summary>The tick on which task <paramref name="index"/> is next due, or null when it never runs.</summary>
    public long? NextDueTick(int index) => _dueTick[index] == long.MaxValue ? null : _dueTick[index];

    /// <summary>
    /// When task <paramref name="index"/> is next due, as an offset from tick 0 (null when it never runs): its due tick's
    /// time, or a calendar task's occurrence, which lies between ticks (its due tick is then the tick before it).
    /// </summary>
    public TimeSpan? NextDueOffset(int index) =>
        _dueTick[index] == long.MaxValue ? null : IsCalendar(index) ? _dueAt[index] : Clock.OffsetOf(_dueTick[index]);

    /// <summary>The earliest time a calendar task is due (null when none is), to wake the manager between ticks.</summary>
    public TimeSpan? NextWake()
    {
        while (_calendarDue.TryPeek(out var index, out var at))
        {
            if (IsLiveCalendarEntry(index, at))
                return at;
            _calendarDue.Dequeue();
        }

        return null;
    }

    /// <summary>How many ticks task <paramref name="index"/> skips after <paramref name="tick"/> (nova's ticks_to_skip).</summary>
    public long TicksLeft(int index, long tick) => _dueTick[index] - tick;

    /// <summary>The options task <paramref name="index"/> is scheduled by.</summary>
    public PeriodicTaskOptions OptionsOf(int index) => _options[index];

    /// <summary>
    /// Appends a task and returns its index (indices are never reused or shifted). It is placed as if the set had
    /// started on the tick after <paramref name="afterTick"/> (-1: a task present from the start); a calendar task's
    /// first occurrence is the first after <paramref name="now"/> (default: that tick's time).
    /// </summary>
    public int Add(PeriodicTaskOptions options, long afterTick, TimeSpan? now = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var index = _options.Count;
        _options.Add(options);
        _calendars.Add(null);
        _dueTick.Add(long.MaxValue);
        _nextDueTime.Add(TimeSpan.Zero);
        _dueAt.Add(TimeSpan.MaxValue);
        _backlog.Add(0);
        _removed.Add(false);
        Place(index, afterTick, now);
        return index;
    }

    /// <summary>
    /// Replaces task <paramref name="index"/>'s options. With the same schedule (ticks-between-runs, spacing, cron,
    /// time-zone, enabled) it keeps its next due time; otherwise it is placed again as <see cref="Add"/> would.
    /// </summary>
    public void Update(int index, PeriodicTaskOptions options, long afterTick, TimeSpan? now = null)
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
        Place(index, afterTick, now);
    }

    /// <summary>Task <paramref name="index"/> is never due again; its index stays taken.</summary>
    public void Remove(int index)
    {
        _removed[index] = true;
        _dueTick[index] = long.MaxValue;
        _backlog[index] = 0;
    }

    /// <summary>Puts task <paramref name="index"/> on its schedule as if the set had started on tick afterTick + 1.</summary>
    private void Place(int index, long afterTick, TimeSpan? now)
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
            if (calendar.Next(WallAt(now ?? Clock.OffsetOf(Math.Max(afterTick, 0)))) is not { } first)
                return;
            _nextDueTime[index] = first - Origin - WallShift;
            _dueAt[index] = o.RunImmediately ? Clock.OffsetOf(begin) : _nextDueTime[index];
            _dueTick[index] = begin;
        }
        else
        {
            _dueTick[index] = o.RunImmediately ? begin : begin + Period(o);
        }

        Schedule(index);
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
    /// Processes <paramref name="tick"/> (ticks must increase; numbers may be skipped after a pause): appends the
    /// tasks due on it (calendar tasks due at or before its time included) to <paramref name="due"/> in registration
    /// order and moves each to its next due tick or time.
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
                if (_dueTick[index] != bucketTick || IsCalendar(index))
                    continue;
                Take(index, tick, Clock.OffsetOf(tick), due, ref inOrder, ref previous);
            }

            bucket.Clear();
            _spareBuckets.Push(bucket);
        }

        TakeCalendars(tick, Clock.OffsetOf(tick), due, ref inOrder, ref previous);

        // A bucket holds its tasks in the order they were rescheduled, which is registration order unless tasks from
        // different ticks met in it (different periods, ticks skipped after a pause, tasks added or updated, calendar
        // tasks): only then sort.
        if (!inOrder)
            due.Sort(start, due.Count - start, DueRunByIndex.Instance);
    }

    /// <summary>
    /// Processes the time <paramref name="at"/> between two ticks (a wake): appends the calendar tasks due at or before it,
    /// in registration order, and moves each to its next occurrence. Tick-counted and spaced tasks wait for their ticks.
    /// </summary>
    public void AdvanceTo(TimeSpan at, List<DueRun> due)
    {
        var start = due.Count;
        var inOrder = true;
        var previous = -1;
        TakeCalendars(Math.Max(_lastTick, 0), at, due, ref inOrder, ref previous);
        if (!inOrder)
            due.Sort(start, due.Count - start, DueRunByIndex.Instance);
    }

    private void TakeCalendars(long tick, TimeSpan now, List<DueRun> due, ref bool inOrder, ref int previous)
    {
        while (_calendarDue.TryPeek(out var index, out var at) && at <= now)
        {
            _calendarDue.Dequeue();
            if (IsLiveCalendarEntry(index, at))
                Take(index, tick, now, due, ref inOrder, ref previous);
        }
    }

    /// <summary>A calendar entry is live only while its time is the task's due time (as a bucket entry is, for ticks).</summary>
    private bool IsLiveCalendarEntry(int index, TimeSpan at) => IsCalendar(index) && _dueTick[index] != long.MaxValue && _dueAt[index] == at;

    private void Take(int index, long tick, TimeSpan now, List<DueRun> due, ref bool inOrder, ref int previous)
    {
        var missed = Reschedule(index, tick, now);
        due.Add(new DueRun(index, missed));
        inOrder &= index > previous;
        previous = index;
        Schedule(index);
    }

    /// <summary>Queues task <paramref name="index"/> for its due tick, or a calendar task for its due time.</summary>
    private void Schedule(int index)
    {
        if (_dueTick[index] == long.MaxValue)
            return;
        if (!IsCalendar(index))
        {
            Enqueue(index, _dueTick[index]);
            return;
        }

        // The tick a calendar run is numbered with: the last one at or before its time.
        _dueTick[index] = _dueAt[index] <= TimeSpan.Zero ? 0 : Math.Max(_lastTick, Clock.LastTickAtOrBefore(_dueAt[index]));
        _calendarDue.Enqueue(index, _dueAt[index]);
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

    /// <summary>Moves task <paramref name="index"/>, due now, to its next due tick or time; returns the due times it coalesces.</summary>
    private int Reschedule(int index, long tick, TimeSpan now)
    {
        if (!HasDueTimes(index))
        {
            var period = Period(_options[index]);
            var lost = (tick - _dueTick[index]) / period;
            _dueTick[index] = tick + period;
            return (int)Math.Min(int.MaxValue, lost);
        }

        var calendar = IsCalendar(index);
        if (_backlog[index] > 0)
        {
            // run-all catch-up: one run per tick for each passed due time.
            _backlog[index]--;
            _nextDueTime[index] = DueTimeAfter(index, _nextDueTime[index], 1);
            _dueTick[index] = Math.Max(tick + 1, Clock.FirstTickAtOrAfter(now + TimeSpan.FromTicks(1)));
            if (calendar)
                _dueAt[index] = Clock.OffsetOf(_dueTick[index]);
            return 0;
        }

        if (_nextDueTime[index] > now)
        {
            // A run before the first due time: run-immediately, or a hold.
            if (calendar)
                _dueAt[index] = _nextDueTime[index];
            else
                _dueTick[index] = Math.Max(tick + 1, Clock.FirstTickAtOrAfter(_nextDueTime[index]));
            return 0;
        }

        var missed = Passed(index, _nextDueTime[index], now);
        SetNextDueTime(index, now);
        if (_dueTick[index] != long.MaxValue)
        {
            if (calendar)
                _dueAt[index] = _nextDueTime[index];
            else
                _dueTick[index] = Math.Max(tick + 1, Clock.FirstTickAtOrAfter(_nextDueTime[index]));
        }

        return (int)Math.Min(int.MaxValue, missed);
    }

    private static long Period(PeriodicTaskOptions o) => (o.TicksBetweenRuns ?? 0) + 1L;

    private sealed class DueRunByIndex : IComparer<DueRun>
    {
        public static readonly DueRunByIndex Instance = new();

        public int Compare(DueRun x, DueRun y) => x.Index.CompareTo(y.Index);
    }
}
