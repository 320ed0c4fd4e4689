using ActorScheduler.Configuration;
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
    public async Task A_calendar_task_runs_at_its_occurrence_between_ticks_and_stats_show_the_occurrence()
    {
        Subscribe<PeriodicTaskSucceeded>();
        var start = Scheduler.Now;
        var manager = await StartManager(EveryFiveSeconds(), "actor-scheduler.periodic-interval = 60s");
        // The first whole 5 s after the start: long before tick 1, at 60 s.
        var occurrence = new DateTimeOffset(start.UtcTicks - start.UtcTicks % (5 * TimeSpan.TicksPerSecond), TimeSpan.Zero).AddSeconds(5);
        var stats = (await manager.Ask<TaskStatsReport>(GetTaskStats.Instance))["backup"];
        Assert.Equal((0L, occurrence), (stats.NextDueTick, stats.NextDueAt));
        Assert.Equal("every 5 s (UTC)", stats.Schedule);

        await ClockSteps.WakeArmed(Sys, manager);
        Scheduler.Advance(occurrence - start - TimeSpan.FromMilliseconds(1));
        ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        Scheduler.Advance(TimeSpan.FromMilliseconds(1));
        var run = ExpectMsg<PeriodicTaskSucceeded>();
        Assert.Equal((0L, occurrence), (run.Tick, run.ScheduledAt));
        stats = (await manager.Ask<TaskStatsReport>(GetTaskStats.Instance))["backup"];
        Assert.Equal((0L, occurrence + 5 * Second), (stats.NextDueTick, stats.NextDueAt));
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

/// <summary>Calendar wakes on the real clock: a run at its occurrence whatever the interval (generous limits: function, not speed).</summary>
public class CalendarWakeTests(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(output: output)
{
    [Theory]
    [InlineData("precise")]
    [InlineData("scheduler")]
    public async Task A_calendar_task_starts_within_milliseconds_of_its_occurrence_with_a_60s_tick(string source)
    {
        Sys.EventStream.Subscribe(TestActor, typeof(PeriodicTaskStarted));
        var settings = PeriodicTaskSettings.Create(Akka.Configuration.ConfigurationFactory.ParseString(
            $"actor-scheduler {{ periodic-interval = 60s, tick-source = {source} }}"));
        Sys.ActorOf(PeriodicTasks.Props(new PeriodicTaskSet("wake").Add("t", _ => { }, new PeriodicTaskOptions { Cron = "* * * * * *" }), settings));

        // The first run may be late (a fresh process starts slowly), and a busy machine may delay any one: the best of the
        // next three shows whether the wake comes at the occurrence.
        ExpectMsg<PeriodicTaskStarted>(TimeSpan.FromSeconds(5));
        var runs = Enumerable.Range(0, 3).Select(_ => ExpectMsg<PeriodicTaskStarted>(TimeSpan.FromSeconds(5))).ToList();
        Assert.All(runs, r => Assert.Equal(0, r.ScheduledAt.UtcTicks % TimeSpan.TicksPerSecond)); // occurrences: whole seconds
        var late = runs.Min(r => r.StartedAt - r.ScheduledAt);
        Output?.WriteLine($"{source}: started {late.TotalMilliseconds:0.###} ms after its occurrence (best of three)");
        Assert.True(late >= TimeSpan.FromMilliseconds(-2) && late < TimeSpan.FromMilliseconds(50), $"started {late.TotalMilliseconds} ms after its occurrence");
    }
}
