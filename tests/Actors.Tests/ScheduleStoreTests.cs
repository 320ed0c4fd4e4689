using ActorScheduler.Messages;
using ActorScheduler.Runtime;
using ActorScheduler.Tasks;
using ActorScheduler.Testing;
using Akka.Actor;
using Xunit;
using Xunit.Abstractions;

namespace ActorScheduler.Tests;

/// <summary>
/// A manager with a store (docs/cluster.md, "Never two runs of one cluster task"): a run's start is recorded before the
/// run begins when the store asks for it (cluster tasks), beside it otherwise; tick numbers and counters continue from
/// the store. The store here is a test double that tells the test actor what the manager reports, and answers only when
/// the test says so.
/// </summary>
public class ScheduleStoreTests(ITestOutputHelper output) : VirtualTimeTestKit(output)
{
    [Fact]
    public void A_due_run_begins_only_once_the_store_has_recorded_its_start()
    {
        var store = new RecordingStore(TestActor);
        var manager = Start(new PeriodicTaskSet("s").Add("t", _ => { }, EveryTicks(0)), store);
        Subscribe<PeriodicTaskStarted>();

        manager.Tell(new Tick(1));
        var starting = ExpectMsg<RecordingStore.Starting>();
        Assert.Equal(("t", 1L), (starting.Task, starting.Run.Tick));
        ExpectNoMsg(TimeSpan.FromMilliseconds(200)); // nothing starts while the record is not written
        Assert.True(Stats(manager).Running); // yet the task counts as running: no second run may start

        manager.Tell(new RunStartRecorded(starting.Index, starting.Run), store.Keeper);
        Assert.Equal(1, ExpectMsg<PeriodicTaskStarted>().Tick);
        var ended = ExpectMsg<RecordingStore.Ended>();
        Assert.Equal(("t", 1L, RunOutcome.Succeeded, 1L), (ended.Task, ended.Run.Tick, ended.Run.Outcome, ended.Run.Counters.Runs));
    }

    [Fact]
    public void A_store_that_records_starts_after_their_runs_is_told_of_the_start_and_the_run_begins_at_once()
    {
        var store = new RecordingStore(TestActor, startBeforeRun: false);
        var manager = Start(new PeriodicTaskSet("s").Add("t", _ => { }, EveryTicks(0)), store);
        Subscribe<PeriodicTaskStarted>();

        manager.Tell(new Tick(1));
        var starting = ExpectMsg<RecordingStore.Starting>();
        Assert.Equal(("t", 1L), (starting.Task, starting.Run.Tick));
        Assert.Equal(1, ExpectMsg<PeriodicTaskStarted>().Tick); // no RunStartRecorded was sent
        Assert.Equal(1L, ExpectMsg<RecordingStore.Ended>().Run.Counters.Runs);
    }

    [Fact]
    public void A_start_recorded_after_a_stop_began_never_runs_and_is_recorded_as_ended()
    {
        var store = new RecordingStore(TestActor);
        var manager = Start(new PeriodicTaskSet("s").Add("t", _ => { }, EveryTicks(0)), store);
        Subscribe<PeriodicTaskStarted>();
        manager.Tell(new Tick(1));
        var starting = ExpectMsg<RecordingStore.Starting>();

        manager.Tell(StopTasks.Instance);
        manager.Tell(new RunStartRecorded(starting.Index, starting.Run), store.Keeper);
        var ended = ExpectMsg<RecordingStore.Ended>();
        Assert.Equal(RunOutcome.Cancelled, ended.Run.Outcome);
        Assert.Equal(0, ExpectMsg<TasksStopped>().StillRunning);
        ExpectNoMsg(TimeSpan.FromMilliseconds(200)); // no PeriodicTaskStarted
    }

