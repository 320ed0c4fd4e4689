using ActorScheduler.Messages;
using ActorScheduler.Runtime;
using ActorScheduler.Scheduling;
using ActorScheduler.Tasks;
using Xunit;
using Xunit.Abstractions;

namespace ActorScheduler.Tests;

/// <summary>
/// A manager's link to its state store on its own (docs/architecture.md, "Persistence"): the tick base, what it restores
/// into a task table, and what it reports to a store (here a fake that records every call). A TestKit only for the
/// clock a run's end is read from.
/// </summary>
public class StoreLinkTests(ITestOutputHelper output) : VirtualTimeTestKit(output)
{
    private static readonly DateTimeOffset Start = TestTables.Origin;

    // ---- without a store ----------------------------------------------------------------------------------------------

    [Fact]
    public void Without_a_store_ticks_count_from_0_inside_and_outside()
    {
        Assert.Same(StoreLink.None, StoreLink.For(null));
        Assert.Equal(0, StoreLink.None.TickBase);
        Assert.Equal((3L, 3L), (StoreLink.None.Outside(3), StoreLink.None.Inside(3)));
        Assert.False(StoreLink.None.RecordsStartBeforeRun);
    }

    [Fact]
    public void Without_a_store_nothing_is_restored()
    {
        var table = TestTables.Of(new PeriodicTaskSet("s").Add("t", _ => { }, EveryTicks(2)));
        Assert.Empty(StoreLink.None.Restore(table, Start));
        Assert.Equal((3L, 0L, null), (table.Schedule.NextDueTick(0)!.Value, table[0].Counters.Runs, table[0].Pause));
    }

    // ---- queries the store answers ------------------------------------------------------------------------------------

    [Fact]
    public void Without_a_store_a_flush_is_answered_at_once_and_no_recent_runs_are_kept()
    {
        StoreLink.None.Flush(FlushState.Instance, TestActor);
        ExpectMsg<StateFlushed>();
        StoreLink.None.RecentRuns("s", new GetRecentRuns("t"), TestActor);
        var report = ExpectMsg<RecentRunsReport>();
        Assert.Equal(("s", "t", false), (report.SetName, report.Task, report.Kept));
        Assert.Empty(report.Runs);
    }

    [Fact]
    public void Over_a_store_flushes_and_recent_run_queries_go_to_its_keeper_with_the_senders_reply_address()
    {
        var keeper = CreateTestProbe();
        var link = StoreLink.For(new RecordingScheduleStore(), keeper.Ref);
        link.Flush(FlushState.Instance, TestActor);
        keeper.ExpectMsg<FlushState>();
        Assert.Equal(TestActor, keeper.LastSender);
        link.RecentRuns("s", new GetRecentRuns("t"), TestActor);
        Assert.Equal("t", keeper.ExpectMsg<GetRecentRuns>().Task);
        Assert.Equal(TestActor, keeper.LastSender);
        ExpectNoMsg(TimeSpan.FromMilliseconds(100));
    }

    // ---- tick numbers ---------------------------------------------------------------------------------------------------

