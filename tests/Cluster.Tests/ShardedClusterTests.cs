using ActorScheduler.Runtime;
using System.Collections.Concurrent;
using System.Diagnostics;
using ActorScheduler.Messages;
using ActorScheduler.Persistence;
using ActorScheduler.Tasks;
using Akka.Actor;
using Xunit;
using Xunit.Abstractions;

namespace ActorScheduler.Cluster.Tests;

/// <summary>
/// distribution = sharded on three in-process nodes: the cluster tasks of a role spread over its nodes in buckets, one
/// run of a task at a time across the cluster, stats and controls through any node, and buckets that move on a graceful
/// leave, with their pauses and places when a state store keeps them.
/// </summary>
public sealed class ShardedClusterTests(ITestOutputHelper output) : IDisposable
{
    /// <summary>Longer than the rebalance interval (2 s): a window without moves means the buckets have settled.</summary>
    private static readonly TimeSpan Settled = TimeSpan.FromSeconds(3);

    private readonly StateBackend _backend = StateBackend.Sqlite();

    /// <summary>Ticks every 100 ms, cluster tasks sharded into <paramref name="shards"/> buckets.</summary>
    internal static string Hocon(int shards, string extra = "") => $$"""
        actor-scheduler {
          periodic-interval = 100ms
          initial-delay = 100ms
          shutdown-timeout = 1s
          cluster { distribution = sharded, shards = {{shards}} }
        }
        {{extra}}
        """;

    private static PeriodicTaskOptions Cluster(TimeSpan spacing, string role = "", bool runImmediately = true) =>
        new() { Scope = TaskScope.Cluster, Role = role, Spacing = spacing, RunImmediately = runImmediately };

