using ActorScheduler.Scheduling;
using ActorScheduler.Tasks;
using Xunit;

namespace ActorScheduler.Tests;

/// <summary>docs/semantics.md (ticks, tick-counted and spaced tasks, enabled, order) on the pure skip table, one tick at a time.</summary>
public class ScheduleTests
{
    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);
    private static readonly DateTimeOffset Origin = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>The ticks on which task 0 runs, among ticks 0..lastTick.</summary>
    private static List<long> RunTicks(PeriodicTaskOptions options, long lastTick, TimeSpan? interval = null, TimeSpan? initialDelay = null)
    {
        var i = interval ?? Second;
        var schedule = new TaskSchedule([options], new TickClock(initialDelay ?? i, i), Origin);
        var runs = new List<long>();
        var due = new List<DueRun>();
        for (long tick = 0; tick <= lastTick; tick++)
        {
            due.Clear();
            schedule.Advance(tick, due);
            runs.AddRange(due.Select(_ => tick));
        }

        return runs;
    }

    [Fact]
    public void Ticks_between_runs_0_runs_on_every_tick_after_start()
    {
        Assert.Equal([1, 2, 3, 4, 5], RunTicks(new PeriodicTaskOptions { TicksBetweenRuns = 0 }, 5));
    }

    [Fact]
    public void A_task_with_neither_key_runs_on_every_tick_after_start()
    {
        Assert.Equal([1, 2, 3], RunTicks(PeriodicTaskOptions.Default, 3));
    }

    [Fact]
    public void Ticks_between_runs_1_runs_every_second_tick()
    {
        Assert.Equal([2, 4, 6, 8], RunTicks(new PeriodicTaskOptions { TicksBetweenRuns = 1 }, 9));
    }

    [Fact]
    public void Ticks_between_runs_10_runs_on_ticks_11_22_33_so_its_period_is_11_intervals()
    {
        Assert.Equal([11, 22, 33], RunTicks(new PeriodicTaskOptions { TicksBetweenRuns = 10 }, 40));
    }

    [Fact]
    public void Run_immediately_also_runs_at_tick_0_then_every_N_plus_1_ticks()
    {
        Assert.Equal([0, 11, 22], RunTicks(new PeriodicTaskOptions { TicksBetweenRuns = 10, RunImmediately = true }, 30));
    }

    [Fact]
    public void Spacing_9s_at_a_1s_interval_runs_floor_t_over_9_times_by_time_t()
    {
        var runs = RunTicks(new PeriodicTaskOptions { Spacing = TimeSpan.FromSeconds(9) }, 100);
        for (var t = 0; t <= 100; t++)
            Assert.Equal(t / 9, runs.Count(tick => tick <= t)); // tick t is at t seconds
        Assert.Equal([9, 18, 27], runs.Take(3));
    }

    [Fact]
    public void Spacing_not_a_multiple_of_the_interval_runs_at_the_first_tick_at_or_after_each_due_time()
    {
        // Due at 2.5, 5, 7.5, 10 s: ticks 3, 5, 8, 10.
        Assert.Equal([3, 5, 8, 10], RunTicks(new PeriodicTaskOptions { Spacing = TimeSpan.FromSeconds(2.5) }, 10));
    }

    [Fact]
    public void Spacing_with_run_immediately_runs_at_start_too()
    {
        Assert.Equal([0, 3, 6], RunTicks(new PeriodicTaskOptions { Spacing = TimeSpan.FromSeconds(3), RunImmediately = true }, 7));
    }

    [Fact]
    public void Spacing_shorter_than_the_interval_coalesces_due_times_and_counts_them_missed()
    {
        var schedule = new TaskSchedule([new PeriodicTaskOptions { Spacing = TimeSpan.FromMilliseconds(500) }], new TickClock(Second, Second), Origin);
        var due = new List<DueRun>();
        schedule.Advance(0, due);
        Assert.Empty(due);
        schedule.Advance(1, due); // due times 0.5 s and 1 s have passed: one run, one missed
        Assert.Equal([new DueRun(0, 1)], due);
    }

    [Fact]
    public void Initial_delay_moves_tick_1_and_spaced_due_times_are_measured_from_start()
    {
        // initial-delay 5 s, interval 1 s: tick k at 4 + k seconds. Spacing 7 s: due at 7 s = tick 3, 14 s = tick 10.
        var runs = RunTicks(new PeriodicTaskOptions { Spacing = TimeSpan.FromSeconds(7) }, 12, Second, TimeSpan.FromSeconds(5));
        Assert.Equal([3, 10], runs);
    }

    [Fact]
    public void Disabled_task_never_runs()
    {
        Assert.Empty(RunTicks(new PeriodicTaskOptions { Enabled = false, RunImmediately = true }, 20));
    }

    [Fact]
    public void Negative_spacing_disables_the_task()
    {
        var options = new PeriodicTaskOptions { Spacing = TimeSpan.FromSeconds(-1), RunImmediately = true };
        Assert.True(options.IsDisabled);
        Assert.Empty(RunTicks(options, 20));
    }

    [Fact]
    public void Due_tasks_come_in_registration_order_within_a_tick()
    {
        var options = new[]
        {
            new PeriodicTaskOptions { TicksBetweenRuns = 1 },
            PeriodicTaskOptions.Default,
            new PeriodicTaskOptions { Spacing = TimeSpan.FromSeconds(2) },
            new PeriodicTaskOptions { TicksBetweenRuns = 0 },
        };
        var schedule = new TaskSchedule(options, new TickClock(Second, Second), Origin);
        var due = new List<DueRun>();
        schedule.Advance(0, due);
        schedule.Advance(1, due);
        Assert.Equal([1, 3], due.Select(d => d.Index));
        due.Clear();
        schedule.Advance(2, due);
        Assert.Equal([0, 1, 2, 3], due.Select(d => d.Index));
    }

    [Fact]
    public void Skipped_tick_numbers_after_a_pause_coalesce_into_one_run_per_task_counted_as_missed()
    {
        var options = new[] { PeriodicTaskOptions.Default, new PeriodicTaskOptions { TicksBetweenRuns = 1 }, new PeriodicTaskOptions { Spacing = TimeSpan.FromSeconds(3) } };
        var schedule = new TaskSchedule(options, new TickClock(Second, Second), Origin);
        var due = new List<DueRun>();
        schedule.Advance(0, due);
        schedule.Advance(1, due);
        due.Clear();
        schedule.Advance(10, due); // ticks 2..9 never came
        Assert.Equal([new DueRun(0, 8), new DueRun(1, 4), new DueRun(2, 2)], due);
        Assert.Equal(11, schedule.NextDueTick(0));
        Assert.Equal(12, schedule.NextDueTick(1));
        Assert.Equal(12, schedule.NextDueTick(2));
    }

    [Fact]
    public void Ticks_left_follows_novas_skip_counter()
    {
        var schedule = new TaskSchedule([new PeriodicTaskOptions { TicksBetweenRuns = 3 }], new TickClock(Second, Second), Origin);
        var due = new List<DueRun>();
        schedule.Advance(0, due);
        schedule.Advance(1, due);
        Assert.Equal(3, schedule.TicksLeft(0, 1)); // nova: counter 3 at tick 1, decremented to 2
        schedule.Advance(2, due);
        schedule.Advance(3, due);
        Assert.Equal(1, schedule.TicksLeft(0, 3));
        schedule.Advance(4, due);
        Assert.Single(due);
    }

    [Fact]
    public void A_tick_that_does_not_increase_is_rejected()
    {
        var schedule = new TaskSchedule([PeriodicTaskOptions.Default], new TickClock(Second, Second), Origin);
        schedule.Advance(3, []);
        Assert.Throws<ArgumentOutOfRangeException>(() => schedule.Advance(3, []));
    }

    [Fact]
    public void The_schedule_in_words_says_the_real_period()
    {
        var minute = TimeSpan.FromSeconds(60);
        Assert.Equal("every 11 ticks = 660 s", new PeriodicTaskOptions { TicksBetweenRuns = 10 }.DescribeSchedule(minute));
        Assert.Equal("every 10m", new PeriodicTaskOptions { Spacing = TimeSpan.FromMinutes(10) }.DescribeSchedule(minute));
        Assert.Equal("disabled", new PeriodicTaskOptions { Enabled = false }.DescribeSchedule(minute));
        Assert.Equal("every tick = 60 s", PeriodicTaskOptions.Default.DescribeSchedule(minute));
    }
}
