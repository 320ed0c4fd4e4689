using ActorScheduler.Runtime;
using ActorScheduler.Configuration;
using ActorScheduler.Messages;
using ActorScheduler.Tasks;
using ActorScheduler.Testing;
using Akka.Actor;
using Xunit;

namespace ActorScheduler.Tests;

/// <summary>
/// Children are created on a task's first run and stopped once the task has not been dispatched for
/// TaskRunners.PassivateIdleAfter (one tick at the default 60 s interval); the next run creates the child again.
/// </summary>
public class PassivationTests : Akka.TestKit.Xunit2.TestKit
{
    public PassivationTests() : base("akka.loglevel = WARNING")
    {
    }

    [Fact]
    public async Task A_task_idle_for_a_minute_loses_its_child_and_gets_a_new_one_on_its_next_run_keeping_its_stats()
    {
        var set = new PeriodicTaskSet("rare").Add("sync", (_, _) => ValueTask.CompletedTask,
            new PeriodicTaskOptions { TicksBetweenRuns = 2, RunImmediately = true }); // runs on ticks 0, 3, 6, ...
        var manager = Sys.ActorOf(PeriodicTasks.Props(set, PeriodicTaskSettings.Create(), withTicker: false), "m");

        await TickAndWaitIdle(manager, 0);
        Assert.True(await Exists("/user/m/task-sync"));

        await TickAndWaitIdle(manager, 1); // not dispatched since tick 0, 60 s ago: passivated
        await AwaitAssertAsync(async () => Assert.False(await Exists("/user/m/task-sync")));

        await TickAndWaitIdle(manager, 2);
        await TickAndWaitIdle(manager, 3); // due again: a new child
        Assert.True(await Exists("/user/m/task~2-sync"));
        var stats = await manager.Ask<TaskStatsReport>(GetTaskStats.Instance);
        Assert.Equal(2, stats["sync"].Runs);
        Assert.Equal(2, stats["sync"].Succeeded);
    }

    [Fact]
    public async Task A_task_dispatched_every_tick_keeps_its_child()
    {
        var set = new PeriodicTaskSet("busy").Add("poll", (_, _) => ValueTask.CompletedTask, PeriodicTaskOptions.Default);
        var manager = Sys.ActorOf(PeriodicTasks.Props(set, PeriodicTaskSettings.Create(), withTicker: false), "m");

        for (var tick = 0; tick <= 4; tick++)
            await TickAndWaitIdle(manager, tick);

        var child = await Sys.ActorSelection("/user/m/task-poll").ResolveOne(TimeSpan.FromSeconds(3));
        Watch(child);
        await TickAndWaitIdle(manager, 5);
        ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        Assert.Equal(5, (await manager.Ask<TaskStatsReport>(GetTaskStats.Instance))["poll"].Runs);
    }

    [Fact]
    public async Task A_timed_out_run_still_in_flight_keeps_its_runner_so_no_second_run_starts_beside_it()
    {
        // The body ignores its cancelled token. Passivating its runner would free the task, and the next due tick would
        // then start a second run beside the first.
        using var gate = new Gate();
        var inside = 0;
        var most = 0;
        var set = new PeriodicTaskSet("stuck").Add("sync", async (_, token) =>
        {
            var now = Interlocked.Increment(ref inside);
            InterlockedMax(ref most, now);
            try { await gate.Wait(token, honourCancellation: false); }
            finally { Interlocked.Decrement(ref inside); }
        }, new PeriodicTaskOptions { TicksBetweenRuns = 2, RunImmediately = true, Timeout = TimeSpan.FromMilliseconds(50) });
        var manager = Sys.ActorOf(PeriodicTasks.Props(set, PeriodicTaskSettings.Create(), withTicker: false), "m");
        Sys.EventStream.Subscribe(TestActor, typeof(PeriodicTaskEvent));

        manager.Tell(new Tick(0));
        ExpectMsg<PeriodicTaskStarted>();
        ExpectMsg<PeriodicTaskTimedOut>(TimeSpan.FromSeconds(3));
        manager.Tell(new Tick(1)); // the passivation sweep: the task was last dispatched 60 s ago
        manager.Tell(new Tick(2));
        manager.Tell(new Tick(3)); // due again, with the timed-out body still running
        Assert.Equal(3, ExpectMsg<PeriodicTaskOverrun>().Tick);
        Assert.True(await Exists("/user/m/task-sync"));
        gate.Release();
        await AwaitAssertAsync(async () => Assert.False((await manager.Ask<TaskStatsReport>(GetTaskStats.Instance))["sync"].Running));
        Assert.Equal(1, Volatile.Read(ref most));
        gate.Release(10);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }

    /// <summary>Sends the tick, waits until the manager has processed it and no run is in flight.</summary>
    private async Task TickAndWaitIdle(IActorRef manager, long tick)
    {
        manager.Tell(new Tick(tick));
        await manager.Ask<Ticked>(new NotifyWhenTicked(tick), TimeSpan.FromSeconds(3));
        await AwaitAssertAsync(async () =>
            Assert.DoesNotContain((await manager.Ask<TaskStatsReport>(GetTaskStats.Instance)).Tasks, t => t.Running));
    }

    private async Task<bool> Exists(string path)
    {
        var identity = await Sys.ActorSelection(path).Ask<ActorIdentity>(new Identify(null), TimeSpan.FromSeconds(3));
        return identity.Subject is not null;
    }
}
