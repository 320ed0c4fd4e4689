using ActorScheduler.Scheduling;
using ActorScheduler.Tasks;
using Xunit;

namespace ActorScheduler.Tests;

/// <summary>Tasks added, updated and removed while the skip table runs (TaskSchedule.Add, Update, Remove).</summary>
public class ScheduleChangeTests
{
    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);
    private static readonly TickClock Seconds = new(Second, Second); // tick k at k seconds
    private static readonly DateTimeOffset Origin = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static TaskSchedule Empty() => new([], Seconds, Origin);

    /// <summary>Processes ticks from..to and returns the ticks on which task <paramref name="index"/> ran.</summary>
    private static List<long> RunTicks(TaskSchedule schedule, int index, long from, long to)
    {
        var ticks = new List<long>();
        var due = new List<DueRun>();
        for (var tick = from; tick <= to; tick++)
        {
            due.Clear();
            schedule.Advance(tick, due);
            Assert.True(due.Count(d => d.Index == index) <= 1);
            if (due.Any(d => d.Index == index))
                ticks.Add(tick);
        }

        return ticks;
    }

    [Theory]
    [InlineData(2, false, 3)]
    [InlineData(2, true, 0)]
    [InlineData(null, false, 1)]
    public void Adding_before_any_tick_places_a_task_as_if_present_from_the_start(int? ticksBetweenRuns, bool runImmediately, long first)
    {
        var options = new PeriodicTaskOptions { TicksBetweenRuns = ticksBetweenRuns, RunImmediately = runImmediately };
        var schedule = Empty();
        Assert.Equal(0, schedule.Add(options, -1));
        Assert.Equal(first, schedule.NextDueTick(0));
        Assert.Equal(new TaskSchedule([options], Seconds, Origin).NextDueTick(0), schedule.NextDueTick(0));
    }

    [Fact]
    public void An_added_tick_counted_task_counts_from_the_tick_after_the_last_one()
    {
        var schedule = new TaskSchedule([PeriodicTaskOptions.Default], Seconds, Origin);
        RunTicks(schedule, 0, 0, 5);
        var index = schedule.Add(new PeriodicTaskOptions { TicksBetweenRuns = 2 }, schedule.LastTick);
        Assert.Equal(1, index);
        Assert.Equal([9, 12], RunTicks(schedule, index, 6, 12));
    }

    [Fact]
    public void An_added_task_with_run_immediately_runs_on_the_next_tick()
    {
        var schedule = Empty();
        RunTicks(schedule, 0, 0, 5);
        var index = schedule.Add(new PeriodicTaskOptions { TicksBetweenRuns = 2, RunImmediately = true }, 5);
        Assert.Equal([6, 9], RunTicks(schedule, index, 6, 10));
    }

    [Fact]
    public void An_added_spaced_task_is_due_one_spacing_after_the_next_tick()
    {
        var schedule = Empty();
        RunTicks(schedule, 0, 0, 5);
        var index = schedule.Add(new PeriodicTaskOptions { Spacing = TimeSpan.FromSeconds(10) }, 5);
        Assert.Equal(16, schedule.NextDueTick(index));
    }

    [Fact]
    public void An_added_calendar_task_waits_for_the_first_occurrence_after_the_last_tick()
    {
        var schedule = new TaskSchedule([], new TickClock(TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1)), Origin);
        RunTicks(schedule, 0, 0, 5);
        var index = schedule.Add(new PeriodicTaskOptions { Cron = "* * * * *" }, 5);
        Assert.Equal(6, schedule.NextDueTick(index)); // 00:06, the first occurrence after tick 5 (00:05)
    }

    [Fact]
    public void Tasks_due_on_a_tick_come_out_in_index_order_whenever_they_were_added()
    {
        var schedule = new TaskSchedule([PeriodicTaskOptions.Default], Seconds, Origin);
        var due = new List<DueRun>();
        schedule.Advance(0, due);
        schedule.Add(new PeriodicTaskOptions { TicksBetweenRuns = 1 }, 0); // due on 3, before task 0 is rescheduled to 3
        schedule.Advance(1, due);
        schedule.Advance(2, due);
        due.Clear();
        schedule.Advance(3, due);
        Assert.Equal([0, 1], due.Select(d => d.Index));
    }

    [Fact]
    public void Updating_options_without_changing_the_schedule_keeps_the_next_due_tick()
    {
        var schedule = new TaskSchedule([new PeriodicTaskOptions { TicksBetweenRuns = 4 }], Seconds, Origin);
        RunTicks(schedule, 0, 0, 2);
        var updated = new PeriodicTaskOptions { TicksBetweenRuns = 4, Timeout = TimeSpan.FromSeconds(3) };
        schedule.Update(0, updated, 2);
        Assert.Equal(5, schedule.NextDueTick(0));
        Assert.Same(updated, schedule.OptionsOf(0));
    }

    [Fact]
    public void Updating_the_schedule_places_the_task_again_and_its_old_bucket_entry_is_skipped()
    {
        var schedule = new TaskSchedule([new PeriodicTaskOptions { TicksBetweenRuns = 9 }], Seconds, Origin);
        RunTicks(schedule, 0, 0, 2);
        schedule.Update(0, new PeriodicTaskOptions { TicksBetweenRuns = 1 }, 2);
        Assert.Equal([5, 7, 9, 11], RunTicks(schedule, 0, 3, 12)); // nothing extra on tick 10, the old due tick
    }

    [Fact]
    public void A_task_whose_stale_entry_meets_its_new_one_in_a_bucket_runs_once()
    {
        var schedule = new TaskSchedule([new PeriodicTaskOptions { TicksBetweenRuns = 4 }], Seconds, Origin);
        RunTicks(schedule, 0, 0, 0);
        // Due on 3, 5, 7, ...: rescheduled on tick 3 into bucket 5, where its old entry still is.
        schedule.Update(0, new PeriodicTaskOptions { TicksBetweenRuns = 1 }, 0);
        Assert.Equal([3, 5, 7, 9], RunTicks(schedule, 0, 1, 10));
    }

    [Fact]
    public void Disabling_a_task_by_update_makes_it_never_due()
    {
        var schedule = new TaskSchedule([PeriodicTaskOptions.Default], Seconds, Origin);
        schedule.Update(0, new PeriodicTaskOptions { Enabled = false }, -1);
        Assert.Null(schedule.NextDueTick(0));
        Assert.Empty(RunTicks(schedule, 0, 0, 3));
    }

    [Fact]
    public void A_removed_task_is_never_due_again_and_keeps_its_index()
    {
        var schedule = new TaskSchedule([PeriodicTaskOptions.Default, PeriodicTaskOptions.Default], Seconds, Origin);
        RunTicks(schedule, 0, 0, 1);
        schedule.Remove(0);
        Assert.Null(schedule.NextDueTick(0));
        Assert.Null(schedule.PlaceOf(0));
        Assert.Empty(RunTicks(schedule, 0, 2, 4));
        Assert.Equal(2, schedule.Add(PeriodicTaskOptions.Default, 4));
        Assert.Equal(5, schedule.NextDueTick(1));
    }
}
