using ActorScheduler.Scheduling;
using ActorScheduler.Tasks;
using Xunit;

namespace ActorScheduler.Cluster.Tests;

/// <summary>TaskSchedule's export and restore of places (pure: no actors, no clock).</summary>
public class ScheduleRestoreTests
{
    private static readonly TickClock Minutes = new(TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1)); // tick k at k minutes
    private static readonly DateTimeOffset Origin = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static List<DueRun> Advance(TaskSchedule schedule, long from, long to)
    {
        var due = new List<DueRun>();
        for (var tick = from; tick <= to; tick++)
        {
            var before = due.Count;
            schedule.Advance(tick, due);
            for (var i = before; i < due.Count; i++)
                due[i] = due[i] with { Index = (int)tick * 1000 + due[i].Index }; // encode the tick for assertions
        }

        return due;
    }

    private static IEnumerable<long> Ticks(List<DueRun> runs) => runs.Select(r => (long)(r.Index / 1000));

    [Fact]
    public void A_tick_counted_task_keeps_its_counter()
    {
        var options = new PeriodicTaskOptions { TicksBetweenRuns = 3 };
        var before = new TaskSchedule([options], Minutes, Origin);
        Assert.Equal([4L], Ticks(Advance(before, 0, 5))); // ran on tick 4; due on tick 8: 3 ticks left after tick 5
        var place = before.PlaceOf(0)!;
        Assert.Equal(3, place.TicksLeft);

        var after = new TaskSchedule([options], Minutes, Origin);
        after.Restore([place]);
        Assert.Equal([3L, 7L], Ticks(Advance(after, 0, 8)));
    }

    [Fact]
    public void A_spaced_task_that_ran_5_minutes_before_a_restart_with_1h_spacing_runs_55_minutes_later()
    {
        var options = new PeriodicTaskOptions { Spacing = TimeSpan.FromHours(1) };
        var before = new TaskSchedule([options], Minutes, Origin);
        Assert.Equal([60L], Ticks(Advance(before, 0, 65))); // ran at 60 min; restart at 65 min
        var next = before.PlaceOf(0)!.NextDueTime!.Value;
        Assert.Equal(TimeSpan.FromMinutes(120), next);

        var after = new TaskSchedule([options], Minutes, Origin);
        after.Restore([new TaskPlace(null, next - TimeSpan.FromMinutes(65))]); // as seen from the new start
        Assert.Equal(55, after.NextDueTick(0));
        Assert.Empty(Advance(after, 0, 54));
        Assert.Equal([55L], Ticks(Advance(after, 55, 55)));
    }

    [Fact]
    public void Run_immediately_applies_only_to_a_task_with_nothing_saved()
    {
        var options = new PeriodicTaskOptions { Spacing = TimeSpan.FromMinutes(10), RunImmediately = true };
        var schedule = new TaskSchedule([options, options], Minutes, Origin);
        schedule.Restore([new TaskPlace(null, TimeSpan.FromMinutes(4)), null]);
        var due = new List<DueRun>();
        schedule.Advance(0, due);
        Assert.Equal([1], due.Select(d => d.Index)); // only the task without a saved place
    }

    [Fact]
    public void Missed_due_times_coalesce_into_one_run_counted_as_missed()
    {
        var options = new PeriodicTaskOptions { Spacing = TimeSpan.FromHours(1) };
        var schedule = new TaskSchedule([options], Minutes, Origin);
        var missedWithoutRun = schedule.Restore([new TaskPlace(null, TimeSpan.FromMinutes(-210))]); // 4 due times passed
        Assert.Empty(missedWithoutRun);
        var due = new List<DueRun>();
        schedule.Advance(0, due);
        Assert.Equal([new DueRun(0, 3)], due); // one run, the 3 others missed
        Assert.Equal(30, schedule.NextDueTick(0)); // the cadence continues: next due 30 min after the restart
    }

    [Fact]
    public void Misfire_skip_runs_nothing_for_passed_due_times_and_counts_them_all()
    {
        var options = new PeriodicTaskOptions { Spacing = TimeSpan.FromHours(1), Misfire = MisfirePolicy.Skip };
        var schedule = new TaskSchedule([options], Minutes, Origin);
        var missed = schedule.Restore([new TaskPlace(null, TimeSpan.FromMinutes(-210))]);
        Assert.Equal([new DueRun(0, 4)], missed);
        Assert.Empty(Advance(schedule, 0, 29));
        Assert.Equal([30L], Ticks(Advance(schedule, 30, 30)));
    }

    [Fact]
    public void Misfire_run_all_runs_each_passed_due_time_up_to_its_limit()
    {
        var options = new PeriodicTaskOptions { Spacing = TimeSpan.FromHours(1), Misfire = MisfirePolicy.RunAll, MisfireLimit = 3 };
        var schedule = new TaskSchedule([options], Minutes, Origin);
        var missed = schedule.Restore([new TaskPlace(null, TimeSpan.FromMinutes(-210))]);
        Assert.Equal([new DueRun(0, 1)], missed); // 4 passed, 3 run
        var runs = Advance(schedule, 0, 30);
        Assert.Equal([0L, 1L, 2L, 30L], Ticks(runs));
        Assert.All(runs, r => Assert.Equal(0, r.Missed));
    }

    [Fact]
    public void A_hold_delays_the_first_dispatch_and_coalesces_the_due_times_it_covers()
    {
        var options = new PeriodicTaskOptions { Spacing = TimeSpan.FromMinutes(1) };
        var schedule = new TaskSchedule([options], Minutes, Origin);
        schedule.Restore([new TaskPlace(null, TimeSpan.FromMinutes(1), NotBefore: TimeSpan.FromMinutes(4))]);
        var runs = Advance(schedule, 0, 4);
        Assert.Equal([4L], Ticks(runs));
        Assert.Equal(3, runs[0].Missed); // due at 1, 2, 3, 4 minutes: one run at 4, three missed
    }

    [Fact]
    public void A_hold_delays_a_tick_counted_task()
    {
        var options = new PeriodicTaskOptions { TicksBetweenRuns = 0 };
        var schedule = new TaskSchedule([options], Minutes, Origin);
        schedule.Restore([new TaskPlace(1, null, NotBefore: TimeSpan.FromMinutes(3))]);
        Assert.Equal([3L, 4L], Ticks(Advance(schedule, 0, 4)));
    }
}
