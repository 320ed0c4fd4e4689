using ActorScheduler.Messages;
using ActorScheduler.Tasks;
using ActorScheduler.Testing;
using Akka.Actor;
using Xunit;
using Xunit.Abstractions;

namespace ActorScheduler.Tests;

/// <summary>docs/semantics.md, "Pause, resume and trigger": a pause masks runs and never shifts the schedule.</summary>
public class PauseTests(ITestOutputHelper output) : VirtualTimeTestKit(output)
{
    private const string TenSeconds = "actor-scheduler { periodic-interval = 10s, initial-delay = 10s }";

    [Fact]
    public async Task A_pause_masks_the_runs_of_a_tick_counted_task_and_after_resume_it_runs_on_its_old_ticks()
    {
        var manager = ManualManager(new PeriodicTaskSet("compute").Add("t", _ => { }, EveryTicks(1))); // ticks 2, 4, 6, ...
        Subscribe<PeriodicTaskStarted>();
        manager.Tell(new Tick(1));
        var paused = await manager.Ask<TaskStats>(new PauseTask("t", "maintenance"));
        Assert.Equal((true, "maintenance", (DateTimeOffset?)null), (paused.Paused, paused.PauseNote, paused.PausedUntil));
        for (var tick = 2; tick <= 5; tick++)
            manager.Tell(new Tick(tick));
        var during = await manager.Ask<TaskStatsReport>(GetTaskStats.Instance);
        Assert.Equal((0L, 2L, 0L, 0L), (during["t"].Runs, during["t"].SkippedWhilePaused, during["t"].Missed, during["t"].Overruns));
        Assert.Equal(6, during["t"].NextDueTick); // the schedule went on

        var resumed = await manager.Ask<TaskStats>(new ResumeTask("t"));
        Assert.False(resumed.Paused);
        manager.Tell(new Tick(6));
        Assert.Equal(6, ExpectMsg<PeriodicTaskStarted>().Tick); // no catch-up run for ticks 2 and 4
        ExpectNoMsg(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public async Task A_pause_masks_the_runs_of_a_spaced_task_and_keeps_its_due_times()
    {
        var manager = ManualManager(
            new PeriodicTaskSet("compute").Add("t", _ => { }, new PeriodicTaskOptions { Spacing = TimeSpan.FromSeconds(30) }), TenSeconds);
        Subscribe<PeriodicTaskStarted>();
        await manager.Ask<TaskStats>(new PauseTask("t"));
        for (var tick = 1; tick <= 7; tick++)
            manager.Tell(new Tick(tick)); // due on ticks 3 and 6, both masked
        await manager.Ask<TaskStats>(new ResumeTask("t"));
        manager.Tell(new Tick(8));
        ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        manager.Tell(new Tick(9));
        Assert.Equal(9, ExpectMsg<PeriodicTaskStarted>().Tick);
        var stats = (await manager.Ask<TaskStatsReport>(GetTaskStats.Instance))["t"];
        Assert.Equal((1L, 2L, 0L), (stats.Runs, stats.SkippedWhilePaused, stats.Missed));
    }

    [Fact]
    public async Task A_pause_masks_the_occurrences_of_a_calendar_task_and_keeps_the_ones_after_it()
    {
        var manager = ManualManager(
            new PeriodicTaskSet("compute").Add("t", _ => { }, new PeriodicTaskOptions { Cron = "*/2 * * * *", TimeZone = "Europe/Berlin" }));
        Subscribe<PeriodicTaskStarted>();
        // 60 s ticks; with no ticker nothing wakes the manager between ticks, so an occurrence runs on the tick after it.
        var first = (await manager.Ask<TaskStatsReport>(GetTaskStats.Instance))["t"].NextDueTick!.Value + 1;
        await manager.Ask<TaskStats>(new PauseTask("t"));
        for (var tick = 1; tick <= first; tick++)
            manager.Tell(new Tick(tick));
        var during = (await manager.Ask<TaskStatsReport>(GetTaskStats.Instance))["t"];
        Assert.Equal((first + 1, 1L, 0L), (during.NextDueTick!.Value, during.SkippedWhilePaused, during.Runs)); // the next occurrence, 2 minutes on
        await manager.Ask<TaskStats>(new ResumeTask("t"));
        manager.Tell(new Tick(first + 1));
        manager.Tell(new Tick(first + 2));
        Assert.Equal(first + 2, ExpectMsg<PeriodicTaskStarted>().Tick);
        Assert.Equal(0, (await manager.Ask<TaskStatsReport>(GetTaskStats.Instance))["t"].Missed);
    }

    [Fact]
    public async Task A_pause_with_until_ends_by_itself_with_a_resumed_event_noted_expired()
    {
        var manager = await StartManager(new PeriodicTaskSet("compute").Add("t", _ => { }), TenSeconds);
        Sys.EventStream.Subscribe(TestActor, typeof(PeriodicTaskControlEvent));
        Subscribe<PeriodicTaskStarted>();
        var until = Scheduler.Now + TimeSpan.FromSeconds(25);
        await manager.Ask<TaskStats>(new PauseTask("t", "deploy", until));
        Assert.Equal(until, ExpectMsg<PeriodicTaskPaused>().Until);
        await AdvanceTicks(manager, 2, TimeSpan.FromSeconds(10)); // ticks 1 and 2 (10 s, 20 s) are masked
        ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        Scheduler.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal("expired", ExpectMsg<PeriodicTaskResumed>().Note);
        await AdvanceTicks(manager, 1, TimeSpan.FromSeconds(5));
        Assert.Equal(3, ExpectMsg<PeriodicTaskStarted>().Tick);
        var stats = (await manager.Ask<TaskStatsReport>(GetTaskStats.Instance))["t"];
        Assert.Equal((false, 2L), (stats.Paused, stats.SkippedWhilePaused));
    }

    [Fact]
    public async Task A_trigger_runs_a_paused_task_and_it_stays_paused()
    {
        var manager = ManualManager(new PeriodicTaskSet("compute").Add("t", _ => { }, EveryTicks(100)));
        Subscribe<PeriodicTaskSucceeded>();
        await manager.Ask<TaskStats>(new PauseTask("t"));
        Assert.True((await manager.Ask<TaskTriggered>(new TriggerTask("t"))).Started);
        ExpectMsg<PeriodicTaskSucceeded>();
        Assert.True((await manager.Ask<TaskStatsReport>(GetTaskStats.Instance))["t"].Paused);
    }

    [Fact]
    public async Task A_trigger_during_a_run_of_an_overlap_queue_task_runs_it_after_the_running_one()
    {
        using var gate = new Gate();
        var manager = ManualManager(new PeriodicTaskSet("compute")
            .Add("t", (_, token) => gate.Wait(token), new PeriodicTaskOptions { TicksBetweenRuns = 100, Overlap = OverlapMode.Queue }));
        Subscribe<PeriodicTaskEvent>();
        Assert.True((await manager.Ask<TaskTriggered>(new TriggerTask("t"))).Started);
        ExpectMsg<PeriodicTaskStarted>();
        Assert.True((await manager.Ask<TaskTriggered>(new TriggerTask("t"))).Started); // queued
        ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        gate.Release(2);
        ExpectMsg<PeriodicTaskSucceeded>();
        ExpectMsg<PeriodicTaskStarted>();
        ExpectMsg<PeriodicTaskSucceeded>();
        var stats = (await manager.Ask<TaskStatsReport>(GetTaskStats.Instance))["t"];
        Assert.Equal((2L, 0L), (stats.Runs, stats.Overruns));
    }

    [Fact]
    public async Task Pause_and_resume_publish_control_events_and_a_trigger_publishes_one_too()
    {
        var manager = ManualManager(new PeriodicTaskSet("compute").Add("t", _ => { }, EveryTicks(100)));
        Sys.EventStream.Subscribe(TestActor, typeof(PeriodicTaskControlEvent));
        await manager.Ask<TaskStats>(new PauseTask("t", "why not"));
        Assert.Equal(("t", "why not", "paused"), ExpectMsg<PeriodicTaskPaused>() is var p ? (p.Task, p.Note, p.EventName) : default);
        await manager.Ask<TaskTriggered>(new TriggerTask("t"));
        Assert.Equal("triggered", ExpectMsg<PeriodicTaskTriggered>().EventName);
        await manager.Ask<TaskStats>(new ResumeTask("t"));
        Assert.Null(ExpectMsg<PeriodicTaskResumed>().Note);
    }

    [Fact]
    public async Task Pause_after_failures_counts_occurrences_after_their_retries_and_a_retry_that_succeeds_is_no_failure()
    {
        // Attempts of occurrences 1 to 4: fail fail | fail succeed | fail fail | fail fail.
        var results = new Queue<bool>([false, false, false, true, false, false, false, false]);
        var manager = ManualManager(new PeriodicTaskSet("compute").Add("t", _ =>
        {
            lock (results)
                if (!results.Dequeue())
                    throw new InvalidOperationException("x");
        }, new PeriodicTaskOptions { TicksBetweenRuns = 100, Retries = 1, RetryBackoff = TimeSpan.FromSeconds(10), PauseAfterFailures = 2 }));
        var paused = CreateTestProbe();
        Sys.EventStream.Subscribe(paused.Ref, typeof(PeriodicTaskPaused));
        Subscribe<PeriodicTaskEvent>();

        for (var occurrence = 1; occurrence <= 4; occurrence++)
        {
            await manager.Ask<TaskTriggered>(new TriggerTask("t"));
            Assert.Equal(1, ExpectMsg<PeriodicTaskStarted>().Attempt);
            Assert.Equal(1, ExpectMsg<PeriodicTaskFailed>().Attempt);
            Scheduler.Advance(TimeSpan.FromSeconds(10));
            Assert.Equal(2, ExpectMsg<PeriodicTaskStarted>().Attempt);
            ExpectMsg<PeriodicTaskEvent>(e => e is PeriodicTaskSucceeded or PeriodicTaskFailed && e.Attempt == 2);
            // The runner tells the manager of the end before it publishes it: these stats include the occurrence.
            var stats = (await manager.Ask<TaskStatsReport>(GetTaskStats.Instance))["t"];
            Assert.True(stats.Paused == (occurrence == 4), $"paused after occurrence {occurrence}: {stats.Paused}");
        }

        Assert.Equal("paused after 2 consecutive failures", paused.ExpectMsg<PeriodicTaskPaused>().Note);
        var final = (await manager.Ask<TaskStatsReport>(GetTaskStats.Instance))["t"];
        Assert.Equal((4L, 1L, 3L, 4L), (final.Runs, final.Succeeded, final.Failed, final.Retries));
    }

    [Fact]
    public async Task A_timed_out_occurrence_counts_as_a_failure_toward_pause_after_failures_and_as_timed_out()
    {
        var manager = ManualManager(new PeriodicTaskSet("compute").Add("t",
            (_, token) => new ValueTask(Task.Delay(Timeout.Infinite, token)),
            new PeriodicTaskOptions { TicksBetweenRuns = 100, Timeout = TimeSpan.FromSeconds(5), PauseAfterFailures = 2 }));
        var paused = CreateTestProbe();
        Sys.EventStream.Subscribe(paused.Ref, typeof(PeriodicTaskPaused));
        Subscribe<PeriodicTaskEvent>();

        for (var occurrence = 1; occurrence <= 2; occurrence++)
        {
            await manager.Ask<TaskTriggered>(new TriggerTask("t"));
            ExpectMsg<PeriodicTaskStarted>();
            Scheduler.Advance(TimeSpan.FromSeconds(5));
            ExpectMsg<PeriodicTaskTimedOut>();
            // The run ends when its body has honoured the cancellation, a moment after the timed-out event.
            var expected = occurrence;
            await AwaitAssertAsync(async () =>
            {
                var stats = (await manager.Ask<TaskStatsReport>(GetTaskStats.Instance))["t"];
                Assert.Equal(((long)expected, false), (stats.TimedOut, stats.Running));
            }, TimeSpan.FromSeconds(30));
            if (occurrence == 1)
                Assert.False((await manager.Ask<TaskStatsReport>(GetTaskStats.Instance))["t"].Paused);
        }

        Assert.Equal("paused after 2 consecutive failures", paused.ExpectMsg<PeriodicTaskPaused>().Note);
        var final = (await manager.Ask<TaskStatsReport>(GetTaskStats.Instance))["t"];
        Assert.Equal((true, 2L, 0L), (final.Paused, final.TimedOut, final.Failed));
    }

    [Fact]
    public async Task A_run_cancelled_by_a_stop_does_not_count_toward_pause_after_failures()
    {
        using var gate = new Gate();
        var manager = ManualManager(new PeriodicTaskSet("compute").Add("t", (_, token) => gate.Wait(token),
            new PeriodicTaskOptions { TicksBetweenRuns = 100, PauseAfterFailures = 1 }));
        Subscribe<PeriodicTaskStarted>();
        await manager.Ask<TaskTriggered>(new TriggerTask("t"));
        ExpectMsg<PeriodicTaskStarted>();
        manager.Tell(StopTasks.Instance);
        Assert.Equal(0, ExpectMsg<TasksStopped>().StillRunning); // the body honoured the stop's cancellation
        var stats = (await manager.Ask<TaskStatsReport>(GetTaskStats.Instance))["t"];
        Assert.Equal((1L, 1L, 0L, false), (stats.Runs, stats.Cancelled, stats.Failed, stats.Paused));
    }

    [Fact]
    public async Task A_pause_of_an_unknown_task_or_with_an_until_in_the_past_is_refused()
    {
        var manager = ManualManager(new PeriodicTaskSet("compute").Add("backup", _ => { }));
        var unknown = await Assert.ThrowsAsync<PeriodicTaskNotFoundException>(() => manager.Ask<TaskStats>(new PauseTask("bakup")));
        Assert.Contains("did you mean 'backup'?", unknown.Message);
        var past = await Assert.ThrowsAsync<ArgumentException>(
            () => manager.Ask<TaskStats>(new PauseTask("backup", Until: Scheduler.Now - TimeSpan.FromMinutes(1))));
        Assert.StartsWith("until:", past.Message);
        Assert.False((await manager.Ask<TaskStatsReport>(GetTaskStats.Instance))["backup"].Paused);
    }
}
