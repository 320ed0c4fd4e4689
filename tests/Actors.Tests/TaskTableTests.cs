using ActorScheduler.Configuration;
using ActorScheduler.Messages;
using ActorScheduler.Runtime;
using ActorScheduler.Scheduling;
using ActorScheduler.Tasks;
using Xunit;

namespace ActorScheduler.Tests;

/// <summary>
/// A manager's task table on its own (docs/semantics.md, "Changes at run time"): lookups with the closest name, changes
/// checked whole before any is applied, removed tasks keeping their slot, and stats.
/// </summary>
public class TaskTableTests
{
    private static readonly Func<PeriodicTaskContext, CancellationToken, ValueTask> Body = (_, _) => ValueTask.CompletedTask;

    private static PeriodicTaskOptions EveryTicks(int ticksBetweenRuns) => new() { TicksBetweenRuns = ticksBetweenRuns };

    /// <summary>Tasks a (every tick), b (every 3 ticks) and c (every tick) of set "compute".</summary>
    private static TaskTable Abc() => TestTables.Of(new PeriodicTaskSet("compute")
        .Add("a", _ => { })
        .Add("b", _ => { }, EveryTicks(2))
        .Add("c", _ => { }));

    // ---- lookups ------------------------------------------------------------------------------------------------------

    [Fact]
    public void Find_gives_the_task_of_a_name_by_ordinal_comparison()
    {
        var table = Abc();
        Assert.Same(table[1], table.Find("b"));
        Assert.Equal(("b", 1), (table.Find("b")!.Name, table.Find("b")!.Index));
        Assert.Null(table.Find("B"));
        Assert.Null(table.Find("d"));
    }

    [Fact]
    public void NotFound_names_the_set_and_the_task_and_suggests_the_closest_name()
    {
        var table = TestTables.Of(new PeriodicTaskSet("compute").Add("sync-power-states", _ => { }).Add("cleanup", _ => { }));
        var error = table.NotFound("sync-power-state");
        Assert.Equal("no task named 'sync-power-state' in task set 'compute'; did you mean 'sync-power-states'?", error.Message);
        Assert.Equal(("compute", "sync-power-state"), (error.SetName, error.TaskName));
    }

    [Fact]
    public void NotFound_suggests_nothing_when_no_name_is_close()
    {
        var table = TestTables.Of(new PeriodicTaskSet("compute").Add("sync-power-states", _ => { }));
        Assert.Equal("no task named 'zzz' in task set 'compute'", table.NotFound("zzz").Message);
    }

    [Fact]
    public void NotFound_does_not_suggest_a_removed_task()
    {
        var table = TestTables.Of(new PeriodicTaskSet("compute").Add("sync-power-states", _ => { }).Add("cleanup", _ => { }));
        table.Apply([new RemoveTask("sync-power-states")], 0);
        Assert.Equal("no task named 'sync-power-states' in task set 'compute'", table.NotFound("sync-power-states").Message);
    }

    // ---- Check ----------------------------------------------------------------------------------------------------------

    [Fact]
    public void Check_accepts_a_valid_change_and_applies_none_of_it()
    {
        var table = Abc();
        table.Check([new AddTask("d", Body), new UpdateTask("a", EveryTicks(4)), new RemoveTask("b")]);
        Assert.Null(table.Find("d"));
        Assert.True(table.IsLive(table[1]));
        Assert.Null(table[0].Definition.Options.TicksBetweenRuns);
        Assert.Equal(3, table.All.Count);
    }

    [Fact]
    public void Check_refuses_a_task_named_twice_in_one_change()
    {
        var error = Assert.Throws<ArgumentException>(() => Abc().Check([new UpdateTask("a", EveryTicks(1)), new RemoveTask("a")]));
        Assert.StartsWith("task 'a' appears more than once in one change.", error.Message);
        Assert.Equal("changes", error.ParamName);
    }

    [Fact]
    public void Check_refuses_a_removal_and_an_add_of_one_name_in_one_change()
    {
        var error = Assert.Throws<ArgumentException>(() => Abc().Check([new RemoveTask("a"), new AddTask("a", Body)]));
        Assert.StartsWith("task 'a' appears more than once in one change.", error.Message);
    }

    [Fact]
    public void Check_refuses_an_add_of_a_name_the_set_has()
    {
        var error = Assert.Throws<ArgumentException>(() => Abc().Check([new AddTask("b", Body)]));
        Assert.StartsWith("task set 'compute' already has a task named 'b'.", error.Message);
    }