    [Fact]
    public async Task Sixty_sharded_tasks_spread_over_three_nodes_run_once_at_a_time_answer_through_any_node_and_move_to_the_others_on_a_graceful_leave()
    {
        var runs = new RunLog();
        var names = Enumerable.Range(0, 60).Select(i => $"job-{i:00}").ToList();
        PeriodicTaskSet Set(int node)
        {
            var set = new PeriodicTaskSet("jobs");
            foreach (var name in names)
                set.Add(name, (_, _) => runs.RunAsync(name, node, TimeSpan.FromMilliseconds(40)), Cluster(TimeSpan.FromMilliseconds(500)));
            return set;
        }

        using var cluster = new TestCluster(Hocon(30));
        await cluster.FormAsync(0, 1, 2);
        var watch = Stopwatch.StartNew();
        var sets = Enumerable.Range(0, 3).Select(i => cluster[i].StartClusterPeriodicTasks(Set(i))).ToList();

        // Every task runs, and once the buckets are balanced each node runs about a third of them. A window longer than
        // the rebalance interval in which each task ran on one node only: no bucket is moving any more.
        await TestCluster.WaitUntilAsync(
            () => watch.Elapsed > Settled && names.All(runs.HasRun) && Balanced(runs, Settled, 3, min: 12) && runs.TasksByNode(Settled).Values.Sum(t => t.Count) == 60,
            TimeSpan.FromSeconds(60), "every task ran, each node ran at least 12 tasks, each task on one node, for 3 s");
        var byNode = runs.TasksByNode(Settled);
        output.WriteLine($"balanced after {watch.Elapsed.TotalSeconds:F1} s: {string.Join(", ", byNode.OrderBy(p => p.Key).Select(p => $"node {p.Key}: {p.Value.Count} tasks"))}");

        // The client of any node: stats of every bucket, merged in registration order; controls routed to the task's bucket.
        var client = sets[1].Client(TimeSpan.FromSeconds(10));
        var stats = await client.GetStatsAsync();
        Assert.Equal(names, stats.Tasks.Select(t => t.Task));
        // A bucket's counters start with its owner, and the coordinator may still move a bucket (it balances buckets, the
        // wait above tasks): every task has runs in the merged stats once its bucket has ticked where it now is.
        await TestCluster.WaitUntilAsync(() => client.GetStatsAsync().Result.Tasks.All(t => t.Runs >= 1), TimeSpan.FromSeconds(10),
            "every task with runs in the merged stats");

        var paused = await client.PauseAsync("job-07", "maintenance");
        Assert.Equal(("job-07", true, "maintenance"), (paused.Task, paused.Paused, paused.PauseNote));
        await TestCluster.WaitUntilAsync(() => client.GetTaskAsync("job-07").Result.SkippedWhilePaused >= 2, TimeSpan.FromSeconds(10), "due runs skipped");
        var merged = await client.GetStatsAsync();
        Assert.Equal(["job-07"], merged.Tasks.Where(t => t.Paused).Select(t => t.Task));
        var runsWhilePaused = merged["job-07"].Runs;
        var triggered = await client.TriggerAsync("job-07");
        Assert.Equal("job-07", triggered.Task);
        await TestCluster.WaitUntilAsync(() => client.GetTaskAsync("job-07").Result.Runs == runsWhilePaused + 1, TimeSpan.FromSeconds(10), "the triggered run");
        Assert.False((await client.ResumeAsync("job-07")).Paused);

        // An unknown name: the manager's failure, suggesting among all buckets, from the client and from a plain ask alike.
        var notFound = await Assert.ThrowsAsync<PeriodicTaskNotFoundException>(() => client.PauseAsync("jb-07"));
        Assert.Contains("did you mean 'job-07'?", notFound.Message);
        var direct = await Assert.ThrowsAsync<PeriodicTaskNotFoundException>(
            () => sets[2].ClusterTasks[""].Ask<TaskTriggered>(new TriggerTask("jb-07"), TimeSpan.FromSeconds(10)));
        Assert.Equal(("jobs", "jb-07"), (direct.SetName, direct.TaskName));
        Assert.Contains("did you mean 'job-07'?", direct.Message);

        // A graceful leave: the buckets of the leaving node (the oldest, which also hosts the shard coordinator) move to
        // the two others, each only once stopped where it was. How long that takes is the machine's: shown, not asserted
        // (a time target belongs in src/Benchmarks).
        var leaving = 0;
        var moving = byNode[leaving];
        var leftAt = DateTimeOffset.UtcNow;
        var leave = cluster.LeaveAsync(leaving);
        await TestCluster.WaitUntilAsync(() => moving.All(t => runs.FirstStartElsewhere(t, leaving, leftAt) is not null),
            TimeSpan.FromSeconds(60), $"the {moving.Count} tasks of node {leaving} running on the other nodes");
        await leave;
        var delays = moving.Select(t => runs.FirstStartElsewhere(t, leaving, leftAt)!.Value - leftAt).ToList();
        output.WriteLine($"{moving.Count} tasks moved from node {leaving}: first run elsewhere {delays.Min().TotalSeconds:F1}-{delays.Max().TotalSeconds:F1} s after the leave");

        // Node 0 has terminated: every task runs on the two others from now on, and never ran twice at once anywhere.
        var goneAt = DateTimeOffset.UtcNow;
        await TestCluster.WaitUntilAsync(() => names.All(t => runs.FirstStartElsewhere(t, leaving, goneAt) is not null),
            TimeSpan.FromSeconds(60), "every task running on nodes 1 and 2 after node 0 left");
        Assert.DoesNotContain(runs.All, r => r.Node == leaving && r.Start >= goneAt);
        Assert.Equal(1, runs.MaxConcurrent); // never two runs of one task at once, across the three nodes
        Assert.Equal(names, (await sets[1].Client().GetStatsAsync()).Tasks.Select(t => t.Task));
    }

