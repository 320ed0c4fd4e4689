using System.Diagnostics.Metrics;
using ActorScheduler.Runtime;
using ActorScheduler.Messages;
using ActorScheduler.Tasks;
using ActorScheduler.Testing;
using Akka.Actor;
using Xunit;
using Xunit.Abstractions;

namespace ActorScheduler.Tests;

/// <summary>Section 3, item 11 (stats and metrics), and the control messages: trigger, graceful stop, tick notification.</summary>
public class StatsAndControlTests(ITestOutputHelper output) : VirtualTimeTestKit(output)
{
    [Fact]
    public async Task Stats_count_runs_outcomes_durations_and_the_next_due_tick_and_time()
    {
        var fail = false;
        var manager = ManualManager(new PeriodicTaskSet("compute")
            .Add("t", _ => { if (fail) throw new InvalidOperationException("x"); }, EveryTicks(1)),
            "actor-scheduler.periodic-interval = 10s");
        Subscribe<PeriodicTaskEvent>();
        manager.Tell(new Tick(1));
        manager.Tell(new Tick(2));
        ExpectMsg<PeriodicTaskStarted>();
        ExpectMsg<PeriodicTaskSucceeded>();
        fail = true;
        manager.Tell(new Tick(3));
        manager.Tell(new Tick(4));
        ExpectMsg<PeriodicTaskStarted>();
        ExpectMsg<PeriodicTaskFailed>();
        var report = await manager.Ask<TaskStatsReport>(GetTaskStats.Instance);
        var stats = report["t"];
        Assert.Equal(4, report.CurrentTick);
        Assert.Equal("every 2 ticks = 20 s", stats.Schedule);
        Assert.Equal((2L, 1L, 1L, 0L, 0L, 0L, false), (stats.Runs, stats.Succeeded, stats.Failed, stats.TimedOut, stats.Overruns, stats.Missed, stats.Running));
        Assert.NotNull(stats.LastStart);
        Assert.NotNull(stats.LastDuration);
        Assert.True(stats.MaxDuration >= stats.MeanDuration);
        Assert.Equal(6, stats.NextDueTick);
        var startedAt = stats.NextDueAt!.Value - TimeSpan.FromSeconds(10) * 6;
        Assert.Equal(TimeSpan.Zero, startedAt - Scheduler.Now); // nominal tick 6 = start + initial-delay + 5 intervals
    }

    [Fact]
    public async Task Skipped_tick_numbers_publish_a_missed_event_and_count_missed()
    {
        var manager = ManualManager(new PeriodicTaskSet("compute").Add("t", _ => { }));
        Subscribe<PeriodicTaskMissed>();
        manager.Tell(new Tick(1));
        manager.Tell(new Tick(5));
        var missed = ExpectMsg<PeriodicTaskMissed>();
        Assert.Equal((5L, 3), (missed.Tick, missed.Count));
        Assert.Equal(3, (await manager.Ask<TaskStatsReport>(GetTaskStats.Instance))["t"].Missed);
    }

    [Fact]
    public async Task Trigger_runs_a_task_now_and_an_unknown_name_is_refused_with_a_suggestion()
    {
        var manager = ManualManager(new PeriodicTaskSet("compute").Add("sync-power-states", _ => { }, EveryTicks(100)));
        Subscribe<PeriodicTaskSucceeded>();
        var triggered = await manager.Ask<TaskTriggered>(new TriggerTask("sync-power-states"));
        Assert.Equal("sync-power-states", triggered.Task);
        Assert.Equal("sync-power-states", ExpectMsg<PeriodicTaskSucceeded>().Task);
        var error = await Assert.ThrowsAsync<PeriodicTaskNotFoundException>(() => manager.Ask<TaskTriggered>(new TriggerTask("sync-power-state")));
        Assert.Contains("did you mean 'sync-power-states'?", error.Message);
    }

    [Fact]
    public async Task A_trigger_runs_outside_the_schedule_and_leaves_the_next_due_tick_unchanged()
    {
        var manager = ManualManager(new PeriodicTaskSet("compute").Add("sync", _ => { }, EveryTicks(4))); // due on tick 5
        Subscribe<PeriodicTaskSucceeded>();
        manager.Tell(new Tick(1));
        var triggered = await manager.Ask<TaskTriggered>(new TriggerTask("sync"));
        Assert.Equal((1L, true), (triggered.Tick, triggered.Started));
        Assert.Equal(1, ExpectMsg<PeriodicTaskSucceeded>().Tick);
        Assert.Equal(5, (await manager.Ask<TaskStatsReport>(GetTaskStats.Instance))["sync"].NextDueTick);
        for (var tick = 2; tick <= 4; tick++)
            manager.Tell(new Tick(tick));
        ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        manager.Tell(new Tick(5));
        Assert.Equal(5, ExpectMsg<PeriodicTaskSucceeded>().Tick);
    }