    [Fact]
    public void Check_refuses_an_update_of_an_unknown_task_naming_the_closest()
    {
        var error = Assert.Throws<PeriodicTaskNotFoundException>(() => Abc().Check([new UpdateTask("bb", EveryTicks(1))]));
        Assert.Equal("no task named 'bb' in task set 'compute'; did you mean 'b'?", error.Message);
        Assert.Equal("bb", error.TaskName);
    }

    [Fact]
    public void Check_refuses_a_removal_of_an_unknown_task()
    {
        var error = Assert.Throws<PeriodicTaskNotFoundException>(() => Abc().Check([new RemoveTask("x")]));
        Assert.Equal("x", error.TaskName);
    }

    [Fact]
    public void Check_refuses_an_update_or_a_removal_of_a_removed_task()
    {
        var table = Abc();
        table.Apply([new RemoveTask("b")], 0);
        Assert.Throws<PeriodicTaskNotFoundException>(() => table.Check([new UpdateTask("b", EveryTicks(1))]));
        Assert.Throws<PeriodicTaskNotFoundException>(() => table.Check([new RemoveTask("b")]));
    }

    [Fact]
    public void Check_refuses_an_update_that_moves_a_node_task_to_the_cluster()
    {
        var error = Assert.Throws<PeriodicTaskDefinitionException>(() =>
            Abc().Check([new UpdateTask("a", new PeriodicTaskOptions { Scope = TaskScope.Cluster })]));
        Assert.Contains("task 'a': scope and role cannot change while the set runs", error.Message);
    }

    [Fact]
    public void Check_refuses_an_update_that_changes_a_cluster_tasks_role_and_an_update_without_scope_keeps_scope_and_role()
    {
        var table = TestTables.Of(
            new PeriodicTaskSet("cluster").Add("t", _ => { }, new PeriodicTaskOptions { Scope = TaskScope.Cluster, Role = "r1" }),
            TaskScope.Cluster);
        var error = Assert.Throws<PeriodicTaskDefinitionException>(() =>
            table.Check([new UpdateTask("t", new PeriodicTaskOptions { Scope = TaskScope.Cluster, Role = "r2" })]));
        Assert.Contains("scope and role cannot change", error.Message);

        var change = new TaskChange[] { new UpdateTask("t", EveryTicks(3)) };
        table.Check(change);
        table.Apply(change, 0);
        var options = table[0].Definition.Options;
        Assert.Equal((TaskScope.Cluster, "r1", 3), (options.Scope, options.Role, options.TicksBetweenRuns));
    }

    [Fact]
    public void Check_refuses_a_cluster_task_added_to_the_singleton_of_another_role()
    {
        var table = TestTables.Of(
            new PeriodicTaskSet("cluster").Add("t", _ => { }, new PeriodicTaskOptions { Scope = TaskScope.Cluster, Role = "r1" }),
            TaskScope.Cluster);
        var error = Assert.Throws<PeriodicTaskDefinitionException>(() => table.Check([
            new AddTask("other", (_, _) => ValueTask.CompletedTask, new PeriodicTaskOptions { Scope = TaskScope.Cluster, Role = "r2" })]));
        Assert.Contains("task 'other': role = \"r2\", but this cluster manager runs the tasks of role \"r1\": add it through the set's client", error.Message);
        table.Check([new AddTask("same", (_, _) => ValueTask.CompletedTask, new PeriodicTaskOptions { Scope = TaskScope.Cluster, Role = "r1" })]);
    }

    [Fact]
    public void Check_refuses_an_update_with_invalid_options()
    {
        var error = Assert.Throws<PeriodicTaskDefinitionException>(() => Abc().Check([new UpdateTask("a", EveryTicks(-1))]));
        Assert.Equal("task 'a': ticks-between-runs must be >= 0, got -1.", error.Message);
    }

    [Fact]
    public void Check_refuses_a_cluster_task_added_to_a_node_set()
    {
        var error = Assert.Throws<PeriodicTaskDefinitionException>(() =>
            Abc().Check([new AddTask("d", Body, new PeriodicTaskOptions { Scope = TaskScope.Cluster })]));
        Assert.StartsWith("task 'd': scope = cluster tasks run in the cluster package's singleton", error.Message);
    }

    [Fact]
    public void Check_refuses_a_node_task_added_to_a_cluster_set()
    {
        var table = TestTables.Of(new PeriodicTaskSet("cluster").Add("t", _ => { }, new PeriodicTaskOptions { Scope = TaskScope.Cluster }),
            TaskScope.Cluster);
        var error = Assert.Throws<PeriodicTaskDefinitionException>(() => table.Check([new AddTask("d", Body)]));
        Assert.StartsWith("task 'd': this cluster singleton runs scope = cluster tasks", error.Message);
        table.Check([new AddTask("d", Body, new PeriodicTaskOptions { Scope = TaskScope.Cluster })]); // the right scope passes
    }

