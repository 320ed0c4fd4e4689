using ActorScheduler.Runtime;
using ActorScheduler.Messages;
using ActorScheduler.Persistence;
using ActorScheduler.Tasks;
using Akka.Actor;
using Xunit;
using Xunit.Abstractions;

namespace ActorScheduler.Cluster.Tests;

/// <summary>
/// Three in-process nodes: cluster-scoped tasks through the cluster singleton, node-scoped tasks on every node,
/// hand-over on graceful leave and on a crash, and recovery from the SQLite journal after a full restart. How long a
/// hand-over takes is the machine's: shown, not asserted (src/Benchmarks measures the fail-over after a crash).
/// </summary>
public sealed class ClusterTests(ITestOutputHelper output) : IDisposable
{
    private readonly StateBackend _backend = StateBackend.Sqlite();

    private string Hocon(string tasks, bool persistent = true) => $$"""
        actor-scheduler {
          periodic-interval = 100ms
          initial-delay = 100ms
          shutdown-timeout = 1s
          tasks { {{tasks}} }
        }
        {{(persistent ? _backend.Hocon : "")}}
        """;

    private static PeriodicTaskSet Set(params (string Name, Func<PeriodicTaskContext, CancellationToken, ValueTask> Body)[] tasks)
    {
        var set = new PeriodicTaskSet("jobs");
        foreach (var (name, body) in tasks)
            set.Add(name, body);
        return set;
    }

    [Fact]
    public async Task A_cluster_task_runs_once_per_due_time_on_one_node_of_its_role_and_node_tasks_run_on_every_node()
    {
        using var cluster = new TestCluster(Hocon("""
            report { scope = cluster }
            index { scope = cluster, role = worker }
            heartbeat { scope = node }
            """, persistent: false));
        await cluster.FormAsync(i => i == 0 ? "" : "akka.cluster.roles = [worker]", 0, 1, 2); // node 0 is not a worker
        var set = () => Set(
            ("report", (_, _) => ValueTask.CompletedTask),
            ("index", (_, _) => ValueTask.CompletedTask),
            ("heartbeat", (_, _) => ValueTask.CompletedTask));
        var sets = Enumerable.Range(0, 3).Select(i => cluster[i].StartClusterPeriodicTasks(set())).ToList();

        await TestCluster.WaitUntilAsync(
            () => Started(cluster, "report").Count >= 15 && Started(cluster, "index").Count >= 15, TimeSpan.FromSeconds(60), "15 runs of each");
        foreach (var task in new[] { "report", "index" })
        {
            var runs = Started(cluster, task);
            Assert.Single(runs.Select(e => e.Node).Distinct()); // exactly one node runs it
            Assert.Equal(runs.Count, runs.Select(e => e.Event.Tick).Distinct().Count()); // once per due time
        }

        Assert.NotEqual(0, Started(cluster, "index")[0].Node); // only a node with the role
        Assert.Equal([0, 1, 2], Started(cluster, "heartbeat").Select(e => e.Node).Distinct().Order());

        // Each role's singleton answers through its proxy, from any node.
        var report = await sets[2].ClusterTasks[""].Ask<TaskStatsReport>(GetTaskStats.Instance, TimeSpan.FromSeconds(15));
        Assert.Equal(["report"], report.Tasks.Select(t => t.Task));
        Assert.True(report["report"].Runs >= 15);
        var index = await sets[0].ClusterTasks["worker"].Ask<TaskStatsReport>(GetTaskStats.Instance, TimeSpan.FromSeconds(15));
        Assert.Equal(["index"], index.Tasks.Select(t => t.Task));
    }

    [Fact]
    public async Task On_graceful_leave_of_its_node_a_cluster_task_resumes_on_another_node_without_overlap_and_counts_missed()
    {
        var tracker = new RunTracker();
        // The leave comes just after a run starts. Runs take 2.5 s and ignore cancellation, longer than the 1 s the
        // leaving owner waits (shutdown-timeout): it hands over with the run in flight, and the new owner must not
        // start the task before that run's deadline (timeout 3 s). The due times passed meanwhile count as missed.
        using var cluster = new TestCluster(Hocon("sync { scope = cluster, spacing = 300ms, timeout = 3s, run-immediately = on }"));
        await cluster.FormAsync(0, 1, 2);
        for (var i = 0; i < 3; i++)
            cluster[i].StartClusterPeriodicTasks(Set(("sync", (_, _) => tracker.RunAsync(TimeSpan.FromMilliseconds(2500)))));
        await TestCluster.WaitUntilAsync(() => Runs(cluster, "sync", node: 0) >= 1, TimeSpan.FromSeconds(60), "a run on node 0");
        var inFlight = (PeriodicTaskStarted)cluster.Events.First(e => e.Node == 0 && e.Event is PeriodicTaskStarted).Event;

        var left = DateTimeOffset.UtcNow;
        await cluster.LeaveAsync(0);
        await TestCluster.WaitUntilAsync(() => Runs(cluster, "sync", node: 1) + Runs(cluster, "sync", node: 2) >= 1,
            TimeSpan.FromSeconds(60), "sync running again on node 1 or 2");

        var resumed = cluster.Events.Where(e => e.Node != 0 && e.Event is PeriodicTaskStarted { Task: "sync" })
            .Select(e => (PeriodicTaskStarted)e.Event).First();
        output.WriteLine($"sync resumed {(resumed.StartedAt - left).TotalSeconds:F1} s after the leave");
        Assert.True(resumed.StartedAt >= inFlight.StartedAt + TimeSpan.FromSeconds(3),
            $"resumed at {resumed.StartedAt:O}, before the handed-over run's deadline {inFlight.StartedAt + TimeSpan.FromSeconds(3):O}");
        AssertHeld(cluster);
        Assert.Equal(1, tracker.Max);
        Assert.Contains(cluster.Events, e => e.Node != 0 && e.Event is PeriodicTaskMissed { Task: "sync", Count: > 0 });
    }

