using ActorScheduler.Messages;
using ActorScheduler.Tasks;
using ActorScheduler.Testing;
using Akka.Actor;
using Xunit;
using Xunit.Abstractions;

namespace ActorScheduler.Tests;

/// <summary>docs/semantics.md, "Changes at run time": add, update and remove tasks of a running set, all or nothing.</summary>
public class RuntimeChangeTests(ITestOutputHelper output) : VirtualTimeTestKit(output)
{
    private async Task<TaskStatsReport> Stats(IActorRef manager) => await manager.Ask<TaskStatsReport>(GetTaskStats.Instance);

    [Fact]
    public async Task An_added_task_counts_as_if_the_set_had_started_on_the_tick_after_it_was_added()
    {
        var manager = ManualManager(new PeriodicTaskSet("compute").Add("old", _ => { }, EveryTicks(100)));
        Subscribe<PeriodicTaskStarted>();
        for (var tick = 1; tick <= 3; tick++)
            manager.Tell(new Tick(tick));
        var changed = await manager.Ask<TasksChanged>(new ChangeTasks(
            new AddTask("every-2", (_, _) => ValueTask.CompletedTask, EveryTicks(1)),
            new AddTask("at-once", (_, _) => ValueTask.CompletedTask, new PeriodicTaskOptions { TicksBetweenRuns = 100, RunImmediately = true })));
        Assert.Equal(["every-2", "at-once"], changed.Added);
        var stats = await Stats(manager);
        Assert.Equal(["old", "every-2", "at-once"], stats.Tasks.Select(t => t.Task));
        Assert.Equal((6L, 4L), (stats["every-2"].NextDueTick!.Value, stats["at-once"].NextDueTick!.Value)); // its tick 0 is tick 4
        manager.Tell(new Tick(4));
        Assert.Equal(("at-once", 4L), ExpectMsg<PeriodicTaskStarted>() is var a ? (a.Task, a.Tick) : default);
        manager.Tell(new Tick(5));
        manager.Tell(new Tick(6));
        Assert.Equal(("every-2", 6L), ExpectMsg<PeriodicTaskStarted>() is var b ? (b.Task, b.Tick) : default);
    }

    [Fact]
    public async Task An_update_keeps_the_counters_and_a_changed_schedule_counts_from_the_update()
    {
        var manager = ManualManager(new PeriodicTaskSet("compute").Add("t", _ => { }));
        Subscribe<PeriodicTaskSucceeded>();
        manager.Tell(new Tick(1));
        ExpectMsg<PeriodicTaskSucceeded>();
        manager.Tell(new Tick(2));
        ExpectMsg<PeriodicTaskSucceeded>();
        await manager.Ask<TasksChanged>(new ChangeTasks(new UpdateTask("t", EveryTicks(2))));
        var stats = (await Stats(manager))["t"];
        Assert.Equal((2L, 6L, "every 3 ticks = 180 s"), (stats.Runs, stats.NextDueTick!.Value, stats.Schedule));
        for (var tick = 3; tick <= 6; tick++)
            manager.Tell(new Tick(tick));
        Assert.Equal(6, ExpectMsg<PeriodicTaskSucceeded>().Tick);
        ExpectNoMsg(TimeSpan.FromMilliseconds(100));
    }

    [Fact]
    public async Task An_update_that_keeps_the_schedule_keeps_the_next_due_tick_and_replaces_the_body()
    {
        var bodies = new List<string>();
        var manager = ManualManager(new PeriodicTaskSet("compute").Add("t", _ => { lock (bodies) bodies.Add("old"); }, EveryTicks(2)));
        Subscribe<PeriodicTaskSucceeded>();
        manager.Tell(new Tick(3));
        ExpectMsg<PeriodicTaskSucceeded>();
        await manager.Ask<TasksChanged>(new ChangeTasks(new UpdateTask("t", EveryTicks(2) with { Timeout = TimeSpan.FromMinutes(1) },
            (_, _) => { lock (bodies) bodies.Add("new"); return ValueTask.CompletedTask; })));
        Assert.Equal(6, (await Stats(manager))["t"].NextDueTick);
        manager.Tell(new Tick(6));
        ExpectMsg<PeriodicTaskSucceeded>();
        lock (bodies)
            Assert.Equal(["old", "new"], bodies);
    }

