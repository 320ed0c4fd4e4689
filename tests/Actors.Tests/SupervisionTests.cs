using ActorScheduler.Runtime;
using ActorScheduler.Messages;
using ActorScheduler.Tasks;
using ActorScheduler.Testing;
using Akka.Actor;
using Xunit;
using Xunit.Abstractions;

namespace ActorScheduler.Tests;

/// <summary>docs/semantics.md, "Errors": raise_on_error as the manager's supervision strategy.</summary>
public class SupervisionTests(ITestOutputHelper output) : VirtualTimeTestKit(output)
{
    private static PeriodicTaskSet Set() => new PeriodicTaskSet("compute")
        .Add("boom", _ => throw new InvalidOperationException("kaput"))
        .Add("fine", _ => { });

    [Fact]
    public async Task Raise_on_error_off_logs_novas_error_counts_it_and_the_task_keeps_its_schedule()
    {
        var manager = Sys.ActorOf(PeriodicTasks.Props(Set(), Settings(), withTicker: false));
        Subscribe<PeriodicTaskFailed>();
        manager.Tell(new Tick(0));
        await EventFilter.Error(start: "Error during compute.boom: kaput").ExpectOneAsync(() =>
        {
            manager.Tell(new Tick(1));
            return Task.CompletedTask;
        });
        var failed = ExpectMsg<PeriodicTaskFailed>();
        Assert.IsType<InvalidOperationException>(failed.Error);
        manager.Tell(new Tick(2));
        Assert.Equal(2, ExpectMsg<PeriodicTaskFailed>().Tick); // resumed: it runs again on its schedule
        var stats = await manager.Ask<TaskStatsReport>(GetTaskStats.Instance);
        Assert.Equal((2, 2), (stats["boom"].Runs, stats["boom"].Failed));
        await AwaitAssertAsync(async () =>
            Assert.Equal(2, (await manager.Ask<TaskStatsReport>(GetTaskStats.Instance))["fine"].Succeeded));
    }

    [Fact]
    public async Task Raise_on_error_on_escalates_a_failure_naming_the_task_to_the_parent_and_dispatches_nothing_more()
    {
        var parent = CreateTestProbe();
        var escalated = CreateTestProbe();
        var strategy = new OneForOneStrategy(error =>
        {
            escalated.Ref.Tell(error);
            return Directive.Resume; // keep the manager alive to show it dispatches nothing more
        });
        var manager = parent.ChildActorOf(
            PeriodicTasks.Props(Set(), Settings("actor-scheduler.raise-on-error = on"), withTicker: false), strategy);
        Subscribe<PeriodicTaskStarted>();
        manager.Tell(new Tick(0));
        manager.Tell(new Tick(1));
        var failure = escalated.ExpectMsg<PeriodicTaskFailedException>();
        Assert.Equal(("compute", "boom", 1L), (failure.SetName, failure.TaskName, failure.Tick));
        Assert.IsType<InvalidOperationException>(failure.InnerException);
        Assert.Equal("Error during compute.boom: kaput", failure.Message);

        ReceiveN(2); // the two runs of tick 1
        manager.Tell(new Tick(2));
        manager.Tell(new Tick(3));
        ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        var stats = await manager.Ask<TaskStatsReport>(GetTaskStats.Instance);
        Assert.Equal(3, stats.CurrentTick);
        Assert.All(stats.Tasks, t => Assert.Null(t.NextDueTick));
    }

    [Fact]
    public void Raise_on_error_on_escalates_a_timeout_too()
    {
        var parent = CreateTestProbe();
        var escalated = CreateTestProbe();
        var strategy = new OneForOneStrategy(error =>
        {
            escalated.Ref.Tell(error);
            return Directive.Stop;
        });
        var set = new PeriodicTaskSet("compute")
            .Add("slow", (_, t) => new ValueTask(Task.Delay(Timeout.Infinite, t)), new PeriodicTaskOptions { Timeout = TimeSpan.FromSeconds(1) });
        var manager = parent.ChildActorOf(
            PeriodicTasks.Props(set, Settings("actor-scheduler.raise-on-error = on"), withTicker: false), strategy);
        Subscribe<PeriodicTaskStarted>();
        manager.Tell(new Tick(0));
        manager.Tell(new Tick(1));
        ExpectMsg<PeriodicTaskStarted>();
        Scheduler.Advance(TimeSpan.FromSeconds(1));
        var failure = escalated.ExpectMsg<PeriodicTaskTimeoutException>();
        Assert.Equal("slow", failure.TaskName);
        Assert.Equal(TimeSpan.FromSeconds(1), failure.Timeout);
    }
}
