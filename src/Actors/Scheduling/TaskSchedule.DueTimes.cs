using ActorScheduler.Tasks;

namespace ActorScheduler.Scheduling;

/// <summary>
/// The due times of spaced and calendar tasks: saved places put back with their misfire policy, a step of the wall
/// clock, and the due times counted or passed (docs/semantics.md, "The wall clock, and clock changes" and "Restarts with a state store, and misfire policies").
/// </summary>
internal sealed partial class TaskSchedule
{
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
        _calendarDue.Clear();
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

            Schedule(i);
        }

        return missed;
    }

    /// <summary>
    /// Task <paramref name="index"/>'s next due time is <paramref name="next"/>, and nothing runs before
    /// <paramref name="hold"/>: due times passed by then follow its misfire policy (a restore, or a wall-clock step).
    /// </summary>
    private void RestoreDueTimes(int index, TimeSpan next, TimeSpan hold, List<DueRun> missed)
    {
        _nextDueTime[index] = next;
        if (next >= hold)
        {
            DueAt(index, next);
            return;
        }

        var passed = 1 + Passed(index, next, hold);
        var o = _options[index];
        switch (o.Misfire)
        {
            case MisfirePolicy.Skip:
                SetNextDueTime(index, hold);
                if (_dueTick[index] != long.MaxValue)
                    DueAt(index, _nextDueTime[index]);
                missed.Add(new DueRun(index, (int)Math.Min(int.MaxValue, passed)));
                return;
            case MisfirePolicy.RunAll:
                var runs = Math.Min(passed, o.MisfireLimit);
                if (passed > runs)
                    missed.Add(new DueRun(index, (int)Math.Min(int.MaxValue, passed - runs)));
                _nextDueTime[index] = DueTimeAfter(index, next, passed - runs);
                _backlog[index] = (int)runs - 1;
                DueAt(index, hold);
                return;
            default:
                // Coalesce: the first passed due time stays the next one, so the run at the hold counts every other
                // passed due time as missed (as Reschedule does for a pause).
                DueAt(index, hold);
                return;
        }
    }

    /// <summary>Task <paramref name="index"/> is due at <paramref name="at"/>: at that time if it is a calendar task, else on the first tick at or after it.</summary>
    private void DueAt(int index, TimeSpan at)
    {
        if (IsCalendar(index))
            _dueAt[index] = at;
        else
            _dueTick[index] = Clock.FirstTickAtOrAfter(at);
    }

    /// <summary>
    /// The wall clock stepped (or drifted): it is now <paramref name="shift"/> from the monotonic clock. Each calendar
    /// task keeps its next occurrence as a wall-clock time, so after a backward step none runs twice; occurrences that a
    /// forward step passed by <paramref name="now"/> follow the task's misfire policy (coalesce: one run, due at
    /// <paramref name="now"/>). Spaced and tick-counted tasks keep their monotonic cadence (docs/semantics.md, "The wall clock, and clock changes").
    /// </summary>
    /// <param name="shift">The wall clock minus the monotonic one, as measured now (see <see cref="WallShift"/>).</param>
    /// <param name="now">The offset from tick 0 at which the step was noticed (a tick's or a wake's time).</param>
    /// <param name="missed">Receives the occurrences counted as missed without a run (skip, run-all beyond its limit).</param>
    public void ShiftWall(TimeSpan shift, TimeSpan now, List<DueRun> missed)
    {
        var delta = WallShift - shift;
        WallShift = shift;
        for (var i = 0; i < _options.Count; i++)
        {
            if (!IsCalendar(i) || _dueTick[i] == long.MaxValue)
                continue;
            var waitsForOccurrence = _dueAt[i] == _nextDueTime[i] && _backlog[i] == 0;
            if (waitsForOccurrence)
                RestoreDueTimes(i, _nextDueTime[i] + delta, now, missed);
            else
                _nextDueTime[i] += delta; // a run-immediately, hold or catch-up run stays where it is
            Schedule(i);
        }
    }

    /// <summary>How many due times of task <paramref name="index"/> lie in (<paramref name="after"/>, <paramref name="upTo"/>].</summary>
    private long Passed(int index, TimeSpan after, TimeSpan upTo)
    {
        if (upTo <= after)
            return 0;
        if (_options[index].Spacing is { } spacing)
            return (upTo - after).Ticks / spacing.Ticks;
        return _calendars[index]!.Count(WallAt(after), WallAt(upTo), MaxCounted);
    }

    /// <summary>The due time <paramref name="steps"/> due times after <paramref name="from"/>.</summary>
    private TimeSpan DueTimeAfter(int index, TimeSpan from, long steps)
    {
        if (_options[index].Spacing is { } spacing)
            return from + TimeSpan.FromTicks(spacing.Ticks * steps);
        var at = from;
        for (long i = 0; i < steps && _calendars[index]!.Next(WallAt(at)) is { } next; i++)
            at = next - Origin - WallShift;
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
        else if (_calendars[index]!.Next(WallAt(now)) is { } next)
        {
            _nextDueTime[index] = next - Origin - WallShift;
        }
        else
        {
            _dueTick[index] = long.MaxValue;
        }
    }
}
