using ActorScheduler.Messages;
using ActorScheduler.Runtime;
using ActorScheduler.Tasks;
using ActorScheduler.Testing;
using Akka.Actor;
using Akka.Event;
using Xunit;
using Xunit.Abstractions;

namespace ActorScheduler.Tests;

/// <summary>
/// docs/cluster.md, "Never two runs of one cluster task": a cluster task's start is recorded in the store before its
/// run begins. The store here holds its write back until the test releases it, as a slow database would.
/// </summary>
public class StartBeforeRunTests(ITestOutputHelper output) : VirtualTimeTestKit(output)
{
    [Fact]
    public async Task The_body_does_not_begin_while_the_write_of_its_start_is_held_back_and_begins_once_it_is_written()
    {
        var store = new GatedStore(TestActor);
        var body = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var manager = Start(new PeriodicTaskSet("s").Add("t", _ => body.TrySetResult(store.Written), EveryTicks(0)), store);
        Subscribe<PeriodicTaskStarted>();

        manager.Tell(new Tick(1));
        Assert.Equal(("t", 1L), ExpectMsg<GatedStore.WriteRequested>() is var w ? (w.Task, w.Tick) : default);
        var stats = await manager.Ask<TaskStatsReport>(GetTaskStats.Instance); // the manager is done with tick 1
        ThroughRunner(manager, "t"); // a Run sent to the runner would have published PeriodicTaskStarted by now
        Assert.False(body.Task.IsCompleted, "the body began while the write of its start was held back");
        Assert.True(stats["t"].Running, "the run did not count as in flight while its start was being written");

        store.ReleaseWrite();
        Assert.Equal(1, ExpectMsg<PeriodicTaskStarted>().Tick);
        Assert.True(await body.Task.WaitAsync(TimeSpan.FromSeconds(30)), "the body began before its start was written");
    }

    [Fact]
    public async Task A_manager_stopped_while_the_write_of_a_start_is_pending_leaves_no_run_and_the_start_written_later_runs_nothing()
    {
        var store = new GatedStore(TestActor);
        var body = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var manager = Start(new PeriodicTaskSet("s").Add("t", _ => body.TrySetResult(store.Written), EveryTicks(0)), store);
        Subscribe<PeriodicTaskStarted>();

        manager.Tell(new Tick(1));
        ExpectMsg<GatedStore.WriteRequested>();
        await manager.Ask<TaskStatsReport>(GetTaskStats.Instance);
        ThroughRunner(manager, "t"); // no Run reached a runner before the crash

        Watch(manager);
        Sys.Stop(manager); // the node goes away while its database write is in flight
        ExpectTerminated(manager);
        Sys.EventStream.Subscribe(TestActor, typeof(DeadLetter));
        store.ReleaseWrite();
        FishForMessage<DeadLetter>(d => d.Message is RunStartRecorded); // the written start reached no one
        Assert.True(store.Written);
        Assert.False(body.Task.IsCompleted, "the body began though its manager stopped before its start was written");
    }

    private IActorRef Start(PeriodicTaskSet set, GatedStore store)
    {
        var settings = Settings();
        var manager = Sys.ActorOf(PeriodicTaskManager.Props(set.Name, settings.Resolve(set), settings, withTicker: false, FixedStore.Props(store)));
        store.Manager = manager;
        manager.Tell(new Tick(0));
        return manager;
    }

    /// <summary>
    /// Records starts before their runs, as the cluster store does for cluster tasks; the write of a start completes
    /// only when the test calls <see cref="ReleaseWrite"/>, and then tells the manager, as the cluster store does.
    /// </summary>
    private sealed class GatedStore(IActorRef probe) : IScheduleStore
    {
        private readonly TaskCompletionSource _write = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private volatile bool _written;

        public IActorRef Manager { get; set; } = ActorRefs.Nobody;

        /// <summary>True once the held-back write has completed.</summary>
        public bool Written => _written;

        public IReadOnlyDictionary<string, RestoredPlace>? Restored => null;

        public long TickBase => 0;

        public IReadOnlyList<PeriodicTaskDefinition>? Tasks => null;

        public void TasksChanged(IReadOnlyList<TaskChangeReport> changes)
        {
        }

        public bool RecordsStartBeforeRun => true;

        public bool KeepsHistory => false;

        public void ReleaseWrite() => _write.TrySetResult();

        public void TickDispatched(long tick, IReadOnlyList<PlaceReport> places)
        {
        }

        public void RunStarting(int index, string task, Run run, DateTimeOffset at, DateTimeOffset? deadline)
        {
            probe.Tell(new WriteRequested(task, run.Tick));
            var manager = Manager;
            _ = _write.Task.ContinueWith(_ =>
            {
                _written = true;
                manager.Tell(new RunStartRecorded(index, run));
            }, TaskScheduler.Default);
        }

        public void RunEnded(string task, DateTimeOffset at, EndedRun run)
        {
        }

        public void PauseChanged(string task, TaskPause? pause)
        {
        }

        public sealed record WriteRequested(string Task, long Tick);
    }
}