    [Fact]
    public async Task Sharded_tasks_of_a_role_run_only_on_its_nodes_and_a_node_without_the_role_queries_and_controls_them_through_a_proxy()
    {
        var runs = new RunLog();
        var workers = Enumerable.Range(0, 12).Select(i => $"index-{i:00}").ToList();
        PeriodicTaskSet Set(int node)
        {
            var set = new PeriodicTaskSet("jobs");
            foreach (var name in workers)
                set.Add(name, (_, _) => runs.RunAsync(name, node, TimeSpan.Zero), Cluster(TimeSpan.FromMilliseconds(300), role: "worker"));
            set.Add("report", (_, _) => runs.RunAsync("report", node, TimeSpan.Zero), Cluster(TimeSpan.FromMilliseconds(300)));
            set.Add("heartbeat", (_, _) => runs.RunAsync("heartbeat", node, TimeSpan.Zero), new PeriodicTaskOptions { TicksBetweenRuns = 2 });
            return set;
        }

        using var cluster = new TestCluster(Hocon(6));
        await cluster.FormAsync(i => i == 0 ? "" : "akka.cluster.roles = [worker]", 0, 1, 2); // node 0 is not a worker
        var sets = Enumerable.Range(0, 3).Select(i => cluster[i].StartClusterPeriodicTasks(Set(i))).ToList();

        await TestCluster.WaitUntilAsync(
            () => workers.All(runs.HasRun) && runs.HasRun("report") && Balanced(runs, TimeSpan.FromSeconds(1), 2, min: 1, only: workers)
                  && runs.All.Where(r => r.Task == "heartbeat").Select(r => r.Node).Distinct().Count() == 3,
            TimeSpan.FromSeconds(60), "every worker task ran, on both workers, and the node task heartbeat on every node");
        Assert.DoesNotContain(runs.All, r => r.Node == 0 && r.Task.StartsWith("index-", StringComparison.Ordinal));
        Assert.Equal([0, 1, 2], runs.All.Where(r => r.Task == "heartbeat").Select(r => r.Node).Distinct().Order());

        var proxy = sets[0].ClusterTasks["worker"]; // node 0 has no worker role: its router asks through a proxy region
        var report = await proxy.Ask<TaskStatsReport>(GetTaskStats.Instance, TimeSpan.FromSeconds(10));
        Assert.Equal(workers, report.Tasks.Select(t => t.Task));
        var client = sets[0].Client(TimeSpan.FromSeconds(10));
        Assert.Equal(["heartbeat", "report", .. workers], (await client.GetStatsAsync()).Tasks.Select(t => t.Task));
        Assert.True((await client.PauseAsync("index-03")).Paused);
        Assert.True((await client.GetTaskAsync("index-03")).Paused);
        Assert.False((await client.GetTaskAsync("index-04")).Paused);
        Assert.Equal("report", (await client.TriggerAsync("report")).Task); // the bucket of role ""

        // A change goes to the task's bucket, on a worker node: its options cross the network. A body cannot.
        var changed = await client.UpdateAsync("index-05", Cluster(TimeSpan.FromMilliseconds(600), role: "worker"));
        Assert.Equal(["index-05"], changed.Updated);
        Assert.Equal("every 600ms, and at start", (await client.GetTaskAsync("index-05")).Schedule);
        Assert.Equal(["index-06"], (await client.RemoveAsync("index-06")).Removed);
        Assert.DoesNotContain("index-06", (await client.GetStatsAsync()).Tasks.Select(t => t.Task));
        var added = await Assert.ThrowsAsync<ArgumentException>(() => proxy.Ask<TasksChanged>(
            new ChangeTasks(new AddTask("index-99", (_, _) => ValueTask.CompletedTask, Cluster(TimeSpan.FromSeconds(1), role: "worker"))), TimeSpan.FromSeconds(10)));
        Assert.Contains("a body given as a delegate cannot be added", added.Message);
        Assert.Equal(1, runs.MaxConcurrent);
    }

