using ActorScheduler.Messages;
using ActorScheduler.Tasks;
using ActorScheduler.Testing;
using Akka.Actor;
using Akka.TestKit;
using Xunit;
using Xunit.Abstractions;

namespace ActorScheduler.Tests;

/// <summary>
/// A wall clock for virtual-time tests: Akka's TestScheduler's time from a chosen start, plus the steps a test makes.
/// (FakeTimeProvider cannot go back in time and does not follow the TestScheduler, so it cannot stand in here.)
/// </summary>
internal sealed class SteppedClock : TimeProvider
{
    private readonly IScheduler _scheduler;
    private long _offsetTicks;

    public SteppedClock(IScheduler scheduler, DateTimeOffset start)
    {
        _scheduler = scheduler;
        _offsetTicks = (start - scheduler.Now).Ticks;
    }

    public override DateTimeOffset GetUtcNow() => (_scheduler.Now + TimeSpan.FromTicks(Interlocked.Read(ref _offsetTicks))).ToUniversalTime();

    /// <summary>Steps the wall clock forward (or back, when negative); the monotonic clock does not move.</summary>
    public void Step(TimeSpan by) => Interlocked.Add(ref _offsetTicks, by.Ticks);
}

/// <summary>Helpers for tests of calendar wakes under the TestScheduler.</summary>
internal static class ClockSteps
{
    /// <summary>
    /// Returns once the manager has asked its ticker for its next wake and the ticker has armed it, so that advancing
    /// virtual time fires it: a stats query goes through the manager, then an Identify through the ticker.
    /// </summary>
    public static async Task WakeArmed(ActorSystem system, IActorRef manager)
    {
        await manager.Ask<TaskStatsReport>(GetTaskStats.Instance, TimeSpan.FromSeconds(3));
        await system.ActorSelection(manager.Path / "ticker").Ask<ActorIdentity>(new Identify(null), TimeSpan.FromSeconds(3));
    }
}

