using ActorScheduler.Messages;
using ActorScheduler.Tasks;
using ActorScheduler.Testing;
using Akka.Actor;
using Xunit;
using Xunit.Abstractions;

namespace ActorScheduler.Tests;

/// <summary>The plain API (docs/tasks.md): StartPeriodicTasks under the /user guardian, in virtual time.</summary>
public class PlainApiTests(ITestOutputHelper output)
    : VirtualTimeTestKit(output, "actor-scheduler { periodic-interval = 10s, raise-on-error = on }")
{
    [Fact]
    public async Task StartPeriodicTasks_starts_the_set_at_user_periodic_tasks_NAME_with_the_systems_settings()
    {
        Subscribe<PeriodicTaskSucceeded>();
        var manager = Sys.StartPeriodicTasks(new PeriodicTaskSet("plain").Add("t", _ => { }));
        Assert.Equal("/user/periodic-tasks-plain", manager.Path.ToStringWithoutAddress());
        await manager.Ask<Ticked>(new NotifyWhenTicked(0), RemainingOrDefault);
        Scheduler.Advance(TimeSpan.FromSeconds(9));
        ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        Scheduler.Advance(TimeSpan.FromSeconds(1)); // periodic-interval = 10s, read from the system's configuration
        Assert.Equal(1, ExpectMsg<PeriodicTaskSucceeded>().Tick);
    }

    [Fact]
    public async Task With_raise_on_error_the_user_guardian_restarts_the_manager_which_starts_the_set_afresh()
    {
        var calls = 0;
        Subscribe<PeriodicTaskEvent>();
        var manager = Sys.StartPeriodicTasks(new PeriodicTaskSet("guarded").Add("boom", _ =>
        {
            if (Interlocked.Increment(ref calls) == 1)
                throw new InvalidOperationException("kaput");
        }));
        await manager.Ask<Ticked>(new NotifyWhenTicked(0), RemainingOrDefault);
        Scheduler.Advance(TimeSpan.FromSeconds(10));
        ExpectMsg<PeriodicTaskStarted>();
        Assert.Equal(1, ExpectMsg<PeriodicTaskFailed>().Tick);

        // The same actor, restarted: its ticks count again from 0 and its counters are new.
        await AwaitAssertAsync(async () =>
        {
            var report = await manager.Ask<TaskStatsReport>(GetTaskStats.Instance, RemainingOrDefault);
            Assert.Equal((0L, 0L), (report.CurrentTick, report["boom"].Runs));
        });
        Scheduler.Advance(TimeSpan.FromSeconds(10));
        ExpectMsg<PeriodicTaskStarted>();
        Assert.Equal(1, ExpectMsg<PeriodicTaskSucceeded>().Tick);
    }

    [Fact]
    public async Task StartPeriodicTasks_stops_the_set_gracefully_in_coordinated_shutdown()
    {
        Subscribe<PeriodicTaskEvent>();
        var manager = Sys.StartPeriodicTasks(new PeriodicTaskSet("stopping")
            .Add("sleepy", (_, token) => new ValueTask(Task.Delay(Timeout.Infinite, token)), new PeriodicTaskOptions { RunImmediately = true }));
        await manager.Ask<Ticked>(new NotifyWhenTicked(0), RemainingOrDefault);
        ExpectMsg<PeriodicTaskStarted>();
        await CoordinatedShutdown.Get(Sys).Run(CoordinatedShutdown.ClrExitReason.Instance);
        // Only the set's graceful stop reports a run cancelled this way; a bare termination would report nothing.
        Assert.Contains("cancelled: task set stopping is stopping", ExpectMsg<PeriodicTaskFailed>().Error.Message);
    }
}