    [Fact]
    public async Task With_a_state_store_a_sharded_bucket_moved_by_a_graceful_leave_keeps_its_pause_its_place_and_its_run_in_flight()
    {
        const int shards = 3;
        var runs = new RunLog();
        // Four tasks of one bucket: "once" ran at the first start only (run-immediately, then hourly), "paused" gets
        // paused, "ticking" shows where the bucket runs, and "slow" runs 2.5 s ignoring cancellation (timeout 3 s),
        // longer than the 1 s the leaving node waits (shutdown-timeout): it hands the bucket over with that run in
        // flight, and the new owner must not start "slow" before the run's deadline.
        var once = "once";
        var bucket = TaskBuckets.Of(once, shards);
        var sameBucket = Enumerable.Range(0, 1000).Select(i => $"task-{i}").Where(n => TaskBuckets.Of(n, shards) == bucket).Take(3).ToList();
        var (paused, ticking, slow) = (sameBucket[0], sameBucket[1], sameBucket[2]);
        PeriodicTaskSet Set(int node) => new PeriodicTaskSet("jobs")
            .Add(once, (_, _) => runs.RunAsync(once, node, TimeSpan.Zero), Cluster(TimeSpan.FromHours(1)))
            .Add(paused, (_, _) => runs.RunAsync(paused, node, TimeSpan.Zero), Cluster(TimeSpan.FromMilliseconds(300)))
            .Add(ticking, (_, _) => runs.RunAsync(ticking, node, TimeSpan.Zero), Cluster(TimeSpan.FromMilliseconds(300)))
            .Add(slow, (_, _) => runs.RunAsync(slow, node, TimeSpan.FromMilliseconds(2500)),
                Cluster(TimeSpan.FromMilliseconds(300)) with { Timeout = TimeSpan.FromSeconds(3) });

        using var cluster = new TestCluster(Hocon(shards, _backend.Hocon));
        await cluster.FormAsync(0, 1, 2);
        var sets = Enumerable.Range(0, 3).Select(i => cluster[i].StartClusterPeriodicTasks(Set(i))).ToList();
        await TestCluster.WaitUntilAsync(() => runs.HasRun(once) && runs.HasRun(paused), TimeSpan.FromSeconds(60), "the bucket's first runs");
        var client = sets[1].Client(TimeSpan.FromSeconds(10));
        await client.PauseAsync(paused, "kept across the move");
        await sets[1].ClusterTasks[""].Ask<StateFlushed>(FlushState.Instance, TimeSpan.FromSeconds(10)); // every bucket's journal is written
        var owner = runs.All.Last(r => r.Task == ticking).Node;
        var pausedRuns = runs.All.Count(r => r.Task == paused);
        var slowRuns = runs.All.Count(r => r.Task == slow);
        await TestCluster.WaitUntilAsync(() => runs.All.Count(r => r.Task == slow) > slowRuns, TimeSpan.FromSeconds(30), "a run of slow just started");
        var inFlight = runs.All.Last(r => r.Task == slow);

        var leftAt = DateTimeOffset.UtcNow;
        await cluster.LeaveAsync(owner);
        await TestCluster.WaitUntilAsync(() => runs.FirstStartElsewhere(ticking, owner, leftAt) is not null, TimeSpan.FromSeconds(60), "the bucket running on another node");
        var newOwner = runs.All.First(r => r.Task == ticking && r.Start > leftAt && r.Node != owner).Node;
        output.WriteLine($"bucket {bucket} moved from node {owner} to node {newOwner} in {(runs.FirstStartElsewhere(ticking, owner, leftAt)!.Value - leftAt).TotalSeconds:F1} s");

        // The new owner has gone past due times of "paused" (same spacing as "ticking", which ran there twice since) and
        // skipped at least one: from here, a run of "paused" or a second run of "once" would have happened already.
        var survivor = sets[owner == 1 ? 2 : 1].Client(TimeSpan.FromSeconds(10));
        await TestCluster.WaitUntilAsync(
            () => runs.All.Count(r => r.Task == ticking && r.Node == newOwner && r.Start > leftAt) >= 2
                  && survivor.GetTaskAsync(paused).Result.SkippedWhilePaused > 0,
            TimeSpan.FromSeconds(60), "two runs of ticking on the new owner and a due run of paused skipped there");
        var seen = runs.All.Count(r => r.Task == ticking);
        var stats = await survivor.GetStatsAsync();
        Assert.True(stats[paused].Paused, "the pause was lost in the move");
        Assert.Equal("kept across the move", stats[paused].PauseNote);
        Assert.True(stats[paused].SkippedWhilePaused > 0);
        // The counters and the recent runs moved with the bucket too.
        var recent = await survivor.GetRecentRunsAsync(ticking);
        Assert.True(recent.Kept);
        Assert.Contains(recent.Runs, r => r.StartedAt < leftAt);
        Assert.True(stats[ticking].Runs >= seen - 1, $"{stats[ticking].Runs} runs counted, {seen} seen on all nodes before");
        Assert.Equal(pausedRuns, runs.All.Count(r => r.Task == paused)); // not run since the pause, on any node
        Assert.Single(runs.All, r => r.Task == once); // the new owner continued its schedule: no second first run
        Assert.NotNull(stats[once].LastStart);

        // The run of slow handed over in flight held its task on the new owner until its deadline (start + 3 s).
        await TestCluster.WaitUntilAsync(() => runs.FirstStartElsewhere(slow, owner, leftAt) is not null, TimeSpan.FromSeconds(60), "slow running on the new owner");
        var resumed = runs.FirstStartElsewhere(slow, owner, leftAt)!.Value;
        output.WriteLine($"slow: run in flight from {inFlight.Start:HH:mm:ss.fff}, next run on node {newOwner} at {resumed:HH:mm:ss.fff}");
        Assert.True(resumed >= inFlight.Start + TimeSpan.FromSeconds(3), $"slow started at {resumed:O}, before the deadline of the run in flight");
        Assert.Contains(cluster.Warnings, w => w.Node == newOwner && w.Message.Contains("may still be in flight"));
        Assert.Equal(1, runs.MaxConcurrent);
    }

