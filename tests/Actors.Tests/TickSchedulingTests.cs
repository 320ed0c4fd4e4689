using ActorScheduler.Runtime;
using ActorScheduler.Messages;
using ActorScheduler.Scheduling;
using ActorScheduler.Tasks;
using ActorScheduler.Testing;
using Akka.Actor;
using Akka.Event;
using Akka.TestKit;
using Xunit;
using Xunit.Abstractions;

namespace ActorScheduler.Tests;

/// <summary>The manager and its ticker under Akka's TestScheduler: virtual time advanced one interval at a time.</summary>
public class TickSchedulingTests(ITestOutputHelper output) : VirtualTimeTestKit(output)
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(60);

    private List<long> StartedTicks(string task, int count)
    {
        var ticks = new List<long>();
        for (var i = 0; i < count; i++)
            ticks.Add(ExpectMsg<PeriodicTaskStarted>(s => s.Task == task).Tick);
        return ticks;
    }

    [Fact]
    public async Task Ticks_between_runs_10_runs_on_ticks_11_and_22_of_the_ticker()
    {
        // Each run is awaited to its end before time moves on, so that a slow test machine never turns the next run
        // into an overrun.
        Subscribe<PeriodicTaskSucceeded>();
        var manager = await StartManager(new PeriodicTaskSet("compute").Add("sync-power-states", _ => { }, EveryTicks(10)));
        await AdvanceTicks(manager, 10, Interval);
        ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        await AdvanceTicks(manager, 1, Interval);
        Assert.Equal(11, ExpectMsg<PeriodicTaskSucceeded>().Tick);
        await AdvanceTicks(manager, 10, Interval);
        ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        await AdvanceTicks(manager, 1, Interval);
        Assert.Equal(22, ExpectMsg<PeriodicTaskSucceeded>().Tick);
    }

    [Fact]
    public async Task The_first_tick_comes_after_initial_delay_then_every_interval()
    {
        Subscribe<PeriodicTaskSucceeded>();
        var manager = await StartManager(
            new PeriodicTaskSet("compute").Add("t", _ => { }),
            "actor-scheduler { periodic-interval = 10s, initial-delay = 25s }");
        Scheduler.Advance(TimeSpan.FromSeconds(24));
        ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        Scheduler.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, ExpectMsg<PeriodicTaskSucceeded>().Tick);
        Scheduler.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(2, ExpectMsg<PeriodicTaskSucceeded>().Tick);
        Assert.Equal(2, (await manager.Ask<TaskStatsReport>(GetTaskStats.Instance)).CurrentTick);
    }

    [Fact]
    public async Task Run_immediately_runs_at_tick_0_and_scheduled_time_is_virtual()
    {
        Subscribe<PeriodicTaskSucceeded>();
        var start = Scheduler.Now;
        var manager = await StartManager(new PeriodicTaskSet("compute")
            .Add("t", _ => { }, new PeriodicTaskOptions { TicksBetweenRuns = 2, RunImmediately = true }));
        var first = ExpectMsg<PeriodicTaskSucceeded>();
        Assert.Equal(0, first.Tick);
        await AdvanceTicks(manager, 3, Interval);
        var second = ExpectMsg<PeriodicTaskSucceeded>();
        Assert.Equal(3, second.Tick);
        Assert.Equal(start + Interval * 3, second.ScheduledAt);
    }

    [Fact]
    public async Task Spaced_task_at_9s_on_a_1s_interval_has_run_floor_t_over_9_times_at_t()
    {
        var manager = await StartManager(
            new PeriodicTaskSet("compute").Add("t", _ => { }, new PeriodicTaskOptions { Spacing = TimeSpan.FromSeconds(9) }),
            "actor-scheduler.periodic-interval = 1s");
        Subscribe<PeriodicTaskSucceeded>();
        for (var t = 1; t <= 30; t++)
        {
            await AdvanceTicks(manager, 1, TimeSpan.FromSeconds(1));
            if (t % 9 == 0)
                Assert.Equal(t, ExpectMsg<PeriodicTaskSucceeded>().Tick);
            var stats = await manager.Ask<TaskStatsReport>(GetTaskStats.Instance);
            Assert.Equal(t / 9, stats["t"].Runs);
        }
    }

    [Fact]
    public async Task Disabled_tasks_never_run_and_are_listed_as_disabled()
    {
        Subscribe<PeriodicTaskStarted>();
        var manager = await StartManager(new PeriodicTaskSet("compute")
            .Add("off", _ => { }, new PeriodicTaskOptions { Enabled = false, RunImmediately = true })
            .Add("negative", _ => { }, new PeriodicTaskOptions { Spacing = TimeSpan.FromSeconds(-1) }));
        await AdvanceTicks(manager, 3, Interval);
        ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        var stats = await manager.Ask<TaskStatsReport>(GetTaskStats.Instance);
        Assert.All(stats.Tasks, t => Assert.Equal("disabled", t.Schedule));
        Assert.All(stats.Tasks, t => Assert.Null(t.NextDueTick));
    }

    [Fact]
    public async Task Due_tasks_are_dispatched_in_registration_order_with_novas_log_lines()
    {
        Sys.EventStream.Subscribe(TestActor, typeof(Debug));
        var manager = await StartManager(new PeriodicTaskSet("compute")
            .Add("c", _ => { })
            .Add("a", _ => { }, EveryTicks(1))
            .Add("b", _ => { }));
        await AdvanceTicks(manager, 2, Interval);
        var lines = ReceiveWhile(TimeSpan.FromMilliseconds(300), o => ((Debug)o).Message.ToString()!)
            .Where(l => l.StartsWith("Running periodic task") || l.StartsWith("Skipping"))
            .ToList();
        Assert.Equal(
            [
                "Skipping compute.c, 1 ticks left until next run", "Skipping compute.a, 2 ticks left until next run",
                "Skipping compute.b, 1 ticks left until next run",
                "Running periodic task compute.c", "Skipping compute.a, 1 ticks left until next run", "Running periodic task compute.b",
                "Running periodic task compute.c", "Running periodic task compute.a", "Running periodic task compute.b",
            ],
            lines);
    }

    [Fact]
    public async Task A_tick_that_does_not_increase_is_ignored_with_a_warning()
    {
        var manager = Sys.ActorOf(PeriodicTasks.Props(
            new PeriodicTaskSet("compute").Add("t", _ => { }), Settings(), withTicker: false));
        Subscribe<PeriodicTaskStarted>();
        manager.Tell(new Tick(0));
        manager.Tell(new Tick(1));
        ExpectMsg<PeriodicTaskStarted>();
        await EventFilter.Warning(contains: "tick 1 ignored").ExpectOneAsync(() => { manager.Tell(new Tick(1)); return Task.CompletedTask; });
        ExpectNoMsg(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public async Task Ticks_count_from_when_the_application_started_the_set_not_from_when_its_manager_got_a_thread()
    {
        // The set is started at T0; its manager is constructed 4 s later (virtual time standing in for the wait for a
        // pool thread). Tick 0 is still T0, and tick 1 is due one interval after T0, not after the construction.
        Subscribe<PeriodicTaskStarted>();
        var start = SetStart.Now(Sys);
        Scheduler.Advance(TimeSpan.FromSeconds(4));
        var manager = Sys.ActorOf(PeriodicTasks.ManagerProps(
            new PeriodicTaskSet("compute").Add("t", _ => { }, new PeriodicTaskOptions { RunImmediately = true }),
            Settings("actor-scheduler.periodic-interval = 10s"), withTicker: true, start));
        await manager.Ask<Ticked>(new NotifyWhenTicked(0), RemainingOrDefault);
        Assert.Equal(start.At, ExpectMsg<PeriodicTaskStarted>().ScheduledAt);

        Scheduler.Advance(TimeSpan.FromSeconds(5));
        ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        Scheduler.Advance(TimeSpan.FromSeconds(1));
        var first = ExpectMsg<PeriodicTaskStarted>();
        Assert.Equal((1L, start.At + TimeSpan.FromSeconds(10)), (first.Tick, first.ScheduledAt));
        Assert.Equal(start.At + TimeSpan.FromSeconds(10), first.StartedAt);
    }

    [Fact]
    public void A_manager_restarted_by_its_supervisor_counts_ticks_from_its_restart()
    {
        // Its ticks start again at 0, so the start taken when the application started the set no longer applies.
        var parent = CreateTestProbe();
        var start = SetStart.Now(Sys);
        var set = new PeriodicTaskSet("compute")
            .Add("boom", _ => throw new InvalidOperationException("kaput"), new PeriodicTaskOptions { RunImmediately = true });
        var manager = parent.ChildActorOf(
            PeriodicTasks.ManagerProps(set, Settings("actor-scheduler.raise-on-error = on"), withTicker: false, start),
            new OneForOneStrategy(_ => Directive.Restart));
        Subscribe<PeriodicTaskStarted>();
        Scheduler.Advance(TimeSpan.FromSeconds(5));
        manager.Tell(new Tick(0));
        Assert.Equal(start.At, ExpectMsg<PeriodicTaskStarted>().ScheduledAt);

        // The run fails, the failure escalates and the parent restarts the manager, 5 s after the start.
        AwaitAssert(() =>
        {
            manager.Tell(new Tick(0));
            Assert.Equal(start.At + TimeSpan.FromSeconds(5), ExpectMsg<PeriodicTaskStarted>(TimeSpan.FromMilliseconds(300)).ScheduledAt);
        });
    }
}
