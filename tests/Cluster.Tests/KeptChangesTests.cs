using ActorScheduler.Persistence;
using ActorScheduler.Runtime;
using ActorScheduler.Tasks;
using Akka.TestKit.Xunit2;
using Xunit;

namespace ActorScheduler.Cluster.Tests;

/// <summary>How a keeper folds the changes made at run time into one record per task, and what it starts from again.</summary>
public sealed class KeptChangesTests : TestKit
{
    private static readonly DateTimeOffset At = new(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);
    private static readonly PeriodicTaskOptions Every5 = new() { TicksBetweenRuns = 5 };
    private static readonly PeriodicTaskOptions Every7 = new() { TicksBetweenRuns = 7 };

    private static readonly PeriodicTaskDefinition Own = PeriodicTaskDefinition.FromCode("own", (_, _) => ValueTask.CompletedTask);

    private static readonly string Counting = TaskBodies.NameOf(typeof(CountingTask));

    private readonly KeptChanges _changes = new("jobs", [Own]);
    private readonly ScheduleState _state = new();

    [Fact]
    public void An_update_of_a_task_added_by_type_stays_an_addition_with_the_new_options_and_a_removal_then_leaves_nothing_kept()
    {
        Keep(TaskChangeKind.Add, Typed("added", Every5));
        Keep(TaskChangeKind.Update, Typed("added", Every7));
        var kept = _state.Changes["added"];
        Assert.Equal((KeptChanges.Add, Every7, Counting, (string?)null), (kept.Kind, kept.Options, kept.BodyType, kept.Base));

        Keep(TaskChangeKind.Remove, null);
        Assert.Empty(_state.Changes); // the task was not the set's own: nothing to keep
    }

    [Fact]
    public void An_update_then_a_removal_of_the_sets_own_task_is_kept_as_a_removal_over_its_definition()
    {
        Keep(TaskChangeKind.Update, Own.WithOptions(Every5), "own");
        Assert.Equal((KeptChanges.Update, Every5, (string?)null), (_state.Changes["own"].Kind, _state.Changes["own"].Options, _state.Changes["own"].BodyType));
        Keep(TaskChangeKind.Remove, null, "own");
        Assert.Equal((KeptChanges.Remove, _changes.BaseOf("own")), (_state.Changes["own"].Kind, _state.Changes["own"].Base));
        Assert.NotNull(_changes.BaseOf("own"));
        Assert.Null(_changes.BaseOf("added"));
    }

    [Fact]
    public void A_change_that_cannot_be_kept_leaves_its_task_as_the_set_defines_it()
    {
        Assert.Null(_changes.Fold(new TaskChangeReport("own", TaskChangeKind.Update, Own, Keep: false), _state, At)); // nothing kept yet
        Keep(TaskChangeKind.Update, Own.WithOptions(Every5), "own");
        Assert.Equal(KeptChanges.Configured, _changes.Fold(new TaskChangeReport("own", TaskChangeKind.Update, Own, Keep: false), _state, At)!.Kind);
    }

    [Fact]
    public void A_restart_applies_the_kept_changes_builds_added_bodies_and_drops_changes_over_another_definition()
    {
        Keep(TaskChangeKind.Update, Own.WithOptions(Every5), "own");
        Keep(TaskChangeKind.Add, Typed("added", Every7));
        _state.Apply(new ChangeRecorded("missing", KeptChanges.Add, null, Every7, "No.Such.Task, No.Such.Assembly", At));
        _state.Apply(new ChangeRecorded("gone", KeptChanges.Remove, "0123456789ABCDEF", null, null, At)); // the set has no "gone" now

        var dropped = new List<ChangeRecorded>();
        var tasks = _changes.Restore(_state, Sys, Sys.Log, dropped, At)!;
        Assert.Equal([("own", Every5), ("added", Every7)], tasks.Select(t => (t.Name, t.Options)));
        Assert.Equal(Counting, tasks[1].BodyType);
        Assert.Equal([("gone", KeptChanges.Configured)], dropped.Select(d => (d.Task, d.Kind)));
        Assert.True(_state.Changes.ContainsKey("missing")); // kept: a later version of this node may build it

        var redefined = new KeptChanges("jobs", [Own.WithOptions(Every7)]); // a new version of the set defines "own" differently
        dropped.Clear();
        var again = redefined.Restore(_state, Sys, Sys.Log, dropped, At)!;
        Assert.Equal(Every7, again.Single(t => t.Name == "own").Options);
        Assert.Contains(dropped, d => d is { Task: "own", Kind: KeptChanges.Configured });
    }

    [Fact]
    public void A_body_type_this_node_cannot_build_is_refused_naming_the_type()
    {
        var error = Assert.Throws<PeriodicTaskDefinitionException>(() => TaskBodies.Build("x", "No.Such.Task, No.Such.Assembly", Every5, Sys));
        Assert.Contains("'No.Such.Task, No.Such.Assembly' is not loaded on this node", error.Message);
        var notATask = Assert.Throws<PeriodicTaskDefinitionException>(() => TaskBodies.Build("x", TaskBodies.NameOf(typeof(string)), Every5, Sys));
        Assert.Contains("is not a concrete class implementing IPeriodicTask", notATask.Message);
    }

    private PeriodicTaskDefinition Typed(string name, PeriodicTaskOptions options) => TaskBodies.Build(name, Counting, options, Sys);

    private void Keep(TaskChangeKind kind, PeriodicTaskDefinition? definition, string? task = null)
    {
        if (_changes.Fold(new TaskChangeReport(task ?? definition?.Name ?? "added", kind, definition, Keep: true), _state, At) is { } record)
            _state.Apply(record);
    }
}