    [Fact]
    public void A_refused_change_leaves_the_table_as_it_was()
    {
        var table = Abc();
        var before = Snapshot(table);
        Assert.Throws<PeriodicTaskNotFoundException>(() =>
            table.Check([new AddTask("d", Body), new UpdateTask("a", EveryTicks(5)), new RemoveTask("b"), new RemoveTask("missing")]));
        Assert.Equal(before, Snapshot(table));
        Assert.Null(table.Find("d"));

        static string Snapshot(TaskTable t) => string.Join("; ",
            $"{t.All.Count} slots, {t.LiveCount} live, {t.Schedule.Count} scheduled",
            string.Join(", ", t.All.Select(s =>
                $"{s.Name}#{s.Index} live={t.IsLive(s)} found={t.Find(s.Name) == s} every={s.Definition.Options.TicksBetweenRuns} due={t.Schedule.NextDueTick(s.Index)}")));
    }

    // ---- Apply ----------------------------------------------------------------------------------------------------------

    [Fact]
    public void Apply_returns_the_tasks_added_updated_and_removed_each_in_the_order_of_the_change()
    {
        var table = Abc();
        var (added, updated, removed) = table.Apply(
            [new RemoveTask("c"), new AddTask("e", Body), new UpdateTask("b", EveryTicks(1)), new RemoveTask("a"), new AddTask("d", Body)],
            afterTick: 0);
        Assert.Equal(["e", "d"], added.Select(t => t.Name));
        Assert.Equal([3, 4], added.Select(t => t.Index));
        Assert.Equal([table[1]], updated);
        Assert.Equal([table[2], table[0]], removed);
        Assert.Equal(["b", "e", "d"], table.Live.Select(t => t.Name));
    }

    [Fact]
    public void An_added_task_takes_the_next_slot_and_counts_as_if_the_set_had_started_on_the_tick_after_the_change()
    {
        var table = Abc();
        var (added, _, _) = table.Apply([new AddTask("d", Body, EveryTicks(1))], afterTick: 3);
        var task = Assert.Single(added);
        Assert.Equal((3, 4, 4), (task.Index, table.All.Count, table.LiveCount));
        Assert.Same(task, table.Find("d"));
        Assert.True(table.IsLive(task));
        Assert.Equal(6L, table.Schedule.NextDueTick(task.Index)); // its tick 0 is tick 4; every 2 ticks
    }

    [Fact]
    public void A_removed_task_keeps_its_slot_but_leaves_the_set_and_its_schedule()
    {
        var table = Abc();
        var b = table[1];
        b.Pending = new Run(3, DateTimeOffset.UnixEpoch);
        var (_, _, removed) = table.Apply([new RemoveTask("b")], afterTick: 0);

        Assert.Same(b, Assert.Single(removed));
        Assert.Equal(3, table.All.Count);
        Assert.Same(b, table[1]);
        Assert.Equal(2, table.LiveCount);
        Assert.False(table.IsLive(b));
        Assert.Equal(["a", "c"], table.Live.Select(t => t.Name));
        Assert.Null(table.Find("b"));
        Assert.Null(table.Schedule.NextDueTick(b.Index));
        Assert.Null(b.Pending);
    }

    [Fact]
    public void A_name_removed_then_added_again_gets_a_new_slot_and_is_live()
    {
        var table = Abc();
        var old = table[1];
        table.Apply([new RemoveTask("b")], afterTick: 0);
        var (added, _, _) = table.Apply([new AddTask("b", Body)], afterTick: 1);

        var again = Assert.Single(added);
        Assert.NotSame(old, again);
        Assert.Equal(3, again.Index);
        Assert.Same(again, table.Find("b"));
        Assert.True(table.IsLive(again));
        Assert.False(table.IsLive(old));
        Assert.Equal((4, 3), (table.All.Count, table.LiveCount));
        Assert.Equal(["a", "c", "b"], table.Live.Select(t => t.Name));
    }

