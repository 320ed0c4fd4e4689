using ActorScheduler.Messages;
using ActorScheduler.Runtime;
using ActorScheduler.Tasks;
using ActorScheduler.Testing;
using Akka.Actor;
using Xunit;
using Xunit.Abstractions;

namespace ActorScheduler.Tests;

/// <summary>Calendar tasks in the manager under Akka's TestScheduler (docs/semantics.md, "Calendar tasks").</summary>
public class CalendarTaskTests(ITestOutputHelper output) : VirtualTimeTestKit(output)
{
    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);

    private static PeriodicTaskSet EveryFiveSeconds() =>
        new PeriodicTaskSet("ops").Add("backup", _ => { }, new PeriodicTaskOptions { Cron = "*/5 * * * * *" });

    [Fact]
    public async Task A_calendar_task_runs_on_the_tick_at_or_after_its_occurrence_and_stats_show_its_next_due_time()
    {
        Subscribe<PeriodicTaskSucceeded>();
        var start = Scheduler.Now;
        var manager = await StartManager(EveryFiveSeconds(), "actor-scheduler.periodic-interval = 1s");
        // The first whole 5 s after the start, and the first 1 s tick at or after it.
        var occurrence = new DateTimeOffset(start.UtcTicks - start.UtcTicks % (5 * TimeSpan.TicksPerSecond), TimeSpan.Zero).AddSeconds(5);
        var tick = (long)Math.Ceiling((occurrence - start).TotalSeconds);
        var stats = (await manager.Ask<TaskStatsReport>(GetTaskStats.Instance))["backup"];
        Assert.Equal(tick, stats.NextDueTick);
        Assert.Equal(start + Second * tick, stats.NextDueAt);
        Assert.Equal("every 5 s (UTC)", stats.Schedule);

        await AdvanceTicks(manager, (int)tick, Second);
        var run = ExpectMsg<PeriodicTaskSucceeded>();
        Assert.Equal(tick, run.Tick);
        Assert.True(run.ScheduledAt >= occurrence);
        stats = (await manager.Ask<TaskStatsReport>(GetTaskStats.Instance))["backup"];
        Assert.Equal(tick + 5, stats.NextDueTick);
    }

    [Fact]
    public async Task Occurrences_passed_while_ticks_were_skipped_make_one_run_and_count_as_missed()
    {
        Subscribe<PeriodicTaskMissed>();
        var manager = ManualManager(EveryFiveSeconds(), "actor-scheduler.periodic-interval = 1s");
        manager.Tell(new Tick(30)); // (start, start + 30 s] holds six occurrences
        Assert.Equal(5, ExpectMsg<PeriodicTaskMissed>().Count);
        var stats = (await manager.Ask<TaskStatsReport>(GetTaskStats.Instance))["backup"];
        Assert.Equal((1, 5), (stats.Runs, stats.Missed));
    }
}
