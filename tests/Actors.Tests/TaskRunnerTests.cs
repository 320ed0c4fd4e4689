using ActorScheduler.Runtime;
using ActorScheduler.Messages;
using ActorScheduler.Tasks;
using ActorScheduler.Testing;
using Akka.Actor;
using Akka.TestKit;
using Xunit;
using Xunit.Abstractions;

namespace ActorScheduler.Tests;

/// <summary>docs/semantics.md: isolation, overlap and timeout, with ticks sent by the test.</summary>
public class TaskRunnerTests(ITestOutputHelper output) : VirtualTimeTestKit(output)
{
    [Fact]
    public void A_hung_task_does_not_delay_another_tasks_dispatch_by_even_one_tick()
    {
        using var gate = new Gate();
        var manager = ManualManager(new PeriodicTaskSet("compute")
            .Add("hangs", (_, t) => gate.Wait(t, honourCancellation: false))
            .Add("fast", _ => { }));
        Subscribe<PeriodicTaskSucceeded>();
        Subscribe<PeriodicTaskOverrun>();
        for (var tick = 1; tick <= 5; tick++)
        {
            manager.Tell(new Tick(tick));
            // Both arrive for this tick before the next tick is sent: the fast task ran, the hung one overran.
            var events = new[] { ExpectMsg<PeriodicTaskEvent>(), tick > 1 ? ExpectMsg<PeriodicTaskEvent>() : null };
            Assert.Contains(events, e => e is PeriodicTaskSucceeded { Task: "fast" } s && s.Tick == tick);
            if (tick > 1)
                Assert.Contains(events, e => e is PeriodicTaskOverrun { Task: "hangs" } o && o.Tick == tick);
        }

        gate.Release();
    }

    [Fact]
    public async Task Overlap_skip_does_not_start_a_run_while_the_last_is_in_flight_and_counts_an_overrun()
    {
        using var gate = new Gate();
        var manager = ManualManager(new PeriodicTaskSet("compute").Add("slow", (_, t) => gate.Wait(t)));
        Subscribe<PeriodicTaskEvent>();
        manager.Tell(new Tick(1));
        Assert.Equal(1, ExpectMsg<PeriodicTaskStarted>().Tick);
        manager.Tell(new Tick(2));
        Assert.Equal(2, ExpectMsg<PeriodicTaskOverrun>().Tick);
        gate.Release();
        Assert.Equal(1, ExpectMsg<PeriodicTaskSucceeded>().Tick);
        manager.Tell(new Tick(3));
        Assert.Equal(3, ExpectMsg<PeriodicTaskStarted>().Tick);
        gate.Release();
        ExpectMsg<PeriodicTaskSucceeded>();
        var stats = (await manager.Ask<TaskStatsReport>(GetTaskStats.Instance))["slow"];
        Assert.Equal((2, 2, 1), (stats.Runs, stats.Succeeded, stats.Overruns));
    }

    [Fact]
    public async Task Overlap_queue_starts_the_due_run_when_the_running_one_ends_with_at_most_one_pending()
    {
        using var gate = new Gate();
        var manager = ManualManager(new PeriodicTaskSet("compute")
            .Add("slow", (_, t) => gate.Wait(t), new PeriodicTaskOptions { Overlap = OverlapMode.Queue }));
        Subscribe<PeriodicTaskEvent>();
        manager.Tell(new Tick(1));
        Assert.Equal(1, ExpectMsg<PeriodicTaskStarted>().Tick);
        manager.Tell(new Tick(2)); // pending
        manager.Tell(new Tick(3)); // one is already pending: overrun
        Assert.Equal(3, ExpectMsg<PeriodicTaskOverrun>().Tick);
        gate.Release();
        Assert.Equal(1, ExpectMsg<PeriodicTaskSucceeded>().Tick);
        Assert.Equal(2, ExpectMsg<PeriodicTaskStarted>().Tick);
        gate.Release();
        Assert.Equal(2, ExpectMsg<PeriodicTaskSucceeded>().Tick);
        ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        var stats = (await manager.Ask<TaskStatsReport>(GetTaskStats.Instance))["slow"];
        Assert.Equal((2, 1), (stats.Runs, stats.Overruns));
    }