    [Fact]
    public void The_recorded_deadline_covers_every_attempt_and_its_backoff()
    {
        var now = DateTimeOffset.UnixEpoch;
        var options = new PeriodicTaskOptions
        {
            Timeout = TimeSpan.FromSeconds(5), Retries = 3, RetryBackoff = TimeSpan.FromSeconds(10), RetryMaxBackoff = TimeSpan.FromSeconds(15),
        };
        // 4 attempts of 5 s, backoffs 10 s, 15 s (20 capped), 15 s.
        Assert.Equal(now + TimeSpan.FromSeconds(20 + 10 + 15 + 15), RetryPolicy.Deadline(options, now));
        Assert.Null(RetryPolicy.Deadline(new PeriodicTaskOptions(), now));
    }

    [Fact]
    public async Task Tick_numbers_and_counters_continue_from_the_store()
    {
        var counters = new CounterRecord(7, 6, 1, 0, 0, 2, 3, 0, 1, 7, TimeSpan.FromSeconds(7), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(1));
        var store = new RecordingStore(TestActor, tickBase: 100, restored: new Dictionary<string, RestoredPlace>
        {
            ["t"] = new(TicksLeft: 2, NextDueAt: null, NotBefore: null, Counters: counters),
        });
        var manager = Start(new PeriodicTaskSet("s").Add("t", _ => { }, EveryTicks(4)), store, firstTick: 100);
        Subscribe<PeriodicTaskStarted>();

        var stats = Stats(manager);
        Assert.Equal((7L, 6L, 1L, 2L, 3L, 1L), (stats.Runs, stats.Succeeded, stats.Failed, stats.Overruns, stats.Missed, stats.Retries));
        Assert.Equal(TimeSpan.FromSeconds(1), stats.MeanDuration);
        Assert.Equal(102, stats.NextDueTick);
        Assert.Equal(100, (await manager.Ask<Ticked>(new NotifyWhenTicked(100))).Tick);

        manager.Tell(new Tick(101));
        manager.Tell(new Tick(102));
        var starting = ExpectMsg<RecordingStore.Starting>();
        Assert.Equal(102, starting.Run.Tick);
        manager.Tell(new RunStartRecorded(starting.Index, starting.Run), store.Keeper);
        Assert.Equal(102, ExpectMsg<PeriodicTaskStarted>().Tick);
        Assert.Equal(8, ExpectMsg<RecordingStore.Ended>().Run.Counters.Runs);
    }

    private IActorRef Start(PeriodicTaskSet set, IScheduleStore store, long firstTick = 0)
    {
        var settings = Settings();
        var manager = Sys.ActorOf(PeriodicTaskManager.Props(set.Name, settings.Resolve(set), settings, withTicker: false, FixedStore.Props(store)));
        manager.Tell(new Tick(firstTick));
        return manager;
    }

    private TaskStats Stats(IActorRef manager) => manager.Ask<TaskStatsReport>(GetTaskStats.Instance).Result.Tasks[0];

    /// <summary>Tells the test actor each start and end the manager reports; places and pauses are not looked at here.</summary>
    private sealed class RecordingStore(
        IActorRef probe, long tickBase = 0, IReadOnlyDictionary<string, RestoredPlace>? restored = null, bool startBeforeRun = true)
        : IScheduleStore
    {
        public IActorRef Keeper => probe;

        public IReadOnlyDictionary<string, RestoredPlace>? Restored => restored;

        public long TickBase => tickBase;

        public IReadOnlyList<PeriodicTaskDefinition>? Tasks => null;

        public void TasksChanged(IReadOnlyList<TaskChangeReport> changes)
        {
        }

        public bool RecordsStartBeforeRun => startBeforeRun;

        public bool KeepsHistory => false;

        public void TickDispatched(long tick, IReadOnlyList<PlaceReport> places)
        {
        }

        public void RunStarting(int index, string task, Run run, DateTimeOffset at, DateTimeOffset? deadline) =>
            probe.Tell(new Starting(index, task, run));

        public void RunEnded(string task, DateTimeOffset at, EndedRun run) => probe.Tell(new Ended(task, run));

        public void PauseChanged(string task, TaskPause? pause)
        {
        }

        public sealed record Starting(int Index, string Task, Run Run);

        public sealed record Ended(string Task, EndedRun Run);
    }
}
