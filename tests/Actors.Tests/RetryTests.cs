using System.Runtime.CompilerServices;
using ActorScheduler.Messages;
using ActorScheduler.Tasks;
using ActorScheduler.Testing;
using Akka.Actor;
using Xunit;
using Xunit.Abstractions;

namespace ActorScheduler.Tests;

/// <summary>docs/semantics.md, "Retries and pausing on failure", in virtual time.</summary>
public class RetryTests(ITestOutputHelper output) : VirtualTimeTestKit(output)
{
    private static PeriodicTaskOptions Retrying(int retries, int backoffSeconds = 10, int maxBackoffSeconds = 600) => new()
    {
        TicksBetweenRuns = 100,
        Retries = retries,
        RetryBackoff = TimeSpan.FromSeconds(backoffSeconds),
        RetryMaxBackoff = TimeSpan.FromSeconds(maxBackoffSeconds),
    };

    /// <summary>A body that fails its first <paramref name="failures"/> calls.</summary>
    private static Action<PeriodicTaskContext> FailingFirst(int failures)
    {
        var calls = 0;
        return _ =>
        {
            if (Interlocked.Increment(ref calls) <= failures)
                throw new InvalidOperationException("flaky");
        };
    }

    [Fact]
    public async Task A_failed_run_is_retried_after_its_backoff_as_the_same_occurrence_with_increasing_attempts()
    {
        var manager = ManualManager(new PeriodicTaskSet("compute").Add("t", FailingFirst(2), Retrying(2)));
        Subscribe<PeriodicTaskEvent>();
        await manager.Ask<TaskTriggered>(new TriggerTask("t"));
        Assert.Equal(1, ExpectMsg<PeriodicTaskStarted>().Attempt);
        Assert.Equal(1, ExpectMsg<PeriodicTaskFailed>().Attempt);
        ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        Scheduler.Advance(TimeSpan.FromSeconds(10)); // first backoff: retry-backoff
        Assert.Equal((0L, 2), ExpectMsg<PeriodicTaskStarted>() is var s2 ? (s2.Tick, s2.Attempt) : default);
        Assert.Equal(2, ExpectMsg<PeriodicTaskFailed>().Attempt);
        Scheduler.Advance(TimeSpan.FromSeconds(19)); // second backoff: doubled to 20 s
        ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        Scheduler.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(3, ExpectMsg<PeriodicTaskStarted>().Attempt);
        Assert.Equal(3, ExpectMsg<PeriodicTaskSucceeded>().Attempt);
        var stats = (await manager.Ask<TaskStatsReport>(GetTaskStats.Instance))["t"];
        Assert.Equal((1L, 1L, 0L, 2L), (stats.Runs, stats.Succeeded, stats.Failed, stats.Retries));
    }

    [Fact]
    public async Task The_backoff_doubles_for_each_attempt_and_is_capped_at_retry_max_backoff()
    {
        var manager = ManualManager(new PeriodicTaskSet("compute").Add("t", FailingFirst(3), Retrying(3, backoffSeconds: 10, maxBackoffSeconds: 15)));
        Subscribe<PeriodicTaskEvent>();
        await manager.Ask<TaskTriggered>(new TriggerTask("t"));
        ExpectMsg<PeriodicTaskStarted>();
        ExpectMsg<PeriodicTaskFailed>(); // the retry's timer is armed before the failed event is published
        Scheduler.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(2, ExpectMsg<PeriodicTaskStarted>().Attempt);
        ExpectMsg<PeriodicTaskFailed>();
        Scheduler.Advance(TimeSpan.FromSeconds(15)); // 20 s capped to 15 s
        Assert.Equal(3, ExpectMsg<PeriodicTaskStarted>().Attempt);
        ExpectMsg<PeriodicTaskFailed>();
        Scheduler.Advance(TimeSpan.FromSeconds(14));
        ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        Scheduler.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(4, ExpectMsg<PeriodicTaskStarted>().Attempt);
        ExpectMsg<PeriodicTaskSucceeded>();
    }

    [Fact]
    public async Task A_run_failing_every_attempt_counts_one_failure_and_logs_novas_error_once()
    {
        var manager = ManualManager(new PeriodicTaskSet("compute").Add("t", FailingFirst(100), Retrying(1)));
        Subscribe<PeriodicTaskFailed>();
        await EventFilter.Error(start: "Error during compute.t: flaky").ExpectOneAsync(async () =>
        {
            await manager.Ask<TaskTriggered>(new TriggerTask("t"));
            Assert.Equal(1, ExpectMsg<PeriodicTaskFailed>().Attempt);
            Scheduler.Advance(TimeSpan.FromSeconds(10));
            Assert.Equal(2, ExpectMsg<PeriodicTaskFailed>().Attempt);
        });
        await AwaitAssertAsync(async () =>
        {
            var stats = (await manager.Ask<TaskStatsReport>(GetTaskStats.Instance))["t"];
            Assert.Equal((1L, 1L, 1L, false), (stats.Runs, stats.Failed, stats.Retries, stats.Running));
        });
    }