    [Fact]
    public async Task Cluster_tasks_added_and_removed_at_run_time_from_another_node_stay_so_after_the_singleton_moves()
    {
        using var cluster = new TestCluster(Hocon("sync { scope = cluster, spacing = 300ms }"));
        await cluster.FormAsync(0, 1, 2);
        var sets = Enumerable.Range(0, 3).Select(i => cluster[i].StartClusterPeriodicTasks(Set(("sync", (_, _) => ValueTask.CompletedTask)))).ToList();
        await TestCluster.WaitUntilAsync(() => Runs(cluster, "sync", node: 0) >= 1, TimeSpan.FromSeconds(60), "a run on node 0");

        // From node 2 to the singleton on node 0: the addition crosses the network by its type, and is built there.
        var client = sets[2].Client(TimeSpan.FromSeconds(15));
        await client.ChangeAsync([
            AddTask.Of<CountingTask>("added", new PeriodicTaskOptions { Scope = TaskScope.Cluster, Spacing = TimeSpan.FromMilliseconds(300) }),
            new RemoveTask("sync")]);
        await TestCluster.WaitUntilAsync(() => Runs(cluster, "added", node: 0) >= 1, TimeSpan.FromSeconds(30), "the added task running on node 0");

        await cluster.LeaveAsync(0);
        await TestCluster.WaitUntilAsync(() => Runs(cluster, "added", node: 1) + Runs(cluster, "added", node: 2) >= 1,
            TimeSpan.FromSeconds(60), "the added task running again on node 1 or 2");
        var report = await sets[1].ClusterTasks[""].Ask<TaskStatsReport>(GetTaskStats.Instance, TimeSpan.FromSeconds(15));
        Assert.Equal(["added"], report.Tasks.Select(t => t.Task)); // and the removed one stays removed
        Assert.Equal(0, Runs(cluster, "sync", node: 1) + Runs(cluster, "sync", node: 2));
    }

    [Fact]
    public async Task When_its_node_crashes_a_cluster_task_resumes_on_another_node_only_after_the_old_run_timeout_and_counts_missed()
    {
        var tracker = new RunTracker();
        // Each run takes 9 s and ignores cancellation; timeout 10 s. The crash comes just after a run starts on node 0;
        // the singleton moves after ~5-7 s, while that body still runs: the new owner must wait for the run's deadline.
        // (A crashed process takes its bodies with it; in one process the "crashed" body goes on, so it is kept within its
        // timeout, as a run that ends by its deadline is all the hold can promise.)
        using var cluster = new TestCluster(Hocon("sync { scope = cluster, spacing = 500ms, timeout = 10s, run-immediately = on }"));
        await cluster.FormAsync(0, 1, 2);
        var sets = new List<ClusterTaskSet>();
        for (var i = 0; i < 3; i++)
            sets.Add(cluster[i].StartClusterPeriodicTasks(Set(("sync", (_, _) => tracker.RunAsync(TimeSpan.FromSeconds(9))))));
        await TestCluster.WaitUntilAsync(() => Runs(cluster, "sync", node: 0) >= 1, TimeSpan.FromSeconds(60), "a run on node 0");
        var inFlight = (PeriodicTaskStarted)cluster.Events.First(e => e.Node == 0 && e.Event is PeriodicTaskStarted).Event;
        await sets[0].ClusterTasks[""].Ask<StateFlushed>(FlushState.Instance, TimeSpan.FromSeconds(15)); // the run's start is in the journal
        var killedAt = DateTimeOffset.UtcNow;
        await cluster.KillAsync(0);

        await TestCluster.WaitUntilAsync(() => Runs(cluster, "sync", node: 1) + Runs(cluster, "sync", node: 2) >= 1,
            TimeSpan.FromSeconds(60), "sync resumed on node 1 or 2");
        var resumed = cluster.Events.Where(e => e.Node != 0 && e.Event is PeriodicTaskStarted { Task: "sync" })
            .Select(e => (PeriodicTaskStarted)e.Event).First();
        output.WriteLine($"sync resumed {(resumed.StartedAt - killedAt).TotalSeconds:F1} s after the crash");
        Assert.True(resumed.StartedAt >= inFlight.StartedAt + TimeSpan.FromSeconds(10),
            $"resumed at {resumed.StartedAt:O}, before the crashed run's deadline {inFlight.StartedAt + TimeSpan.FromSeconds(10):O}");
        AssertHeld(cluster);
        Assert.Equal(1, tracker.Max);
        Assert.Contains(cluster.Events, e => e.Node != 0 && e.Event is PeriodicTaskMissed { Task: "sync", Count: > 0 });
    }