    [Fact]
    public async Task A_removed_task_never_starts_again_and_its_run_in_flight_ends_normally()
    {
        using var gate = new Gate();
        var manager = ManualManager(new PeriodicTaskSet("compute")
            .Add("slow", (_, token) => gate.Wait(token))
            .Add("other", _ => { }, EveryTicks(100)));
        Subscribe<PeriodicTaskEvent>();
        manager.Tell(new Tick(1));
        ExpectMsg<PeriodicTaskStarted>();
        var changed = await manager.Ask<TasksChanged>(new ChangeTasks(new RemoveTask("slow")));
        Assert.Equal(["slow"], changed.Removed);
        gate.Release();
        Assert.Equal("slow", ExpectMsg<PeriodicTaskSucceeded>().Task);
        manager.Tell(new Tick(2));
        ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        Assert.Equal(["other"], (await Stats(manager)).Tasks.Select(t => t.Task));
        await Assert.ThrowsAsync<PeriodicTaskNotFoundException>(() => manager.Ask<TaskTriggered>(new TriggerTask("slow")));
    }

    [Fact]
    public async Task A_removed_task_can_be_added_again_while_its_last_run_is_still_in_flight()
    {
        using var gate = new Gate();
        var manager = ManualManager(new PeriodicTaskSet("compute").Add("t", (_, token) => gate.Wait(token), EveryTicks(100)));
        Subscribe<PeriodicTaskStarted>();
        await manager.Ask<TaskTriggered>(new TriggerTask("t"));
        ExpectMsg<PeriodicTaskStarted>();
        await manager.Ask<TasksChanged>(new ChangeTasks(new RemoveTask("t")));
        await manager.Ask<TasksChanged>(new ChangeTasks(new AddTask("t", (_, _) => ValueTask.CompletedTask, EveryTicks(100))));
        Assert.True((await manager.Ask<TaskTriggered>(new TriggerTask("t"))).Started);
        ExpectMsg<PeriodicTaskStarted>();
        gate.Release();
    }

    [Fact]
    public async Task A_change_with_one_bad_part_is_refused_whole_and_the_set_runs_on_as_before()
    {
        var manager = ManualManager(new PeriodicTaskSet("compute").Add("backup", _ => { }, EveryTicks(1)));
        manager.Tell(new Tick(1));
        var before = await Stats(manager);

        var unknown = await Assert.ThrowsAsync<PeriodicTaskNotFoundException>(() => manager.Ask<TasksChanged>(new ChangeTasks(
            new AddTask("fresh", (_, _) => ValueTask.CompletedTask),
            new RemoveTask("bakup"))));
        Assert.Contains("did you mean 'backup'?", unknown.Message);
        var invalid = await Assert.ThrowsAsync<PeriodicTaskDefinitionException>(() => manager.Ask<TasksChanged>(new ChangeTasks(
            new AddTask("fresh", (_, _) => ValueTask.CompletedTask),
            new UpdateTask("backup", new PeriodicTaskOptions { TicksBetweenRuns = 3, Spacing = TimeSpan.FromMinutes(1) }))));
        Assert.Contains("task 'backup'", invalid.Message);
        var twice = await Assert.ThrowsAsync<ArgumentException>(() => manager.Ask<TasksChanged>(new ChangeTasks(
            new AddTask("backup", (_, _) => ValueTask.CompletedTask))));
        Assert.Contains("already has a task named 'backup'", twice.Message);
        var cluster = await Assert.ThrowsAsync<PeriodicTaskDefinitionException>(() => manager.Ask<TasksChanged>(new ChangeTasks(
            new AddTask("everywhere", (_, _) => ValueTask.CompletedTask, new PeriodicTaskOptions { Scope = TaskScope.Cluster }))));
        Assert.Contains("scope = cluster", cluster.Message);
        var moved = await Assert.ThrowsAsync<PeriodicTaskDefinitionException>(() => manager.Ask<TasksChanged>(new ChangeTasks(
            new UpdateTask("backup", new PeriodicTaskOptions { Scope = TaskScope.Cluster }))));
        Assert.Contains("scope and role cannot change", moved.Message);
        var unbuilt = await Assert.ThrowsAsync<PeriodicTaskDefinitionException>(() => manager.Ask<TasksChanged>(new ChangeTasks(
            new AddTask("typed", "No.Such.Task, No.Such.Assembly", null),
            new RemoveTask("backup"))));
        Assert.Contains("task 'typed': type 'No.Such.Task, No.Such.Assembly' is not loaded on this node", unbuilt.Message);

        var after = await Stats(manager);
        Assert.Equal(before.Tasks, after.Tasks);
        Subscribe<PeriodicTaskStarted>();
        manager.Tell(new Tick(2));
        Assert.Equal(("backup", 2L), ExpectMsg<PeriodicTaskStarted>() is var s ? (s.Task, s.Tick) : default);
    }