    [Fact]
    public async Task A_client_of_sharded_tasks_on_a_node_whose_cluster_is_not_formed_gets_TaskSetNotReadyException_after_its_timeout()
    {
        using var cluster = new TestCluster(Hocon(30));
        var system = cluster.StartUnjoined(0);
        var set = new PeriodicTaskSet("jobs").Add("report", (_, _) => ValueTask.CompletedTask, Cluster(TimeSpan.FromMilliseconds(300)));
        var client = system.StartClusterPeriodicTasks(set).Client(TimeSpan.FromSeconds(2));

        // It waits its timeout (not less), then gives up with the error that says so; how long after is the machine's.
        var watch = Stopwatch.StartNew();
        var error = await Assert.ThrowsAsync<TaskSetNotReadyException>(() => client.GetStatsAsync());
        Assert.True(watch.Elapsed >= TimeSpan.FromSeconds(1.9), $"gave up after {watch.Elapsed.TotalSeconds:F1} s, before its 2 s timeout");
        output.WriteLine($"TaskSetNotReadyException after {watch.Elapsed.TotalSeconds:F1} s");
        Assert.StartsWith("the task set did not answer within 2s: it is not ready yet (in a cluster: this node is not Up yet", error.Message);
        await Assert.ThrowsAsync<TaskSetNotReadyException>(() => client.TriggerAsync("report"));
        Assert.DoesNotContain(cluster.Events, e => e.Event is PeriodicTaskStarted); // no bucket without a cluster
    }

    /// <summary>Each of the first <paramref name="nodes"/> nodes ran at least <paramref name="min"/> distinct tasks within <paramref name="window"/>.</summary>
    private static bool Balanced(RunLog runs, TimeSpan window, int nodes, int min, IReadOnlyList<string>? only = null)
    {
        var byNode = runs.TasksByNode(window, only);
        return byNode.Count == nodes && byNode.Values.All(t => t.Count >= min);
    }

    public void Dispose() => _backend.Dispose();

    /// <summary>Every run of every task on every node, and the most runs of one task ever in flight at once.</summary>
    private sealed class RunLog
    {
        private readonly ConcurrentDictionary<string, int> _inFlight = new(StringComparer.Ordinal);
        private readonly ConcurrentQueue<Run> _runs = new();
        private int _max;

        public int MaxConcurrent => Volatile.Read(ref _max);

        public IReadOnlyList<Run> All => _runs.ToArray();

        public bool HasRun(string task) => _runs.Any(r => r.Task == task);

        public async ValueTask RunAsync(string task, int node, TimeSpan duration)
        {
            var now = _inFlight.AddOrUpdate(task, 1, (_, n) => n + 1);
            int seen;
            while (now > (seen = Volatile.Read(ref _max)) && Interlocked.CompareExchange(ref _max, now, seen) != seen)
            {
            }

            _runs.Enqueue(new Run(task, node, DateTimeOffset.UtcNow));
            try
            {
                if (duration > TimeSpan.Zero)
                    await Task.Delay(duration, CancellationToken.None);
            }
            finally
            {
                _inFlight.AddOrUpdate(task, 0, (_, n) => n - 1);
            }
        }

        /// <summary>The tasks each node started within the last <paramref name="window"/>.</summary>
        public Dictionary<int, List<string>> TasksByNode(TimeSpan window, IReadOnlyList<string>? only = null)
        {
            var since = DateTimeOffset.UtcNow - window;
            return _runs.Where(r => r.Start >= since && (only is null || only.Contains(r.Task)))
                .GroupBy(r => r.Node)
                .ToDictionary(g => g.Key, g => g.Select(r => r.Task).Distinct().Order(StringComparer.Ordinal).ToList());
        }

        public DateTimeOffset? FirstStartElsewhere(string task, int node, DateTimeOffset after) =>
            _runs.Where(r => r.Task == task && r.Node != node && r.Start >= after).Select(r => (DateTimeOffset?)r.Start).Min();
    }

    private sealed record Run(string Task, int Node, DateTimeOffset Start);
}
