using ActorScheduler.Messages;
using ActorScheduler.Runtime;
using ActorScheduler.Tasks;
using Akka.Actor;
using Xunit;
using Xunit.Abstractions;

namespace ActorScheduler.Tests;

/// <summary>
/// A manager's runner children on their own, inside a small host actor that stands for the manager: a runner created
/// on demand under its incarnation's name, found by actor ref, stopped, and passivated when idle.
/// </summary>
public class TaskRunnersTests(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(output: output)
{
    private const long PassivateAfterTicks = 5;

    private IActorRef? _hostRef;

    /// <summary>Runs <paramref name="use"/> on the host's thread, with the host's runners.</summary>
    private Task<T> On<T>(Func<TaskRunners, T> use)
    {
        _hostRef ??= Sys.ActorOf(Props.Create(() => new CollaboratorHost<TaskRunners>((context, _) => new TaskRunners(context, "s", PassivateAfterTicks), null)), "manager");
        return CollaboratorHost<TaskRunners>.On(_hostRef, use, RemainingOrDefault);
    }

    private Task On(Action<TaskRunners> use) => On<object?>(r =>
    {
        use(r);
        return null;
    });

    private static TaskTable Tasks(params string[] names) =>
        TestTables.Of(names.Aggregate(new PeriodicTaskSet("s"), (set, name) => set.Add(name, _ => { })));

    [Fact]
    public async Task A_tasks_first_runner_is_a_child_named_after_it_and_stays_its_runner()
    {
        var t = Tasks("sync")[0];
        var runner = await On(r => r.Of(t));
        Assert.Equal("task-sync", runner.Path.Name);
        Assert.Equal(_hostRef!.Path, runner.Path.Parent);
        Assert.Same(runner, t.Child);
        Assert.Equal(1, t.Incarnation);

        Assert.Same(runner, await On(r => r.Of(t)));
        Assert.Equal(1, await On(r => r.Count));
    }

    [Fact]
    public async Task A_runner_is_found_by_its_ref_and_another_ref_finds_no_task()
    {
        var table = Tasks("a", "b");
        var a = await On(r => r.Of(table[0]));
        var b = await On(r => r.Of(table[1]));
        Assert.Same(table[0], await On(r => r.TaskOf(a)));
        Assert.Same(table[1], await On(r => r.TaskOf(b)));
        Assert.Null(await On(r => r.TaskOf(TestActor)));
        Assert.Equal(2, await On(r => r.Count));
    }

    [Fact]
    public async Task A_task_name_that_is_no_valid_actor_name_is_escaped_in_its_runners_name()
    {
        var t = Tasks("nightly report/eu")[0];
        Assert.Equal("task-nightly~20report~2Feu", (await On(r => r.Of(t))).Path.Name);
    }

    [Fact]
    public async Task Stop_stops_the_runner_and_forgets_it()
    {
        var t = Tasks("sync")[0];
        var runner = await On(r => r.Of(t));
        Watch(runner);

        await On(r => r.Stop(t));
        ExpectTerminated(runner);
        Assert.Null(t.Child);
        Assert.Null(await On(r => r.TaskOf(runner)));
        Assert.Equal(0, await On(r => r.Count));

        await On(r => r.Stop(t)); // a task without a runner: nothing to stop
        Assert.Equal(0, await On(r => r.Count));
    }

    [Fact]
    public async Task A_runner_created_again_has_the_next_incarnations_name()
    {
        var t = Tasks("sync")[0];
        var first = await On(r => r.Of(t));
        await On(r => r.Stop(t));

        var second = await On(r => r.Of(t));
        Assert.NotEqual(first, second);
        Assert.Equal("task~2-sync", second.Path.Name);
        Assert.Same(t, await On(r => r.TaskOf(second)));
        Assert.Null(await On(r => r.TaskOf(first)));
        Assert.Equal(1, await On(r => r.Count));

        await On(r => r.Stop(t));
        Assert.Equal("task~3-sync", (await On(r => r.Of(t))).Path.Name);
    }

    [Fact]
    public async Task A_new_task_whose_name_is_still_taken_by_a_runner_gets_a_name_of_its_own()
    {
        var table = Tasks("sync");
        var old = table[0];
        table.Apply([new RemoveTask("sync")], 0);
        table.Apply([new AddTask("sync", (_, _) => ValueTask.CompletedTask)], 0);
        var again = table.Find("sync")!;
        Assert.NotSame(old, again);

        var oldRunner = await On(r => r.Of(old)); // the removed task's runner, its run still in flight
        var newRunner = await On(r => r.Of(again));
        Assert.Equal(("task-sync", "task~2-sync"), (oldRunner.Path.Name, newRunner.Path.Name));
        Assert.Same(old, await On(r => r.TaskOf(oldRunner)));
        Assert.Same(again, await On(r => r.TaskOf(newRunner)));
        Assert.Equal(2, await On(r => r.Count));
    }

    [Fact]
    public async Task Passivate_stops_only_the_idle_runners_not_dispatched_for_the_given_ticks()
    {
        var table = Tasks("idle", "recent", "busy");
        var (idle, recent, busy) = (table[0], table[1], table[2]);
        recent.LastDispatchTick = 3;
        busy.Start(new Run(0, DateTimeOffset.UnixEpoch), recordFirst: false);
        var idleRunner = await On(r => r.Of(idle));
        var recentRunner = await On(r => r.Of(recent));
        var busyRunner = await On(r => r.Of(busy));
        Watch(idleRunner);
        Watch(recentRunner);
        Watch(busyRunner);

        await On(r => r.Passivate(PassivateAfterTicks - 1));
        Assert.Equal(3, await On(r => r.Count));

        await On(r => r.Passivate(PassivateAfterTicks));
        ExpectTerminated(idleRunner);
        Assert.Equal(2, await On(r => r.Count));
        Assert.Null(idle.Child);
        Assert.Null(await On(r => r.TaskOf(idleRunner)));
        Assert.Equal((recentRunner, busyRunner), (recent.Child, busy.Child));

        await On(r => r.Passivate(3 + PassivateAfterTicks));
        ExpectTerminated(recentRunner);
        Assert.Null(recent.Child);
        Assert.Same(busyRunner, busy.Child); // a run in flight keeps its runner however long ago it was dispatched
        Assert.Equal(1, await On(r => r.Count));
        ExpectNoMsg(TimeSpan.FromMilliseconds(100));

        busy.End();
        await On(r => r.Passivate(3 + PassivateAfterTicks));
        ExpectTerminated(busyRunner);
        Assert.Equal(0, await On(r => r.Count));
    }

    [Fact]
    public async Task Sweep_passivates_once_every_passivate_after_ticks_and_not_between()
    {
        var t = Tasks("idle")[0];
        var first = await On(r => r.Of(t));
        Watch(first);
        await On(r => r.Sweep(PassivateAfterTicks - 1));
        Assert.Same(first, t.Child);
        await On(r => r.Sweep(PassivateAfterTicks));
        ExpectTerminated(first);

        t.LastDispatchTick = PassivateAfterTicks + 1;
        var second = await On(r => r.Of(t));
        Watch(second);
        await On(r => r.Sweep(3 * PassivateAfterTicks)); // the next sweep: at least PassivateAfterTicks after the last one
        ExpectTerminated(second);
        var third = await On(r => r.Of(t));
        await On(r => r.Sweep(4 * PassivateAfterTicks - 1)); // too soon after the sweep at 3 * PassivateAfterTicks
        Assert.Same(third, t.Child);
    }

    [Fact]
    public async Task Remove_stops_an_idle_runner_at_once_and_tells_a_running_one_to_drop_its_retries_first()
    {
        var table = Tasks("idle", "busy");
        var idleRunner = await On(r => r.Of(table[0]));
        Watch(idleRunner);
        await On(r => r.Remove(table[0]));
        ExpectTerminated(idleRunner);

        var busy = table[1];
        busy.Start(new Run(0, DateTimeOffset.UnixEpoch), recordFirst: false);
        var probe = CreateTestProbe();
        busy.Child = probe.Ref; // a stand-in runner that shows what it is told
        await On(r => r.Remove(busy));
        probe.ExpectMsg<DropRetries>();
        Assert.Equal(RunState.Retiring, busy.State);
        Assert.True(busy.End()); // its runner stops once the run has ended
    }
}