    [Fact]
    public void An_update_keeps_the_counters_and_the_body_unless_a_body_is_given()
    {
        var table = Abc();
        var a = table[0];
        var body = a.Definition.Body;
        a.Counters.Started(DateTimeOffset.UnixEpoch);
        table.Apply([new UpdateTask("a", EveryTicks(1))], afterTick: 0);
        Assert.Same(a, table[0]);
        Assert.Same(body, a.Definition.Body);
        Assert.Equal((1L, "every 2 ticks = 120 s"), (a.Counters.Runs, a.Schedule));

        Func<PeriodicTaskContext, CancellationToken, ValueTask> other = (_, _) => ValueTask.CompletedTask;
        table.Apply([new UpdateTask("a", EveryTicks(1), other)], afterTick: 0);
        Assert.Same(other, a.Definition.Body);
    }

    [Fact]
    public void An_update_to_overlap_skip_drops_the_queued_run_and_one_to_queue_keeps_it()
    {
        var table = TestTables.Of(new PeriodicTaskSet("compute").Add("q", _ => { }, new PeriodicTaskOptions { Overlap = OverlapMode.Queue }));
        var task = table[0];
        var pending = new Run(2, DateTimeOffset.UnixEpoch);
        task.Pending = pending;

        table.Apply([new UpdateTask("q", new PeriodicTaskOptions { Overlap = OverlapMode.Queue, TicksBetweenRuns = 1 })], afterTick: 0);
        Assert.Same(pending, task.Pending);

        table.Apply([new UpdateTask("q", new PeriodicTaskOptions { Overlap = OverlapMode.Skip })], afterTick: 0);
        Assert.Null(task.Pending);
    }

    // ---- stats ----------------------------------------------------------------------------------------------------------

    [Fact]
    public void StatsOf_gives_the_next_due_tick_as_shown_outside_and_its_time_while_dispatching()
    {
        var table = Abc();
        var store = StoreLink.For(new RecordingScheduleStore(tickBase: 100));
        var start = TestTables.Origin;

        var b = table.StatsOf(table[1], dispatching: true, store, start);
        Assert.Equal((103L, start + TimeSpan.FromSeconds(180)), (b.NextDueTick, b.NextDueAt)); // tick 3 inside is at 3 intervals

        table.Schedule.Advance(1, []);
        var a = table.StatsOf(table[0], dispatching: true, store, start);
        Assert.Equal((102L, start + TimeSpan.FromSeconds(120)), (a.NextDueTick, a.NextDueAt));

        var withoutStore = table.StatsOf(table[0], dispatching: true, StoreLink.None, start);
        Assert.Equal(2L, withoutStore.NextDueTick);
    }

    [Fact]
    public void StatsOf_gives_no_next_due_tick_when_not_dispatching_or_never_due()
    {
        var table = TestTables.Of(new PeriodicTaskSet("compute").Add("a", _ => { }).Add("off", _ => { }, new PeriodicTaskOptions { Enabled = false }));
        var stopped = table.StatsOf(table[0], dispatching: false, StoreLink.None, TestTables.Origin);
        Assert.Equal((null, null), (stopped.NextDueTick, stopped.NextDueAt));

        var off = table.StatsOf(table[1], dispatching: true, StoreLink.None, TestTables.Origin);
        Assert.Equal((false, "disabled", null, null), (off.Enabled, off.Schedule, off.NextDueTick, off.NextDueAt));
    }

    [Fact]
    public void StatsOf_gives_the_counters_the_run_in_flight_and_the_pause()
    {
        var table = Abc();
        var task = table[0];
        var startedAt = TestTables.Origin.AddMinutes(1);
        task.Start(new Run(1, startedAt), recordFirst: false);
        task.Counters.Started(startedAt);
        task.Pause = new TaskPause("maintenance", null);

        var stats = table.StatsOf(task, dispatching: true, StoreLink.None, TestTables.Origin);
        Assert.Equal(("a", "every tick = 60 s", true, 1L, true, startedAt), (stats.Task, stats.Schedule, stats.Enabled, stats.Runs, stats.Running, stats.LastStart));
        Assert.Equal((true, "maintenance"), (stats.Paused, stats.PauseNote));
    }
}

/// <summary>Task tables as a manager builds them: the set's tasks resolved by default settings, a tick every minute.</summary>
internal static class TestTables
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(60);

    /// <summary>The wall-clock time of tick 0.</summary>
    public static readonly DateTimeOffset Origin = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static TaskTable Of(PeriodicTaskSet set, TaskScope scope = TaskScope.Node)
    {
        var tasks = PeriodicTaskSettings.Create().Resolve(set);
        var schedule = new TaskSchedule(tasks.Select(t => t.Options).ToList(), new TickClock(Interval, Interval), Origin);
        return new TaskTable(set.Name, tasks, Interval, scope, schedule);
    }
}