    [Fact]
    public async Task After_a_full_restart_of_all_nodes_a_cluster_task_continues_from_the_sqlite_journal()
    {
        const string tasks = "count { scope = cluster, ticks-between-runs = 9, run-immediately = on }";
        var set = () => Set(("count", (_, _) => ValueTask.CompletedTask));
        long expected;
        using (var before = new TestCluster(Hocon(tasks)))
        {
            await before.FormAsync(0, 1, 2);
            var sets = Enumerable.Range(0, 3).Select(i => before[i].StartClusterPeriodicTasks(set())).ToList();
            await TestCluster.WaitUntilAsync(() => Runs(before, "count", node: 0) >= 2, TimeSpan.FromSeconds(60), "runs on ticks 0 and 10");
            var singleton = sets[0].ClusterTasks[""]; // the proxy on the singleton's own node
            var nextDue = (await singleton.Ask<TaskStatsReport>(GetTaskStats.Instance, TimeSpan.FromSeconds(15)))["count"].NextDueTick!.Value;
            await singleton.Ask<TasksStopped>(StopTasks.Instance, TimeSpan.FromSeconds(15)); // no more ticks from here
            var lastTick = (await singleton.Ask<TaskStatsReport>(GetTaskStats.Instance, TimeSpan.FromSeconds(15))).CurrentTick;
            await singleton.Ask<StateFlushed>(FlushState.Instance, TimeSpan.FromSeconds(15));
            expected = nextDue > lastTick ? nextDue : nextDue + 10; // the tick it was due on when the cluster stopped
            Assert.InRange(expected - lastTick, 1, 10);
        } // every node stops at once

        using var after = new TestCluster(Hocon(tasks));
        await after.FormAsync(0, 1, 2);
        for (var i = 0; i < 3; i++)
            after[i].StartClusterPeriodicTasks(set());
        await TestCluster.WaitUntilAsync(() => Runs(after, "count", node: 0) >= 1, TimeSpan.FromSeconds(60), "a run after the restart");
        // Tick numbers continue; not on the first tick (run-immediately is for a first start only), not 10 ticks in (a
        // fresh counter): on the tick it was due on.
        Assert.Equal(expected, FirstRunTick(after));

        static long FirstRunTick(TestCluster c) =>
            c.Events.Where(e => e.Event is PeriodicTaskStarted { Task: "count" }).Select(e => e.Event.Tick).First();
    }

    /// <summary>The new owner came up while the old run could still be in flight, and held the task (the case under test).</summary>
    private static void AssertHeld(TestCluster cluster) =>
        Assert.Contains(cluster.Warnings, w => w.Node != 0 && w.Message.Contains("may still be in flight"));

    private static List<(int Node, PeriodicTaskEvent Event)> Started(TestCluster cluster, string task) =>
        cluster.Events.Where(e => e.Event is PeriodicTaskStarted started && started.Task == task).ToList();

    [Fact]
    public async Task An_island_cluster_that_shares_the_state_store_runs_nothing_the_main_cluster_runs()
    {
        using var cluster = new TestCluster(Hocon("sync { scope = cluster }"));
        await cluster.FormAsync(0, 1);
        var set = () => Set(("sync", (_, _) => ValueTask.CompletedTask));
        cluster[0].StartClusterPeriodicTasks(set());
        cluster[1].StartClusterPeriodicTasks(set());
        await TestCluster.WaitUntilAsync(() => Runs(cluster, "sync", node: 0) >= 5, TimeSpan.FromSeconds(60), "sync runs on the main cluster");

        // Node 2 forms a cluster of its own, as a restarted first seed can: its singleton cannot see the main one, but
        // both ask for the same lease in the shared database, which the main cluster's singleton holds and renews.
        await cluster.FormAsync(2);
        cluster[2].StartClusterPeriodicTasks(set());
        var before = Runs(cluster, "sync", node: 0);
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(12); // twice the lease's heartbeat-timeout
        await TestCluster.WaitUntilAsync(() => DateTime.UtcNow > until, TimeSpan.FromSeconds(30), "the island's singleton asked for the lease for a while");
        Assert.Equal(0, Runs(cluster, "sync", node: 2));
        Assert.True(Runs(cluster, "sync", node: 0) > before + 10, "the main cluster went on running sync");
    }

    private static int Runs(TestCluster cluster, string task, int node) =>
        cluster.Events.Count(e => e.Node == node && e.Event is PeriodicTaskStarted started && started.Task == task);

    public void Dispose() => _backend.Dispose();
}