    [Fact]
    public async Task A_task_added_by_type_runs_a_new_instance_for_each_run()
    {
        var manager = ManualManager(new PeriodicTaskSet("compute"));
        Subscribe<PeriodicTaskSucceeded>();
        var changed = await manager.Ask<TasksChanged>(new ChangeTasks(AddTask.Of<InstanceCountingTask>("typed", EveryTicks(0))));
        Assert.Equal(["typed"], changed.Added);
        var before = InstanceCountingTask.Instances;
        manager.Tell(new Tick(1)); // its start: it runs on every tick after it
        manager.Tell(new Tick(2));
        Assert.Equal(("typed", 2L), ExpectMsg<PeriodicTaskSucceeded>() is var a ? (a.Task, a.Tick) : default);
        manager.Tell(new Tick(3));
        Assert.Equal(("typed", 3L), ExpectMsg<PeriodicTaskSucceeded>() is var b ? (b.Task, b.Tick) : default);
        Assert.Equal(before + 2, InstanceCountingTask.Instances);
    }

    [Fact]
    public async Task Adds_updates_and_removes_publish_control_events()
    {
        var manager = ManualManager(new PeriodicTaskSet("compute").Add("a", _ => { }).Add("b", _ => { }));
        Sys.EventStream.Subscribe(TestActor, typeof(PeriodicTaskControlEvent));
        await manager.Ask<TasksChanged>(new ChangeTasks(
            new AddTask("c", (_, _) => ValueTask.CompletedTask, new PeriodicTaskOptions { Spacing = TimeSpan.FromMinutes(5) }),
            new UpdateTask("a", EveryTicks(9)),
            new RemoveTask("b")));
        Assert.Equal(("added", "c", "every 5m"), ExpectMsg<PeriodicTaskAdded>() is var x ? (x.EventName, x.Task, x.Schedule) : default);
        Assert.Equal(("updated", "a"), ExpectMsg<PeriodicTaskUpdated>() is var u ? (u.EventName, u.Task) : default);
        Assert.Equal(("removed", "b"), ExpectMsg<PeriodicTaskRemoved>() is var r ? (r.EventName, r.Task) : default);
    }

    public sealed class InstanceCountingTask : IPeriodicTask
    {
        private static int _instances;

        public InstanceCountingTask() => Interlocked.Increment(ref _instances);

        public static int Instances => Volatile.Read(ref _instances);

        public ValueTask RunAsync(PeriodicTaskContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }
}