/// <summary>
/// docs/semantics.md, "Calendar tasks": a step of the wall clock (forward, back, or a suspend) in virtual time, with a
/// stepped <see cref="TimeProvider"/> beside Akka's TestScheduler. Ticks every 60 s; the wall clock starts at 00:00:30.
/// </summary>
public class ClockStepTests(ITestOutputHelper output) : VirtualTimeTestKit(output)
{
    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);
    private static readonly DateTimeOffset WallStart = new(2026, 3, 1, 0, 0, 30, TimeSpan.Zero);

    private static DateTimeOffset At(int hour, int minute, int second = 0) => new(2026, 3, 1, hour, minute, second, TimeSpan.Zero);

    private static PeriodicTaskOptions EveryTenMinutes(MisfirePolicy misfire = MisfirePolicy.Coalesce) =>
        new() { Cron = "*/10 * * * *", Misfire = misfire };

    private async Task<(IActorRef Manager, SteppedClock Clock)> Start(PeriodicTaskSet set)
    {
        var clock = new SteppedClock(Sys.Scheduler, WallStart);
        var settings = Settings("actor-scheduler.periodic-interval = 60s").WithTimeProvider(clock);
        var manager = Sys.ActorOf(PeriodicTasks.Props(set, settings), PeriodicTasks.ActorName(set.Name));
        await manager.Ask<Ticked>(new NotifyWhenTicked(0), RemainingOrDefault);
        return (manager, clock);
    }

    /// <summary>Advances virtual time one interval at a time, each with the wake armed first, until tick <paramref name="tick"/>.</summary>
    private async Task AdvanceTo(IActorRef manager, long tick)
    {
        var current = (await manager.Ask<TaskStatsReport>(GetTaskStats.Instance)).CurrentTick;
        while (current < tick)
        {
            await ClockSteps.WakeArmed(Sys, manager);
            Scheduler.Advance(Minute);
            await manager.Ask<Ticked>(new NotifyWhenTicked(++current), RemainingOrDefault);
        }

        await ClockSteps.WakeArmed(Sys, manager); // the last tick's dispatch is done
    }

    private async Task<TaskStats> Stats(IActorRef manager, string task) => (await manager.Ask<TaskStatsReport>(GetTaskStats.Instance))[task];

    [Fact]
    public async Task A_calendar_task_runs_at_its_occurrence_on_the_stepped_wall_clock()
    {
        Subscribe<PeriodicTaskStarted>();
        var (manager, _) = await Start(new PeriodicTaskSet("ops").Add("report", _ => { }, EveryTenMinutes()));
        Assert.Equal((9L, At(0, 10)), ((await Stats(manager, "report")).NextDueTick, (await Stats(manager, "report")).NextDueAt));
        await AdvanceTo(manager, 10); // 00:10 is 30 s before tick 10
        var run = ExpectMsg<PeriodicTaskStarted>();
        Assert.Equal((9L, At(0, 10)), (run.Tick, run.ScheduledAt));
    }

    [Fact]
    public async Task A_forward_step_is_logged_once_and_coalesces_the_skipped_occurrences_into_one_run_counting_the_rest_as_missed()
    {
        Subscribe<PeriodicTaskStarted>();
        Subscribe<PeriodicTaskMissed>();
        var set = new PeriodicTaskSet("ops")
            .Add("report", _ => { }, EveryTenMinutes())
            .Add("sync", _ => { }, new PeriodicTaskOptions { Spacing = 2 * Minute });
        var (manager, clock) = await Start(set);
        await AdvanceTo(manager, 1);
        clock.Step(TimeSpan.FromHours(1)); // at 00:01:30, to 01:01:30

        await EventFilter.Warning(contains: "the wall clock stepped forward by 3600 s").ExpectOneAsync(() => AdvanceTo(manager, 2));
        // Tick 2 is at 01:02:30: 00:10 ... 01:00 (six occurrences) passed; one run, five missed.
        Assert.Equal(5, ExpectMsg<PeriodicTaskMissed>().Count);
        var runs = new[] { ExpectMsg<PeriodicTaskStarted>(), ExpectMsg<PeriodicTaskStarted>() }.ToDictionary(r => r.Task);
        Assert.Equal((2L, At(1, 2, 30)), (runs["report"].Tick, runs["report"].ScheduledAt));
        Assert.Equal(2L, runs["sync"].Tick); // spaced: its monotonic cadence, due at 120 s
        var report = await Stats(manager, "report");
        Assert.Equal((1L, 5L, At(1, 10)), (report.Runs, report.Missed, report.NextDueAt));
        Assert.Equal(4, (await Stats(manager, "sync")).NextDueTick);

        await EventFilter.Warning(contains: "wall clock").ExpectAsync(0, () => AdvanceTo(manager, 4));
    }

    [Fact]
    public async Task After_a_backward_step_no_occurrence_runs_twice()
    {
        Subscribe<PeriodicTaskStarted>();
        var (manager, clock) = await Start(new PeriodicTaskSet("ops").Add("report", _ => { }, EveryTenMinutes()));
        await AdvanceTo(manager, 10);
        Assert.Equal(At(0, 10), ExpectMsg<PeriodicTaskStarted>().ScheduledAt);
        clock.Step(TimeSpan.FromMinutes(-8)); // at 00:10:30, back to 00:02:30

        await EventFilter.Warning(contains: "the wall clock stepped back by 480 s").ExpectOneAsync(() => AdvanceTo(manager, 11));
        // The wall clock passes 00:10 again at 1050 s (between ticks 17 and 18): nothing runs; 00:20 runs at 1650 s.
        Assert.Equal(At(0, 20), (await Stats(manager, "report")).NextDueAt);
        await AdvanceTo(manager, 27);
        ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        await AdvanceTo(manager, 28);
        var run = ExpectMsg<PeriodicTaskStarted>();
        Assert.Equal((27L, At(0, 20)), (run.Tick, run.ScheduledAt));
        Assert.Equal((2L, 0L), ((await Stats(manager, "report")).Runs, (await Stats(manager, "report")).Missed));
    }

    [Fact]
    public async Task After_a_suspend_the_skipped_occurrences_follow_the_misfire_policy_and_tick_counted_tasks_keep_counting()
    {
        Subscribe<PeriodicTaskStarted>();
        Subscribe<PeriodicTaskMissed>();
        var set = new PeriodicTaskSet("ops")
            .Add("report", _ => { }, EveryTenMinutes(MisfirePolicy.Skip))
            .Add("poll", _ => { }, new PeriodicTaskOptions { TicksBetweenRuns = 1 });
        var (manager, clock) = await Start(set);
        await AdvanceTo(manager, 1);
        clock.Step(TimeSpan.FromHours(2)); // suspended at 00:01:30: the monotonic clock stands still, the wall clock goes on

        await EventFilter.Warning(contains: "the wall clock stepped forward by 7200 s").ExpectOneAsync(() => AdvanceTo(manager, 2));
        // At 02:02:30: 00:10 ... 02:00 (twelve occurrences) passed; skip gives them no run.
        Assert.Equal(12, ExpectMsg<PeriodicTaskMissed>().Count);
        Assert.Equal(("poll", 2L), (ExpectMsg<PeriodicTaskStarted>() is var poll ? (poll.Task, poll.Tick) : default));
        ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        var report = await Stats(manager, "report");
        Assert.Equal((0L, 12L, At(2, 10)), (report.Runs, report.Missed, report.NextDueAt));
        Assert.Equal(4, (await Stats(manager, "poll")).NextDueTick);
    }
}