    [Fact]
    public void Over_a_store_tick_numbers_outside_continue_from_its_tick_base()
    {
        var link = StoreLink.For(new RecordingScheduleStore(tickBase: 100));
        Assert.Equal(100, link.TickBase);
        Assert.Equal(103, link.Outside(3));
        Assert.Equal(3, link.Inside(103));
        Assert.Equal(100, link.Outside(0));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Whether_a_start_is_recorded_before_its_run_is_the_stores_choice(bool beforeRun) =>
        Assert.Equal(beforeRun, StoreLink.For(new RecordingScheduleStore(recordsStartBeforeRun: beforeRun)).RecordsStartBeforeRun);

    // ---- places -----------------------------------------------------------------------------------------------------------

    /// <summary>a every tick, b every 3 min, c disabled, d every 3 ticks.</summary>
    private static TaskTable Places() => TestTables.Of(new PeriodicTaskSet("s")
        .Add("a", _ => { })
        .Add("b", _ => { }, new PeriodicTaskOptions { Spacing = TimeSpan.FromMinutes(3) })
        .Add("c", _ => { }, new PeriodicTaskOptions { Enabled = false })
        .Add("d", _ => { }, EveryTicks(2)));

    private static List<DueRun> Advance(TaskTable table, long tick)
    {
        var due = new List<DueRun>();
        table.Schedule.Advance(tick, due);
        return due;
    }

    [Fact]
    public void The_first_tick_dispatched_reports_every_tasks_place_and_marks_only_the_due_ones_as_run()
    {
        var store = new RecordingScheduleStore(tickBase: 100);
        var link = StoreLink.For(store);
        var table = Places();
        var scheduledAt = Start + TimeSpan.FromMinutes(1);

        var due = Advance(table, 1);
        Assert.Equal([new DueRun(0, 0)], due);
        link.TickDispatched(table, 1, due, scheduledAt, Start);

        var (tick, places) = Assert.Single(store.Dispatched);
        Assert.Equal(1, tick);
        Assert.Equal(
            [
                new PlaceReport("a", 2, null, scheduledAt),
                new PlaceReport("b", 3, Start + TimeSpan.FromMinutes(3), null),
                new PlaceReport("d", 3, null, null), // c is never due: it has no place
            ],
            places);
    }

    [Fact]
    public void After_the_first_tick_only_the_due_tasks_places_are_reported()
    {
        var store = new RecordingScheduleStore();
        var link = StoreLink.For(store);
        var table = Places();
        link.TickDispatched(table, 0, Advance(table, 0), Start, Start);
        Assert.Equal(["a", "b", "d"], store.Dispatched[0].Places.Select(p => p.Task));
        Assert.All(store.Dispatched[0].Places, p => Assert.Null(p.LastRunAt));

        var at2 = Start + TimeSpan.FromMinutes(2);
        link.TickDispatched(table, 2, Advance(table, 2), at2, Start);
        Assert.Equal(2, store.Dispatched[1].Tick);
        Assert.Equal([new PlaceReport("a", 3, null, at2)], store.Dispatched[1].Places);

        var at3 = Start + TimeSpan.FromMinutes(3);
        link.TickDispatched(table, 3, Advance(table, 3), at3, Start);
        Assert.Equal(
            [
                new PlaceReport("a", 4, null, at3),
                new PlaceReport("b", 6, Start + TimeSpan.FromMinutes(6), at3),
                new PlaceReport("d", 6, null, at3),
            ],
            store.Dispatched[2].Places);
    }

    // ---- runs -------------------------------------------------------------------------------------------------------------

    [Fact]
    public void A_starting_run_is_reported_with_the_deadline_of_every_attempt_and_backoff()
    {
        var store = new RecordingScheduleStore();
        var link = StoreLink.For(store);
        var options = new PeriodicTaskOptions { Timeout = TimeSpan.FromSeconds(5), Retries = 2, RetryBackoff = TimeSpan.FromSeconds(10) };
        var table = TestTables.Of(new PeriodicTaskSet("s").Add("other", _ => { }).Add("t", _ => { }, options));
        var run = new Run(7, Start);
        var now = Start + TimeSpan.FromSeconds(1);

        link.RunStarting(table[1], run, now);
        // 3 attempts of 5 s, backoffs of 10 s and 20 s.
        var deadline = now + TimeSpan.FromSeconds(5 + 10 + 5 + 20 + 5);
        Assert.Equal(deadline, RetryPolicy.Deadline(options, now));
        Assert.Equal((1, "t", run, now, (DateTimeOffset?)deadline), Assert.Single(store.Starting));

        link.RunStarting(table[0], run, now);
        Assert.Null(store.Starting[1].Deadline); // no timeout: no deadline
    }

    [Fact]
    public void An_ended_run_is_reported_with_its_start_and_the_counters_after_it()
    {
        var store = new RecordingScheduleStore(tickBase: 100);
        var link = StoreLink.For(store);
        var table = TestTables.Of(new PeriodicTaskSet("s").Add("t", _ => { }));
        var task = table[0];
        var run = new Run(105, Start + TimeSpan.FromMinutes(5));
        var startedAt = run.ScheduledAt + TimeSpan.FromMilliseconds(3);
        task.Start(run, recordFirst: false);
        task.Counters.Started(startedAt);
        task.End();
        task.Counters.Ended(RunOutcome.Failed, TimeSpan.FromSeconds(2), attempts: 3);
        Scheduler.Advance(TimeSpan.FromSeconds(30));

        link.RunEnded(task, new RunEnded(0, RunOutcome.Failed, TimeSpan.FromSeconds(2), 3), Sys.Scheduler);

        var (name, at, ended) = Assert.Single(store.Ended);
        Assert.Equal(("t", Sys.Scheduler.Now), (name, at));
        Assert.Equal(new EndedRun(105, run.ScheduledAt, startedAt, TimeSpan.FromSeconds(2), RunOutcome.Failed, 3, task.Counters.ToRecord()), ended);
        Assert.Equal((1L, 1L, 2L, 1L), (ended.Counters.Runs, ended.Counters.Failed, ended.Counters.Retries, ended.Counters.Ended));
    }

    [Fact]
    public void An_ended_run_without_a_recorded_start_is_reported_as_starting_when_it_was_due()
    {
        var store = new RecordingScheduleStore();
        var link = StoreLink.For(store);
        var task = TestTables.Of(new PeriodicTaskSet("s").Add("t", _ => { }))[0];
        var run = new Run(1, Start + TimeSpan.FromMinutes(1));
        task.Start(run, recordFirst: true);
        task.End();

        link.RunEnded(task, new RunEnded(0, RunOutcome.Cancelled, TimeSpan.Zero), Sys.Scheduler);
        Assert.Equal(run.ScheduledAt, Assert.Single(store.Ended).Run.StartedAt);
    }

    [Fact]
    public void The_end_of_a_task_that_never_ran_is_not_reported()
    {
        var store = new RecordingScheduleStore();
        var task = TestTables.Of(new PeriodicTaskSet("s").Add("t", _ => { }))[0];
        StoreLink.For(store).RunEnded(task, new RunEnded(0, RunOutcome.Cancelled, TimeSpan.Zero), Sys.Scheduler);
        Assert.Empty(store.Ended);
    }

    [Fact]
    public void A_pause_and_a_resume_are_reported_by_task_name()
    {
        var store = new RecordingScheduleStore();
        var link = StoreLink.For(store);
        var task = TestTables.Of(new PeriodicTaskSet("s").Add("t", _ => { }))[0];
        var pause = new TaskPause("maintenance", Start.AddHours(1));
        task.Pause = pause;
        link.PauseChanged(task);
        task.Pause = null;
        link.PauseChanged(task);
        Assert.Equal([("t", pause), ("t", (TaskPause?)null)], store.Pauses);
    }

    [Fact]
    public void Changes_are_reported_with_the_definitions_after_them_and_only_named_bodies_outside_a_reload_may_be_kept()
    {
        var store = new RecordingScheduleStore();
        var link = StoreLink.For(store);
        var table = Places();
        var typed = new AddTask(TaskBodies.Build("typed", TaskBodies.NameOf(typeof(RuntimeChangeTests.InstanceCountingTask)), EveryTicks(1), Sys));
        TaskChange[] changes =
        [
            typed,
            new AddTask("delegate", (_, _) => ValueTask.CompletedTask),
            new UpdateTask("a", EveryTicks(4)),
            new UpdateTask("b", EveryTicks(4), (_, _) => ValueTask.CompletedTask),
            new RemoveTask("c"),
        ];
        table.Check(changes);
        table.Apply(changes, 0);
        link.TasksChanged(changes, table, fromConfiguration: false);
        Assert.Equal(
            [("typed", TaskChangeKind.Add, true), ("delegate", TaskChangeKind.Add, false), ("a", TaskChangeKind.Update, true),
             ("b", TaskChangeKind.Update, false), ("c", TaskChangeKind.Remove, true)],
            store.Changes.Select(c => (c.Task, c.Kind, c.Keep)));
        Assert.Equal(EveryTicks(4), store.Changes[2].Definition!.Options);
        Assert.Null(store.Changes[4].Definition);

        store.Changes.Clear();
        link.TasksChanged([new RemoveTask("a")], table, fromConfiguration: true); // the configuration keeps what a reload changes
        Assert.False(store.Changes.Single().Keep);
    }

    // ---- restore ----------------------------------------------------------------------------------------------------------

    [Fact]
    public void Restore_puts_back_counters_last_start_pause_and_place_and_returns_the_due_times_missed()
    {
        var counters = new CounterRecord(7, 6, 1, 0, 0, 2, 3, 4, 1, 7, TimeSpan.FromSeconds(7), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(1));
        var lastRun = Start - TimeSpan.FromMinutes(2);
        var pause = new TaskPause("maintenance", null);
        var store = new RecordingScheduleStore(restored: new Dictionary<string, RestoredPlace>
        {
            ["t"] = new(TicksLeft: 1, NextDueAt: null, NotBefore: null, LastRunAt: lastRun, Pause: pause, Counters: counters),
            // every minute, skip: due 5 min before the start, so 6 due times passed (-5 .. 0 min).
            ["s"] = new(TicksLeft: null, NextDueAt: Start - TimeSpan.FromMinutes(5), NotBefore: null),
            ["gone"] = new(TicksLeft: 1, NextDueAt: null, NotBefore: null),
        });
        var table = TestTables.Of(new PeriodicTaskSet("set")
            .Add("t", _ => { }, EveryTicks(2))
            .Add("s", _ => { }, new PeriodicTaskOptions { Spacing = TimeSpan.FromMinutes(1), Misfire = MisfirePolicy.Skip })
            .Add("fresh", _ => { }, EveryTicks(4)));

        var missed = StoreLink.For(store).Restore(table, Start);

        Assert.Equal([new DueRun(1, 6)], missed);
        var t = table[0];
        Assert.Equal(counters, t.Counters.ToRecord());
        Assert.Equal((lastRun, pause), (t.Counters.LastStart, t.Pause));
        Assert.Equal(1L, table.Schedule.NextDueTick(0)); // 1 tick left, not the 3 of a fresh start
        Assert.Equal(1L, table.Schedule.NextDueTick(1)); // the next due time after the start: 1 min
        Assert.Equal(5L, table.Schedule.NextDueTick(2)); // nothing saved: a fresh start
        Assert.Equal((0L, null, null), (table[2].Counters.Runs, table[2].Counters.LastStart, table[2].Pause));
    }

    [Fact]
    public void A_restored_hold_is_taken_from_the_start_of_this_set()
    {
        var store = new RecordingScheduleStore(restored: new Dictionary<string, RestoredPlace>
        {
            ["t"] = new(TicksLeft: 1, NextDueAt: null, NotBefore: Start + TimeSpan.FromMinutes(3)),
        });
        var table = TestTables.Of(new PeriodicTaskSet("set").Add("t", _ => { }, EveryTicks(2)));
        Assert.Empty(StoreLink.For(store).Restore(table, Start));
        Assert.Equal(3L, table.Schedule.NextDueTick(0)); // the first tick at or after 3 min, not after 1 tick
    }

    [Fact]
    public void A_store_with_nothing_saved_restores_nothing()
    {
        var table = TestTables.Of(new PeriodicTaskSet("set").Add("t", _ => { }, EveryTicks(2)));
        Assert.Empty(StoreLink.For(new RecordingScheduleStore(tickBase: 5)).Restore(table, Start));
        Assert.Equal(3L, table.Schedule.NextDueTick(0));
    }
}

/// <summary>An in-memory <see cref="IScheduleStore"/> that records every call a manager's link makes.</summary>
internal sealed class RecordingScheduleStore(
    long tickBase = 0, bool recordsStartBeforeRun = false, IReadOnlyDictionary<string, RestoredPlace>? restored = null) : IScheduleStore
{
    public IReadOnlyDictionary<string, RestoredPlace>? Restored => restored;

    public long TickBase => tickBase;

    public bool RecordsStartBeforeRun => recordsStartBeforeRun;

    public bool KeepsHistory { get; init; }

    public List<(long Tick, List<PlaceReport> Places)> Dispatched { get; } = [];

    public List<(int Index, string Task, Run Run, DateTimeOffset At, DateTimeOffset? Deadline)> Starting { get; } = [];

    public List<(string Task, DateTimeOffset At, EndedRun Run)> Ended { get; } = [];

    public List<(string Task, TaskPause? Pause)> Pauses { get; } = [];

    public List<TaskChangeReport> Changes { get; } = [];

    public IReadOnlyList<PeriodicTaskDefinition>? Tasks { get; init; }

    public void TasksChanged(IReadOnlyList<TaskChangeReport> changes) => Changes.AddRange(changes);

    public void TickDispatched(long tick, IReadOnlyList<PlaceReport> places) => Dispatched.Add((tick, places.ToList()));

    public void RunStarting(int index, string task, Run run, DateTimeOffset at, DateTimeOffset? deadline) =>
        Starting.Add((index, task, run, at, deadline));

    public void RunEnded(string task, DateTimeOffset at, EndedRun run) => Ended.Add((task, at, run));

    public void PauseChanged(string task, TaskPause? pause) => Pauses.Add((task, pause));
}
