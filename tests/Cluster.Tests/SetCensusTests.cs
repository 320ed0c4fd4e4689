using ActorScheduler.Tasks;
using Xunit;

namespace ActorScheduler.Cluster.Tests;

/// <summary>docs/cluster.md, "One set across the cluster": nodes tell each other their sets and say when they differ.</summary>
public sealed class SetCensusTests
{
    private const string Tasks = "actor-scheduler.periodic-interval = 100ms";

    private static PeriodicTaskSet Set(string name, params string[] tasks)
    {
        var set = new PeriodicTaskSet(name);
        foreach (var task in tasks)
            set.Add(task, (_, _) => ValueTask.CompletedTask, new PeriodicTaskOptions { Scope = TaskScope.Cluster });
        return set;
    }

    [Fact]
    public async Task A_node_whose_set_shares_no_name_with_the_oldest_node_s_is_not_ready_and_both_log_an_error_naming_both_sets()
    {
        using var cluster = new TestCluster(Tasks);
        await cluster.FormAsync(0, 1); // node 0 is the oldest: the singletons run there
        var oldest = cluster[0].StartClusterPeriodicTasks(Set("node-1", "a"));
        var younger = cluster[1].StartClusterPeriodicTasks(Set("node-2", "a"));

        var client = younger.Client(TimeSpan.FromSeconds(5));
        TaskSetNotReadyException? error = null;
        await TestCluster.WaitUntilAsync(() =>
        {
            error = Record.ExceptionAsync(() => client.GetStatsAsync()).GetAwaiter().GetResult() as TaskSetNotReadyException;
            return error?.Message.Contains("must run the same set", StringComparison.Ordinal) == true; // not a plain timeout
        }, TimeSpan.FromSeconds(30), "the younger node's client refuses with the differing sets");
        Assert.Contains("'node-2'", error!.Message);
        Assert.Contains("'node-1'", error.Message);
        await TestCluster.WaitUntilAsync(() => new[] { 0, 1 }.All(n => cluster.Errors.Any(e => e.Node == n && e.Message.Contains("must run the same set"))),
            TimeSpan.FromSeconds(30), "an error line on both nodes");

        // The oldest node's set runs its cluster tasks (its singleton is there): it stays ready.
        var report = await oldest.Client(TimeSpan.FromSeconds(15)).GetStatsAsync();
        Assert.Equal("node-1", report.SetName);
    }

    [Fact]
    public async Task A_set_of_the_same_name_with_other_cluster_tasks_is_a_warning_naming_both_lists_and_stays_ready()
    {
        using var cluster = new TestCluster(Tasks);
        await cluster.FormAsync(0, 1);
        var first = cluster[0].StartClusterPeriodicTasks(Set("jobs", "a", "b"));
        cluster[1].StartClusterPeriodicTasks(Set("jobs", "a"));

        await TestCluster.WaitUntilAsync(
            () => cluster.Warnings.Any(w => w.Message.Contains("other cluster tasks") && w.Message.Contains("[/a, /b]") && w.Message.Contains("[/a]")),
            TimeSpan.FromSeconds(30), "a warning naming both lists");
        var report = await first.Client(TimeSpan.FromSeconds(15)).GetStatsAsync();
        Assert.Equal(["a", "b"], report.Tasks.Select(t => t.Task).Order());
    }
}
