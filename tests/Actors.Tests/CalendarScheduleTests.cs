using ActorScheduler.Scheduling;
using ActorScheduler.Tasks;
using Xunit;

namespace ActorScheduler.Tests;

/// <summary>docs/semantics.md, "Calendar tasks": occurrences across daylight saving, the tick as resolution, missed runs, restore.</summary>
public class CalendarScheduleTests
{
    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);
    private static readonly TickClock Minutes = new(Minute, Minute); // tick k at k minutes

    private static DateTimeOffset Utc(int year, int month, int day, int hour, int minute = 0) =>
        new(year, month, day, hour, minute, 0, TimeSpan.Zero);

    private static PeriodicTaskOptions Cron(string cron, string zone = "UTC") => new() { Cron = cron, TimeZone = zone };

    /// <summary>The wall times of task 0's runs from <paramref name="origin"/> up to <paramref name="until"/>, one-minute ticks.</summary>
    private static List<DateTimeOffset> Runs(PeriodicTaskOptions options, DateTimeOffset origin, DateTimeOffset until)
    {
        var schedule = new TaskSchedule([options], Minutes, origin);
        var due = new List<DueRun>();
        var runs = new List<DateTimeOffset>();
        while (schedule.NextDueTick(0) is { } tick && origin + Minutes.OffsetOf(tick) <= until)
        {
            due.Clear();
            schedule.Advance(tick, due);
            Assert.Equal(0, Assert.Single(due).Missed);
            runs.Add(origin + Minutes.OffsetOf(tick));
        }

        return runs;
    }

    [Fact]
    public void New_york_0230_in_the_spring_gap_runs_at_0300_edt()
    {
        var runs = Runs(Cron("30 2 * * *", "America/New_York"), Utc(2026, 3, 7, 0), Utc(2026, 3, 10, 0));
        Assert.Equal([Utc(2026, 3, 7, 7, 30), Utc(2026, 3, 8, 7, 0), Utc(2026, 3, 9, 6, 30)], runs);
    }

    [Fact]
    public void New_york_every_30_minutes_runs_in_both_copies_of_the_repeated_hour()
    {
        var runs = Runs(Cron("*/30 * * * *", "America/New_York"), Utc(2026, 11, 1, 4, 45), Utc(2026, 11, 1, 7, 0));
        // 01:00 and 01:30 EDT (05:00Z, 05:30Z), then 01:00 and 01:30 EST (06:00Z, 06:30Z), then 02:00 EST.
        Assert.Equal([Utc(2026, 11, 1, 5), Utc(2026, 11, 1, 5, 30), Utc(2026, 11, 1, 6), Utc(2026, 11, 1, 6, 30), Utc(2026, 11, 1, 7)], runs);
    }

    [Fact]
    public void New_york_0130_runs_once_in_the_first_copy_of_the_repeated_hour()
    {
        var runs = Runs(Cron("30 1 * * *", "America/New_York"), Utc(2026, 10, 31, 12), Utc(2026, 11, 2, 12));
        Assert.Equal([Utc(2026, 11, 1, 5, 30), Utc(2026, 11, 2, 6, 30)], runs);
    }

    [Fact]
    public void Berlin_0230_in_the_spring_gap_runs_at_0300_cest()
    {
        var runs = Runs(Cron("30 2 * * *", "Europe/Berlin"), Utc(2026, 3, 28, 0), Utc(2026, 3, 31, 0));
        Assert.Equal([Utc(2026, 3, 28, 1, 30), Utc(2026, 3, 29, 1, 0), Utc(2026, 3, 30, 0, 30)], runs);
    }

    [Fact]
    public void Berlin_0230_runs_once_on_the_autumn_change()
    {
        var runs = Runs(Cron("30 2 * * *", "Europe/Berlin"), Utc(2026, 10, 24, 12), Utc(2026, 10, 26, 12));
        Assert.Equal([Utc(2026, 10, 25, 0, 30), Utc(2026, 10, 26, 1, 30)], runs);
    }

    [Fact]
    public void Berlin_every_30_minutes_runs_in_both_copies_of_the_repeated_hour()
    {
        var runs = Runs(Cron("*/30 * * * *", "Europe/Berlin"), Utc(2026, 10, 24, 23, 45), Utc(2026, 10, 25, 1, 30));
        // 02:00 and 02:30 CEST (00:00Z, 00:30Z), then 02:00 and 02:30 CET (01:00Z, 01:30Z).
        Assert.Equal([Utc(2026, 10, 25, 0), Utc(2026, 10, 25, 0, 30), Utc(2026, 10, 25, 1), Utc(2026, 10, 25, 1, 30)], runs);
    }

    [Fact]
    public void Last_day_of_the_month_follows_the_month_length()
    {
        var runs = Runs(Cron("0 0 L * *"), Utc(2027, 1, 15, 0), Utc(2027, 5, 1, 0));
        Assert.Equal([Utc(2027, 1, 31, 0), Utc(2027, 2, 28, 0), Utc(2027, 3, 31, 0), Utc(2027, 4, 30, 0)], runs);
    }

    [Fact]
    public void A_calendar_task_is_due_at_its_occurrence_between_ticks_numbered_with_the_tick_before()
    {
        // Ticks every 60 s from 00:00:20, occurrences on the minute: 00:01 is 40 s after tick 0, before tick 1 (00:01:20).
        var schedule = new TaskSchedule([Cron("* * * * *")], Minutes, new DateTimeOffset(2026, 1, 1, 0, 0, 20, TimeSpan.Zero));
        var due = new List<DueRun>();
        schedule.Advance(0, due);
        Assert.Empty(due);
        Assert.Equal((0L, TimeSpan.FromSeconds(40)), (schedule.NextDueTick(0), schedule.NextDueOffset(0)));
        Assert.Equal(TimeSpan.FromSeconds(40), schedule.NextWake());

        schedule.AdvanceTo(TimeSpan.FromSeconds(39), due);
        Assert.Empty(due);
        schedule.AdvanceTo(TimeSpan.FromSeconds(40), due);
        Assert.Equal(new DueRun(0, 0), Assert.Single(due));
        Assert.Equal((1L, TimeSpan.FromSeconds(100)), (schedule.NextDueTick(0), schedule.NextDueOffset(0)));

        due.Clear();
        schedule.Advance(1, due); // 00:01:20: the 00:01 occurrence has run, 00:02 has not come
        Assert.Empty(due);
    }

    [Fact]
    public void Without_a_wake_a_calendar_task_runs_on_the_first_tick_after_its_occurrence()
    {
        var schedule = new TaskSchedule([Cron("* * * * *")], Minutes, new DateTimeOffset(2026, 1, 1, 0, 0, 20, TimeSpan.Zero));
        var due = new List<DueRun>();
        schedule.Advance(0, due);
        schedule.Advance(1, due);
        Assert.Equal(new DueRun(0, 0), Assert.Single(due));
    }

    [Fact]
    public void Occurrences_passed_together_coalesce_into_one_run_counting_the_others_as_missed()
    {
        var schedule = new TaskSchedule([Cron("* * * * *")], Minutes, Utc(2026, 1, 1, 0));
        var due = new List<DueRun>();
        schedule.Advance(1, due);
        Assert.Equal(new DueRun(0, 0), Assert.Single(due));
        due.Clear();
        schedule.Advance(10, due); // ticks 2-9 skipped: occurrences 00:02 ... 00:10 pass together
        Assert.Equal(new DueRun(0, 8), Assert.Single(due));
        Assert.Equal(11, schedule.NextDueTick(0));
    }

    [Fact]
    public void Occurrences_closer_than_the_tick_count_as_missed_on_every_tick()
    {
        var schedule = new TaskSchedule([Cron("*/30 * * * * *")], Minutes, Utc(2026, 1, 1, 0));
        var due = new List<DueRun>();
        schedule.Advance(1, due); // 00:00:30 and 00:01:00
        schedule.Advance(2, due);
        Assert.Equal([new DueRun(0, 1), new DueRun(0, 1)], due);
    }

    [Fact]
    public void Run_immediately_adds_a_run_at_tick_0_and_misses_nothing()
    {
        var schedule = new TaskSchedule([Cron("0 * * * *") with { RunImmediately = true }], Minutes, Utc(2026, 1, 1, 0, 30));
        var due = new List<DueRun>();
        schedule.Advance(0, due);
        Assert.Equal(new DueRun(0, 0), Assert.Single(due));
        Assert.Equal(30, schedule.NextDueTick(0)); // 01:00
        due.Clear();
        schedule.Advance(30, due);
        Assert.Equal(new DueRun(0, 0), Assert.Single(due));
    }

    [Fact]
    public void A_calendar_place_is_its_next_occurrence_and_restores_on_another_origin()
    {
        var before = new TaskSchedule([Cron("0 3 * * *")], Minutes, Utc(2026, 1, 1, 0));
        var place = before.PlaceOf(0)!;
        Assert.Equal(TimeSpan.FromHours(3), place.NextDueTime);
        // The manager saves the wall time (origin + offset) and gives back its offset from the new origin.
        var after = new TaskSchedule([Cron("0 3 * * *")], Minutes, Utc(2026, 1, 1, 2));
        Assert.Empty(after.Restore([place with { NextDueTime = place.NextDueTime - TimeSpan.FromHours(2) }]));
        Assert.Equal(60, after.NextDueTick(0));
    }

    /// <summary>An hourly task last due at 01:00 restored at 04:30: 01:00, 02:00, 03:00 and 04:00 passed.</summary>
    private static (TaskSchedule Schedule, IReadOnlyList<DueRun> Missed) RestoredAfterFourHours(MisfirePolicy misfire)
    {
        var schedule = new TaskSchedule([Cron("0 * * * *") with { Misfire = misfire }], Minutes, Utc(2026, 1, 1, 4, 30));
        var missed = schedule.Restore([new TaskPlace(0, TimeSpan.FromHours(-3.5))]);
        return (schedule, missed);
    }

    [Fact]
    public void Restored_calendar_task_coalesces_passed_occurrences_by_default()
    {
        var (schedule, missed) = RestoredAfterFourHours(MisfirePolicy.Coalesce);
        Assert.Empty(missed);
        var due = new List<DueRun>();
        schedule.Advance(0, due);
        Assert.Equal(new DueRun(0, 3), Assert.Single(due));
        Assert.Equal(30, schedule.NextDueTick(0)); // 05:00
    }

    [Fact]
    public void Restored_calendar_task_with_misfire_skip_counts_them_missed_and_waits_for_its_next_occurrence()
    {
        var (schedule, missed) = RestoredAfterFourHours(MisfirePolicy.Skip);
        Assert.Equal(new DueRun(0, 4), Assert.Single(missed));
        Assert.Equal(30, schedule.NextDueTick(0));
    }

    [Fact]
    public void Restored_calendar_task_with_misfire_run_all_runs_once_per_passed_occurrence()
    {
        var (schedule, missed) = RestoredAfterFourHours(MisfirePolicy.RunAll);
        Assert.Empty(missed);
        var due = new List<DueRun>();
        for (long tick = 0; tick < 30; tick++)
            schedule.Advance(tick, due);
        Assert.Equal(4, due.Count);
        Assert.All(due, d => Assert.Equal(0, d.Missed));
        Assert.Equal(30, schedule.NextDueTick(0));
    }

    /// <summary>An hourly task (on the hour, UTC), one-minute ticks from 00:00:30, after tick 1 (00:01:30).</summary>
    private static (TaskSchedule Schedule, List<DueRun> Due) HourlyAfterTickOne(MisfirePolicy misfire = MisfirePolicy.Coalesce)
    {
        var schedule = new TaskSchedule([new PeriodicTaskOptions { Cron = "0 * * * *", Misfire = misfire }], Minutes,
            new DateTimeOffset(2026, 1, 1, 0, 0, 30, TimeSpan.Zero));
        var due = new List<DueRun>();
        schedule.Advance(0, due);
        schedule.Advance(1, due);
        Assert.Empty(due);
        return (schedule, due);
    }

    [Fact]
    public void A_forward_step_coalesces_the_occurrences_it_skipped_into_one_run_at_once()
    {
        var (schedule, due) = HourlyAfterTickOne();
        var missed = new List<DueRun>();
        schedule.ShiftWall(TimeSpan.FromHours(3), Minute, missed); // at 00:01:30, to 03:01:30: 01:00, 02:00, 03:00 passed
        Assert.Empty(missed);
        schedule.AdvanceTo(Minute, due);
        Assert.Equal(new DueRun(0, 2), Assert.Single(due));
        Assert.Equal(new DateTimeOffset(2026, 1, 1, 4, 0, 0, TimeSpan.Zero), schedule.WallAt(schedule.NextDueOffset(0)!.Value));
    }

    [Fact]
    public void A_forward_step_with_misfire_skip_counts_the_skipped_occurrences_missed_without_a_run()
    {
        var (schedule, due) = HourlyAfterTickOne(MisfirePolicy.Skip);
        var missed = new List<DueRun>();
        schedule.ShiftWall(TimeSpan.FromHours(3), Minute, missed);
        Assert.Equal(new DueRun(0, 3), Assert.Single(missed));
        schedule.AdvanceTo(Minute, due);
        Assert.Empty(due);
        Assert.Equal(new DateTimeOffset(2026, 1, 1, 4, 0, 0, TimeSpan.Zero), schedule.WallAt(schedule.NextDueOffset(0)!.Value));
    }

    [Fact]
    public void A_forward_step_with_misfire_run_all_runs_once_now_and_once_per_tick_for_the_others()
    {
        var (schedule, due) = HourlyAfterTickOne(MisfirePolicy.RunAll);
        var missed = new List<DueRun>();
        schedule.ShiftWall(TimeSpan.FromHours(3), Minute, missed);
        Assert.Empty(missed);
        schedule.AdvanceTo(Minute, due);
        for (long tick = 2; tick <= 5; tick++)
            schedule.Advance(tick, due);
        Assert.Equal(3, due.Count); // at once, then on ticks 2 and 3
        Assert.All(due, d => Assert.Equal(0, d.Missed));
    }

    [Fact]
    public void After_a_backward_step_the_next_occurrence_waits_for_the_wall_clock_to_reach_it_again()
    {
        var (schedule, due) = HourlyAfterTickOne();
        for (long tick = 2; tick <= 60; tick++)
            schedule.Advance(tick, due); // 01:00 runs on tick 60 (01:00:30)
        Assert.Single(due);
        var missed = new List<DueRun>();
        schedule.ShiftWall(TimeSpan.FromMinutes(-30), TimeSpan.FromMinutes(60), missed); // back to 00:30:30
        Assert.Empty(missed);
        Assert.Equal(new DateTimeOffset(2026, 1, 1, 2, 0, 0, TimeSpan.Zero), schedule.WallAt(schedule.NextDueOffset(0)!.Value));
        Assert.Equal(TimeSpan.FromMinutes(149.5), schedule.NextDueOffset(0)); // 02:00 on the stepped clock: 90 min after 00:30:30
    }
}