    [Fact]
    public async Task Timeout_cancels_the_token_of_a_body_that_honours_it_and_counts_a_timed_out_run()
    {
        var cancelled = new TaskCompletionSource();
        var manager = ManualManager(new PeriodicTaskSet("compute").Add("t", async (_, token) =>
        {
            token.Register(() => cancelled.TrySetResult());
            await Task.Delay(Timeout.Infinite, token);
        }, new PeriodicTaskOptions { Timeout = TimeSpan.FromSeconds(5) }));
        Subscribe<PeriodicTaskEvent>();
        manager.Tell(new Tick(1));
        ExpectMsg<PeriodicTaskStarted>();
        Scheduler.Advance(TimeSpan.FromSeconds(4));
        ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        // The timeout cancels the token; the body ends; only then may the next run start.
        Scheduler.Advance(TimeSpan.FromSeconds(1));
        await AwaitRunEnded(manager, "t");
        Assert.True(cancelled.Task.IsCompleted);
        var timedOut = ExpectMsg<PeriodicTaskTimedOut>();
        Assert.Equal("timed out after 5s", timedOut.Error);
        manager.Tell(new Tick(2));
        Assert.Equal(2, ExpectMsg<PeriodicTaskStarted>().Tick); // the cancelled body ended, so the next run starts
        var stats = (await manager.Ask<TaskStatsReport>(GetTaskStats.Instance))["t"];
        Assert.Equal((2, 1, 0, 0), (stats.Runs, stats.TimedOut, stats.Failed, stats.Succeeded));
    }

    [Fact]
    public async Task A_body_that_ignores_cancellation_is_reported_timed_out_and_no_new_run_starts_until_it_really_ends()
    {
        using var gate = new Gate();
        var manager = ManualManager(new PeriodicTaskSet("compute")
            .Add("stubborn", (_, t) => gate.Wait(t, honourCancellation: false), new PeriodicTaskOptions { Timeout = TimeSpan.FromSeconds(5) }));
        Subscribe<PeriodicTaskEvent>();
        manager.Tell(new Tick(1));
        ExpectMsg<PeriodicTaskStarted>();
        Scheduler.Advance(TimeSpan.FromSeconds(5));
        ExpectMsg<PeriodicTaskTimedOut>();
        manager.Tell(new Tick(2));
        Assert.Equal(2, ExpectMsg<PeriodicTaskOverrun>().Tick);
        Assert.True((await manager.Ask<TaskStatsReport>(GetTaskStats.Instance))["stubborn"].Running); // still in flight
        gate.Release();
        await AwaitRunEnded(manager, "stubborn");
        ExpectNoMsg(TimeSpan.FromMilliseconds(100)); // its late end is not reported as a success
        manager.Tell(new Tick(3));
        Assert.Equal(3, ExpectMsg<PeriodicTaskStarted>().Tick);
        gate.Release();
    }

    [Fact]
    public void Bodies_get_their_context()
    {
        PeriodicTaskContext? seen = null;
        var manager = ManualManager(new PeriodicTaskSet("compute").Add("t", c => seen = c));
        Subscribe<PeriodicTaskSucceeded>();
        manager.Tell(new Tick(1));
        var succeeded = ExpectMsg<PeriodicTaskSucceeded>();
        Assert.NotNull(seen);
        Assert.Equal(("compute", "t", 1L, succeeded.ScheduledAt), (seen!.SetName, seen.TaskName, seen.Tick, seen.ScheduledAt));
        Assert.Same(Sys, seen.System);
        Assert.NotNull(seen.Log);
    }

    [Theory]
    [InlineData("all", new[] { "started", "succeeded", "started", "failed" })]
    [InlineData("failures", new[] { "failed" })]
    [InlineData("off", new string[0])]
    public async Task Run_events_are_published_as_run_events_says_and_stats_count_every_run_whatever_it_says(string runEvents, string[] expected)
    {
        var manager = ManualManager(new PeriodicTaskSet("compute")
            .Add("ok", _ => { })
            .Add("fails", (_, _) => throw new InvalidOperationException("boom")), $"actor-scheduler.run-events = {runEvents}");
        Subscribe<PeriodicTaskEvent>();
        manager.Tell(new Tick(1));
        var seen = expected.Select(_ => ExpectMsg<PeriodicTaskEvent>().EventName).ToList();
        Assert.Equal(expected.Order(), seen.Order());
        await AwaitAssertAsync(async () =>
        {
            var report = await manager.Ask<TaskStatsReport>(GetTaskStats.Instance);
            Assert.Equal((1, 1), (report["ok"].Succeeded, report["fails"].Failed));
        });
        ExpectNoMsg(TimeSpan.FromMilliseconds(100));
    }