    [Fact]
    public async Task While_a_retry_waits_the_task_is_in_flight_and_its_next_due_run_is_an_overrun()
    {
        var manager = ManualManager(new PeriodicTaskSet("compute").Add("t", FailingFirst(1), Retrying(1) with { TicksBetweenRuns = 0 }));
        Subscribe<PeriodicTaskEvent>();
        manager.Tell(new Tick(1));
        ExpectMsg<PeriodicTaskStarted>();
        ExpectMsg<PeriodicTaskFailed>();
        manager.Tell(new Tick(2));
        Assert.Equal(2, ExpectMsg<PeriodicTaskOverrun>().Tick);
        Assert.True((await manager.Ask<TaskStatsReport>(GetTaskStats.Instance))["t"].Running);
        Scheduler.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal((1L, 2), ExpectMsg<PeriodicTaskStarted>() is var s ? (s.Tick, s.Attempt) : default);
        ExpectMsg<PeriodicTaskSucceeded>();
    }

    [Fact]
    public async Task A_timed_out_attempt_is_retried()
    {
        var calls = 0;
        var manager = ManualManager(new PeriodicTaskSet("compute").Add("t",
            (_, token) => Interlocked.Increment(ref calls) == 1 ? new ValueTask(Task.Delay(Timeout.Infinite, token)) : ValueTask.CompletedTask,
            Retrying(1) with { Timeout = TimeSpan.FromSeconds(5) }));
        Subscribe<PeriodicTaskEvent>();
        await manager.Ask<TaskTriggered>(new TriggerTask("t"));
        ExpectMsg<PeriodicTaskStarted>();
        Scheduler.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(1, ExpectMsg<PeriodicTaskTimedOut>().Attempt);
        Scheduler.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(2, ExpectMsg<PeriodicTaskStarted>().Attempt);
        Assert.Equal(2, ExpectMsg<PeriodicTaskSucceeded>().Attempt);
    }

    [Fact]
    public async Task A_retry_due_while_a_timed_out_body_ignores_its_cancellation_starts_only_when_that_body_ends()
    {
        using var gate = new Gate();
        var (calls, inBody, overlapped) = (0, 0, false);
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var manager = ManualManager(new PeriodicTaskSet("compute").Add("t", async (_, token) =>
        {
            if (Interlocked.Increment(ref inBody) > 1)
                overlapped = true;
            try
            {
                if (Interlocked.Increment(ref calls) == 1)
                {
                    entered.TrySetResult();
                    await gate.Wait(token, honourCancellation: false);
                }
            }
            finally
            {
                Interlocked.Decrement(ref inBody);
            }
        }, Retrying(1) with { Timeout = TimeSpan.FromSeconds(5) }));
        Subscribe<PeriodicTaskEvent>();
        await manager.Ask<TaskTriggered>(new TriggerTask("t"));
        ExpectMsg<PeriodicTaskStarted>();
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(30)); // the body runs on the thread pool, after the event
        Scheduler.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(1, ExpectMsg<PeriodicTaskTimedOut>().Attempt);
        Scheduler.Advance(TimeSpan.FromSeconds(10)); // the retry is due; attempt 1's body still runs
        ThroughRunner(manager, "t"); // the runner has handled the due retry and published no PeriodicTaskStarted
        Assert.Equal(1, Volatile.Read(ref calls));
        Assert.True((await manager.Ask<TaskStatsReport>(GetTaskStats.Instance))["t"].Running);

