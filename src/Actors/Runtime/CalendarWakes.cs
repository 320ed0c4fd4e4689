using System.Globalization;
using ActorScheduler.Scheduling;
using Akka.Actor;
using Akka.Event;

namespace ActorScheduler.Runtime;

/// <summary>
/// INTERNAL API. A manager's wall clock and its wakes between ticks (docs/architecture.md, "Calendar wakes and the wall
/// clock"): it asks the ticker to wake the manager at the earliest calendar occurrence before the next tick, and at each
/// tick and wake it compares the wall clock with the monotonic one, so that the schedule follows a step of the wall clock.
/// </summary>
internal sealed class CalendarWakes(
    string setName, TaskTable tasks, RunsInFlight runs, TimeProvider wall, SetStart.Moment start, IScheduler scheduler, ILoggingAdapter log)
{
    private readonly TaskSchedule _schedule = tasks.Schedule;

    /// <summary>A larger difference between the clocks is a step (NTP, resume from suspend, a manual change): logged.</summary>
    public static readonly TimeSpan Step = TimeSpan.FromSeconds(1);

    /// <summary>A smaller difference is noise of reading two clocks; one in between is corrected quietly.</summary>
    private static readonly TimeSpan Drift = TimeSpan.FromMilliseconds(10);

    private readonly List<DueRun> _missed = [];
    private TimeSpan? _armed;

    /// <summary>The ticker to ask for wakes; none (a manager without a ticker) runs calendar tasks on ticks only.</summary>
    public IActorRef? Ticker { get; set; }

    /// <summary>
    /// The set's <paramref name="wall"/> clock (<see cref="WallClock.For"/>, from the settings' <paramref name="configured"/>
    /// one) and the wall-clock time of its start: now on that clock, less the time since the start on the monotonic clock.
    /// </summary>
    public static DateTimeOffset Origin(ActorSystem system, TimeProvider? configured, SetStart.Moment start, out TimeProvider wall)
    {
        wall = WallClock.For(system, configured);
        return wall.GetUtcNow() - start.Elapsed(system.Scheduler);
    }

    /// <summary>Time since the start on the monotonic clock.</summary>
    public TimeSpan Now => start.Elapsed(scheduler);

    /// <summary>
    /// Compares the clocks at the time <paramref name="at"/> of tick <paramref name="tick"/> or of a wake after it. After
    /// a step the calendar tasks' next occurrences are computed again (logged once), and occurrences that their misfire
    /// policy gives no run are counted as missed.
    /// </summary>
    public void CheckWallClock(TimeSpan at, long tick)
    {
        var shift = wall.GetUtcNow() - _schedule.Origin - Now;
        var step = shift - _schedule.WallShift;
        if (step.Duration() <= Drift)
            return;
        if (step.Duration() > Step)
            log.Warning("{0}: the wall clock stepped {1} by {2} s (NTP, resume from suspend or a manual change): next occurrences of calendar tasks computed again",
                setName, step > TimeSpan.Zero ? "forward" : "back", step.Duration().TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture));
        _missed.Clear();
        _schedule.ShiftWall(shift, at, _missed);
        foreach (var missed in _missed)
            runs.Missed(tasks[missed.Index], tick, _schedule.WallAt(at), missed.Missed);
    }

    /// <summary>A wake came: it is no longer armed.</summary>
    public void Woken(TimeSpan at)
    {
        if (_armed == at)
            _armed = null;
    }

    /// <summary>Asks the ticker for a wake at the earliest calendar due time before the tick after <paramref name="tick"/> (the tick takes the others).</summary>
    public void Arm(long tick)
    {
        if (Ticker is null)
            return;
        var next = _schedule.NextWake();
        var wake = next is { } at && at < _schedule.Clock.OffsetOf(tick + 1) ? next : null;
        if (wake == _armed)
            return;
        _armed = wake;
        Ticker.Tell(new Ticker.WakeAt(wake));
    }
}