    private static readonly PeriodicTaskOptions RetryingOnce = new()
    {
        Retries = 1, RetryBackoff = TimeSpan.FromSeconds(10), Timeout = TimeSpan.FromSeconds(5),
    };

    /// <summary>A runner of task "t" whose manager is a probe, which resumes it after a failure.</summary>
    private (TestProbe Manager, IActorRef Runner) Runner(Func<PeriodicTaskContext, CancellationToken, ValueTask> body, PeriodicTaskOptions options)
    {
        var manager = CreateTestProbe();
        var runner = manager.ChildActorOf(
            TaskRunner.Props("compute", 0, new PeriodicTaskDefinition("t", options, body, "test")), new OneForOneStrategy(_ => Directive.Resume));
        return (manager, runner);
    }

    [Theory]
    [InlineData("stop")]
    [InlineData("removal")]
    public void A_stop_or_a_removal_while_a_timed_out_body_still_runs_ends_the_run_timed_out_when_it_returns_and_drops_the_retry(string cause)
    {
        using var gate = new Gate();
        var (manager, runner) = Runner((_, t) => gate.Wait(t, honourCancellation: false), RetryingOnce);
        Subscribe<PeriodicTaskEvent>();
        runner.Tell(new Run(1, DateTimeOffset.UnixEpoch));
        ExpectMsg<PeriodicTaskStarted>();
        Scheduler.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(1, ExpectMsg<PeriodicTaskTimedOut>().Attempt); // the retry's timer is armed
        runner.Tell(cause == "stop" ? CancelRun.Instance : DropRetries.Instance);
        manager.ExpectNoMsg(TimeSpan.FromMilliseconds(100)); // the body still runs
        gate.Release();
        var ended = manager.ExpectMsg<RunEnded>();
        Assert.Equal((RunOutcome.TimedOut, 1), (ended.Outcome, ended.Attempts));
        Scheduler.Advance(TimeSpan.FromSeconds(10)); // past the retry's backoff
        ExpectNoMsg(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public void A_removal_while_an_attempt_runs_makes_it_the_last()
    {
        using var gate = new Gate();
        var (manager, runner) = Runner(async (_, t) =>
        {
            await gate.Wait(t);
            throw new InvalidOperationException("flaky");
        }, RetryingOnce with { Timeout = null });
        Subscribe<PeriodicTaskEvent>();
        runner.Tell(new Run(1, DateTimeOffset.UnixEpoch));
        ExpectMsg<PeriodicTaskStarted>();
        runner.Tell(DropRetries.Instance);
        gate.Release();
        var ended = manager.ExpectMsg<RunEnded>();
        Assert.Equal((RunOutcome.Failed, 1), (ended.Outcome, ended.Attempts));
        Assert.Equal(1, ExpectMsg<PeriodicTaskFailed>().Attempt);
        Scheduler.Advance(TimeSpan.FromSeconds(10)); // past the retry's backoff
        ExpectNoMsg(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public async Task A_run_sent_while_one_is_in_flight_or_after_a_stop_is_refused_and_logged_as_an_error()
    {
        using var gate = new Gate();
        var (manager, runner) = Runner((_, t) => gate.Wait(t), new PeriodicTaskOptions());
        Subscribe<PeriodicTaskStarted>();
        runner.Tell(new Run(1, DateTimeOffset.UnixEpoch));
        ExpectMsg<PeriodicTaskStarted>();
        await EventFilter.Error(contains: "run of tick 2 refused").ExpectOneAsync(() =>
        {
            runner.Tell(new Run(2, DateTimeOffset.UnixEpoch));
            return Task.CompletedTask;
        });
        gate.Release();
        Assert.Equal(RunOutcome.Succeeded, manager.ExpectMsg<RunEnded>().Outcome);
        runner.Tell(CancelRun.Instance);
        await EventFilter.Error(contains: "run of tick 3 refused").ExpectOneAsync(() =>
        {
            runner.Tell(new Run(3, DateTimeOffset.UnixEpoch));
            return Task.CompletedTask;
        });
        ExpectNoMsg(TimeSpan.FromMilliseconds(100)); // no PeriodicTaskStarted
    }

    /// <summary>Waits until the manager has heard that the task's run ended, timed out.</summary>
    private async Task AwaitRunEnded(IActorRef manager, string task) =>
        await AwaitAssertAsync(async () =>
        {
            var stats = (await manager.Ask<TaskStatsReport>(GetTaskStats.Instance))[task];
            Assert.Equal((false, 1L), (stats.Running, stats.TimedOut));
        }, TimeSpan.FromSeconds(3));
}