    [Fact]
    public async Task A_trigger_during_a_run_of_an_overlap_skip_task_does_not_start_it_and_counts_an_overrun()
    {
        using var gate = new Gate();
        var manager = ManualManager(new PeriodicTaskSet("compute").Add("slow", (_, t) => gate.Wait(t), EveryTicks(100)));
        Subscribe<PeriodicTaskEvent>();
        Assert.True((await manager.Ask<TaskTriggered>(new TriggerTask("slow"))).Started);
        ExpectMsg<PeriodicTaskStarted>();
        Assert.False((await manager.Ask<TaskTriggered>(new TriggerTask("slow"))).Started);
        ExpectMsg<PeriodicTaskOverrun>();
        gate.Release();
        ExpectMsg<PeriodicTaskSucceeded>();
        var stats = (await manager.Ask<TaskStatsReport>(GetTaskStats.Instance))["slow"];
        Assert.Equal((1L, 1L), (stats.Runs, stats.Overruns));
    }

    [Fact]
    public async Task Stop_cancels_runs_in_flight_waits_for_them_and_stops_dispatching()
    {
        var manager = ManualManager(new PeriodicTaskSet("compute").Add("t", (_, token) => new ValueTask(Task.Delay(Timeout.Infinite, token))));
        Subscribe<PeriodicTaskEvent>();
        manager.Tell(new Tick(1));
        ExpectMsg<PeriodicTaskStarted>();
        var stopped = await manager.Ask<TasksStopped>(StopTasks.Instance, TimeSpan.FromSeconds(3));
        Assert.Equal(0, stopped.StillRunning);
        var failed = ExpectMsg<PeriodicTaskFailed>();
        Assert.Contains("cancelled: task set compute is stopping", failed.Error.Message);
        var stats = (await manager.Ask<TaskStatsReport>(GetTaskStats.Instance))["t"];
        Assert.Equal((1L, 1L, 0L), (stats.Runs, stats.Cancelled, stats.Failed)); // a stop is not the task's failure
        manager.Tell(new Tick(2));
        ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public async Task Stop_gives_up_on_a_run_that_ignores_cancellation_after_shutdown_timeout()
    {
        using var gate = new Gate();
        var manager = ManualManager(
            new PeriodicTaskSet("compute").Add("t", (_, t) => gate.Wait(t, honourCancellation: false)),
            "actor-scheduler.shutdown-timeout = 2s");
        Subscribe<PeriodicTaskStarted>();
        manager.Tell(new Tick(1));
        ExpectMsg<PeriodicTaskStarted>();
        var stopping = manager.Ask<TasksStopped>(StopTasks.Instance, TimeSpan.FromSeconds(3));
        await manager.Ask<TaskStatsReport>(GetTaskStats.Instance); // the stop has been received and its timer armed
        Assert.False(stopping.IsCompleted);
        Scheduler.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(1, (await stopping).StillRunning);
        gate.Release();
    }

    [Fact]
    public async Task Notify_when_ticked_answers_once_the_tick_is_processed()
    {
        var manager = ManualManager(new PeriodicTaskSet("compute").Add("t", _ => { }));
        var waiting = manager.Ask<Ticked>(new NotifyWhenTicked(2));
        manager.Tell(new Tick(1));
        await manager.Ask<TaskStatsReport>(GetTaskStats.Instance);
        Assert.False(waiting.IsCompleted);
        manager.Tell(new Tick(2));
        Assert.Equal(2, (await waiting).Tick);
        Assert.Equal(2, (await manager.Ask<Ticked>(new NotifyWhenTicked(1))).Tick);
    }

    [Fact]
    public void Runs_are_exposed_as_metrics_of_meter_ActorScheduler()
    {
        var measurements = new List<(string Instrument, long Value, string? Task, string? Outcome)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == PeriodicTaskMetrics.MeterName)
                l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var tagMap = new Dictionary<string, string?>();
            foreach (var tag in tags)
                tagMap[tag.Key] = tag.Value as string;
            if (tagMap.GetValueOrDefault("set") == "metered")
                lock (measurements) measurements.Add((instrument.Name, value, tagMap.GetValueOrDefault("task"), tagMap.GetValueOrDefault("outcome")));
        });
        listener.Start();
        var manager = ManualManager(new PeriodicTaskSet("metered").Add("t", _ => { }));
        Subscribe<PeriodicTaskSucceeded>();
        manager.Tell(new Tick(1));
        ExpectMsg<PeriodicTaskSucceeded>();
        AwaitAssert(() =>
        {
            lock (measurements)
                Assert.Contains(("actor_scheduler.task.runs", 1L, "t", "succeeded"), measurements);
        });
    }
}
