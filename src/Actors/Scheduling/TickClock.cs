namespace ActorScheduler.Scheduling;

/// <summary>
/// The nominal time of each tick, as an offset from the start of the task set: tick 0 is the start, tick k (k >= 1)
/// is at FirstDelay + (k-1) x Interval, fixed-rate. FirstDelay is the initial delay plus the fuzzy delay drawn at start.
/// </summary>
internal readonly record struct TickClock(TimeSpan FirstDelay, TimeSpan Interval)
{
    public TimeSpan OffsetOf(long tick) =>
        tick <= 0 ? TimeSpan.Zero : FirstDelay + TimeSpan.FromTicks(Interval.Ticks * (tick - 1));

    /// <summary>The first tick whose nominal time is at or after <paramref name="offset"/>.</summary>
    public long FirstTickAtOrAfter(TimeSpan offset)
    {
        if (offset <= TimeSpan.Zero)
            return 0;
        if (offset <= FirstDelay)
            return 1;
        var after = (offset - FirstDelay).Ticks;
        return 1 + (after + Interval.Ticks - 1) / Interval.Ticks;
    }

    /// <summary>The last tick whose nominal time is at or before <paramref name="offset"/> (0 before the first tick).</summary>
    public long LastTickAtOrBefore(TimeSpan offset) =>
        offset < FirstDelay ? 0 : 1 + (offset - FirstDelay).Ticks / Interval.Ticks;
}