        gate.Release();
        Assert.Equal(2, ExpectMsg<PeriodicTaskStarted>().Attempt);
        Assert.Equal(2, ExpectMsg<PeriodicTaskSucceeded>().Attempt);
        Assert.False(overlapped, "two bodies of the task ran at once");
        var stats = (await manager.Ask<TaskStatsReport>(GetTaskStats.Instance))["t"];
        Assert.Equal((1L, 1L, 0L, 1L), (stats.Runs, stats.Succeeded, stats.TimedOut, stats.Retries));
    }

    /// <summary>
    /// A manager whose task "t" failed its first attempt and waits for its one retry (its timer armed); the box counts
    /// the body's calls.
    /// </summary>
    private async Task<(IActorRef Manager, StrongBox<int> Calls)> FailedOnceWithItsRetryWaiting()
    {
        var calls = new StrongBox<int>();
        var manager = ManualManager(new PeriodicTaskSet("compute").Add("t", _ =>
        {
            if (Interlocked.Increment(ref calls.Value) == 1)
                throw new InvalidOperationException("flaky");
        }, Retrying(1)));
        Subscribe<PeriodicTaskEvent>();
        await manager.Ask<TaskTriggered>(new TriggerTask("t"));
        ExpectMsg<PeriodicTaskStarted>();
        Assert.Equal(1, ExpectMsg<PeriodicTaskFailed>().Attempt);
        return (manager, calls);
    }

    [Fact]
    public async Task A_removed_tasks_waiting_retry_never_runs()
    {
        var (manager, calls) = await FailedOnceWithItsRetryWaiting();
        await manager.Ask<TasksChanged>(new ChangeTasks([new RemoveTask("t")]));
        Scheduler.Advance(TimeSpan.FromSeconds(10)); // past the retry's backoff
        ThroughRunner(manager, "t"); // a retry still waiting would have published attempt 2's PeriodicTaskStarted first
        Assert.Equal(1, Volatile.Read(ref calls.Value));
        Assert.Empty((await manager.Ask<TaskStatsReport>(GetTaskStats.Instance)).Tasks);
    }

    [Fact]
    public async Task A_stop_while_a_retry_waits_ends_the_run_at_once_with_its_last_outcome_and_the_retry_never_runs()
    {
        var (manager, calls) = await FailedOnceWithItsRetryWaiting();
        manager.Tell(StopTasks.Instance);
        // No virtual time passes: the stop is answered because the run ended, not because shutdown-timeout elapsed.
        Assert.Equal(0, ExpectMsg<TasksStopped>().StillRunning);
        Scheduler.Advance(TimeSpan.FromSeconds(10)); // past the retry's backoff
        ThroughRunner(manager, "t");
        Assert.Equal(1, Volatile.Read(ref calls.Value));
        var stats = (await manager.Ask<TaskStatsReport>(GetTaskStats.Instance))["t"];
        Assert.Equal((1L, 1L, 0L, 0L, false), (stats.Runs, stats.Failed, stats.Cancelled, stats.Retries, stats.Running));
    }

    [Fact]
    public async Task Raise_on_error_escalates_only_when_the_last_attempt_has_failed()
    {
        var parent = CreateTestProbe();
        var escalated = CreateTestProbe();
        var strategy = new OneForOneStrategy(error =>
        {
            escalated.Ref.Tell(error);
            return Directive.Resume;
        });
        var set = new PeriodicTaskSet("compute").Add("t", FailingFirst(100), Retrying(1));
        var manager = parent.ChildActorOf(PeriodicTasks.Props(set, Settings("actor-scheduler.raise-on-error = on"), withTicker: false), strategy);
        Subscribe<PeriodicTaskFailed>();
        manager.Tell(new Tick(0));
        await manager.Ask<TaskTriggered>(new TriggerTask("t"));
        Assert.Equal(1, ExpectMsg<PeriodicTaskFailed>().Attempt);
        escalated.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        Scheduler.Advance(TimeSpan.FromSeconds(10));
        Assert.Equal(2, ExpectMsg<PeriodicTaskFailed>().Attempt);
        Assert.Equal("t", escalated.ExpectMsg<PeriodicTaskFailedException>().TaskName);
    }

    [Fact]
    public async Task Pause_after_failures_pauses_the_task_after_k_failed_occurrences_in_a_row()
    {
        var manager = ManualManager(new PeriodicTaskSet("compute")
            .Add("t", FailingFirst(100), new PeriodicTaskOptions { PauseAfterFailures = 2 }));
        Sys.EventStream.Subscribe(TestActor, typeof(PeriodicTaskPaused));
        Subscribe<PeriodicTaskFailed>();
        manager.Tell(new Tick(1));
        ExpectMsg<PeriodicTaskFailed>();
        manager.Tell(new Tick(2));
        ExpectMsg<PeriodicTaskFailed>();
        Assert.Equal("paused after 2 consecutive failures", ExpectMsg<PeriodicTaskPaused>().Note);
        manager.Tell(new Tick(3));
        ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        var stats = (await manager.Ask<TaskStatsReport>(GetTaskStats.Instance))["t"];
        Assert.Equal((true, "paused after 2 consecutive failures", 2L, 1L), (stats.Paused, stats.PauseNote, stats.Failed, stats.SkippedWhilePaused));
    }

    [Fact]
    public async Task A_success_resets_the_count_of_pause_after_failures()
    {
        var results = new Queue<bool>([false, true, false, true]);
        var manager = ManualManager(new PeriodicTaskSet("compute").Add("t", _ =>
        {
            lock (results)
                if (!results.Dequeue())
                    throw new InvalidOperationException("x");
        }, new PeriodicTaskOptions { PauseAfterFailures = 2 }));
        Subscribe<PeriodicTaskEvent>();
        for (var tick = 1; tick <= 4; tick++)
        {
            manager.Tell(new Tick(tick));
            ExpectMsg<PeriodicTaskStarted>();
            ExpectMsg<PeriodicTaskEvent>(e => e is PeriodicTaskSucceeded or PeriodicTaskFailed);
        }

        await AwaitAssertAsync(async () =>
        {
            var stats = (await manager.Ask<TaskStatsReport>(GetTaskStats.Instance))["t"];
            Assert.Equal((4L, 2L, false), (stats.Runs, stats.Failed, stats.Paused));
        });
    }
}
