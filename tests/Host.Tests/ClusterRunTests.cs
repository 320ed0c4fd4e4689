using ActorScheduler.Testing.Support;
using Xunit;
using Xunit.Abstractions;

namespace ActorScheduler.Host.Tests;

/// <summary>
/// Three <c>actor-scheduler run --config node-N.conf --events FILE</c> processes on 127.0.0.1 (ports chosen at run
/// time, configs written to a temp dir, state in one shared SQLite file) form a cluster; the oldest is killed with
/// SIGKILL. Failure detection and split brain resolver timings are tuned FOR THIS TEST ONLY (heartbeat pause 3 s,
/// stable-after 1.5 s; production values and their reasons: hocon/cluster.conf). Each node's joining is seen in its
/// events: node N alone has role nN, so the cluster task of that role runs on it once it is Up.
/// </summary>
/// <remarks>Not run in parallel with other test classes: a starved process would miss heartbeats and be downed.</remarks>
[Collection(nameof(ClusterRunTests))]
public sealed class ClusterRunTests(ITestOutputHelper output)
{
    private const int SigKill = 9;
    private const int SigCont = 18;
    private const int SigStop = 19;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    // Ticks every 200 ms; cluster-job is due every 1 s, so on one owner its due ticks are 5 apart.
    private const int TicksPerDueTime = 5;
    private static readonly TimeSpan Spacing = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task Three_host_processes_run_a_cluster_task_once_per_due_time_and_keep_doing_so_after_SIGKILL_of_the_oldest()
    {
        using var dir = new TempDir();
        var ports = FreePorts.Take(3);
        var nodes = new List<HostProcess>();
        try
        {
            await StartCluster(dir, ports, nodes);
            var joined = Starts(dir, 0).Count;
            await WaitUntil(() => Starts(dir, 0).Count >= joined + 3 && Enumerable.Range(0, 3).All(i => NodeJobRuns(dir, i) > 0),
                "3 more runs of cluster-job on the oldest node, node-job on every node", nodes);
            Assert.Empty(Starts(dir, 1).Concat(Starts(dir, 2))); // the singleton runs on the oldest only

            var killedAt = DateTimeOffset.UtcNow;
            nodes[0].Signal(SigKill);
            await WaitUntil(() => Starts(dir, 1).Count + Starts(dir, 2).Count >= 3, "3 runs of cluster-job after the kill", nodes);

            var survivors = new[] { 1, 2 }.Where(i => Starts(dir, i).Count > 0).ToList();
            Assert.Single(survivors); // one new owner
            var owner = survivors[0];
            var resumed = Starts(dir, owner)[0];
            output.WriteLine($"resumed on node {owner} {(resumed.Time - killedAt).TotalSeconds:F1} s after SIGKILL");
            Assert.True(resumed.Time - killedAt < TimeSpan.FromSeconds(15), $"resumed {(resumed.Time - killedAt).TotalSeconds:F1} s after the kill");
            // The due times that passed while no node ran the task are coalesced into the new owner's first run and counted as missed.
            Assert.Contains(Events(dir, owner), e => e is { Name: "missed", Task: "cluster-job" } && e.Tick == resumed.Tick);

            foreach (var node in new[] { 0, owner })
                AssertOneRunPerDueTime(Events(dir, node), "cluster-job", $"node {node}");

            // Never two runs at once across the three processes: each run ends before the next one starts (the run
            // cut by the kill ends at the kill).
            var runs = Enumerable.Range(0, 3).SelectMany(i => Runs(dir, i, killedAt)).OrderBy(r => r.Start).ToList();
            for (var i = 1; i < runs.Count; i++)
                Assert.True(runs[i].Start >= runs[i - 1].End,
                    $"run at {runs[i].Start:O} overlaps the run {runs[i - 1].Start:O}-{runs[i - 1].End:O}");
            // And at most one run per due time across the cluster: no more runs than spacings in the measured span, plus
            // one for the first run and one for a late first run.
            var span = runs[^1].Start - runs[0].Start;
            Assert.True(runs.Count <= (int)(span / Spacing) + 2, $"{runs.Count} runs of cluster-job in {span.TotalSeconds:F1} s");
        }
        finally
        {
            foreach (var node in nodes)
                node.Dispose();
        }
    }

    [Fact]
    public Task A_node_downed_by_the_split_brain_resolver_prints_its_summary_and_exits_3_naming_the_reason() =>
        FreezeAndDown(checkRuns: false, ClusterHarness.NoState);

    /// <summary>
    /// With a state store, the singleton holds a lease in its database, and a run starts only while its node holds it
    /// (docs/cluster.md, "Never two runs of one cluster task"): after SIGCONT, the frozen node finds its lease lost
    /// (its renewals stopped longer than the lease's heartbeat-timeout ago) and starts nothing, while the new owner, which
    /// took the lease once it expired, runs w-job. In PostgreSQL: a process frozen while it holds an SQLite file's write
    /// lock would block the others' lease until it resumes.
    /// </summary>
    [PostgresFact]
    public Task A_node_frozen_and_downed_by_the_split_brain_resolver_never_runs_its_cluster_task_beside_the_new_owner() =>
        FreezeAndDown(checkRuns: true, ClusterHarness.PostgresState(PostgresFactAttribute.ConnectionString()));

    /// <summary>
    /// Freezes node 1 (SIGSTOP) until the majority has downed it and w-job runs on node 2, then resumes it (SIGCONT): it
    /// exits 3 with its summary. With <paramref name="checkRuns"/>, also no two runs of w-job were alive at once.
    /// </summary>
    private async Task FreezeAndDown(bool checkRuns, string state)
    {
        using var dir = new TempDir();
        var ports = FreePorts.Take(3);
        var nodes = new List<HostProcess>();
        try
        {
            var locked = new LockedRuns(dir);
            // stable-after longer than acceptable-heartbeat-pause (3 s): resumed, node 1 may still read one survivor's
            // heartbeats from its buffers, and it must see both survivors unreachable before its resolver decides, or it
            // downs the other and stays as an island (docs/cluster.md, "Never two runs of one cluster task").
            await StartCluster(dir, ports, nodes, state, locked, stableAfter: "5s");
            // Nodes 1 and 2 have role w; node 1, the older, runs its cluster task.
            await WaitUntil(() => Starts(dir, 1, "w-job").Count > 0, "w-job runs on node 1", nodes);

            // Freeze node 1: the two others (the majority) see it unreachable and down it; only then does the singleton
            // of role w move to node 2.
            var stoppedAt = DateTimeOffset.UtcNow;
            nodes[1].Signal(SigStop);
            await WaitUntil(() => Starts(dir, 2, "w-job").Count > 0, "the majority downed node 1 (w-job moved to node 2)", nodes);
            // Frozen a while past the take-over, as a long pause would be: the survivors have quarantined node 1 by then.
            await Task.Delay(TimeSpan.FromSeconds(3));
            var continuedAt = DateTimeOffset.UtcNow;
            nodes[1].Signal(SigCont); // it learns that it was downed and shuts itself down
            var code = await nodes[1].WaitForExitAsync(Wait);
            output.WriteLine($"SIGSTOP of node 1 at {ClusterHarness.Format(stoppedAt)}, SIGCONT at {ClusterHarness.Format(continuedAt)}; w-job's events:");
            foreach (var (node, e) in new[] { 1, 2 }.SelectMany(n => Events(dir, n).Where(e => e.Task == "w-job").Select(e => (n, e))).OrderBy(p => p.e.Time))
                output.WriteLine($"  node {node}: {ClusterHarness.Format(e.Time)} {e.Name} tick {e.Tick}{(e.Error is null ? "" : $" ({e.Error})")}");

            Assert.True(code == 3, $"exit {code}\n{nodes[1].Stdout}\n{nodes[1].Stderr}");
            Assert.Contains("error: this node was downed by the cluster", nodes[1].Stderr);
            // The node-scoped table, or, when the downing had already stopped the node's actors, why it is not shown.
            Assert.Matches(@"Summary of jobs-\w{8} \(node-scoped tasks, this node\):", nodes[1].Stdout);
            Assert.Matches(@"Summary of jobs-\w{8} \(cluster-scoped tasks\): not shown: this node no longer reaches the cluster", nodes[1].Stdout);
            Assert.DoesNotContain("unexpected", nodes[1].Stderr);
            if (!checkRuns)
                return;

            // Never two runs of w-job alive at once, across the freeze and the downing: no run found the task's lock held by
            // another (a frozen host's commands are not frozen, and its events would time their end at its resumption).
            var started = locked.AssertNoConflict();
            var records = locked.Records("w-job");
            output.WriteLine($"w-job: {started} runs recorded, {records.Count(r => r is ("start", 1))} on node 1, {records.Count(r => r is ("start", 2))} on node 2");
            Assert.Contains(records, r => r is ("start", 2));
        }
        finally
        {
            foreach (var node in nodes)
                node.Dispose();
        }
    }

    [Fact]
    public async Task Raise_on_error_in_a_cluster_scoped_task_ends_run_on_its_owner_with_exit_1_naming_the_task()
    {
        using var dir = new TempDir();
        var port = FreePorts.One();
        var config = dir.Write("solo.conf", $$"""
            akka {
              actor.provider = cluster
              remote.dot-netty.tcp { hostname = "127.0.0.1", port = {{port}} }
              cluster.seed-nodes = ["akka.tcp://actor-scheduler@127.0.0.1:{{port}}"]
            }
            actor-scheduler {
              periodic-interval = 200ms
              raise-on-error = on
              tasks.broken { command = "echo disk full >&2; exit 3", scope = cluster, spacing = 200ms }
            }
            """);

        var result = await HostProcess.RunAsync(dir.Path, ["run", "--config", config, "--for", "20s"]);

        Assert.True(result.ExitCode == 1, result.ToString());
        Assert.Contains("error: task 'broken' failed and raise-on-error is on: Error during default.broken: exit code 3: disk full", result.Stderr);
        // From the singleton, or (on a loaded machine, when it does not answer within 3 s) why it is not shown.
        Assert.Matches(@"Summary of default \(cluster-scoped tasks\): (from the singleton on akka\.tcp://actor-scheduler@127\.0\.0\.1:|not shown: )", result.Stdout);
    }

    [Fact]
    public async Task List_validate_and_simulate_accept_cluster_scoped_tasks_and_list_shows_scope_and_role()
    {
        using var dir = new TempDir();
        var config = dir.Write("jobs.conf", """
            akka.actor.provider = cluster
            actor-scheduler {
              periodic-interval = 1m
              tasks {
                cleanup { command = "true", spacing = 10m, scope = cluster }
                reindex { command = "true", spacing = 1h, scope = cluster, role = indexer }
                report { command = "true" }
              }
            }
            """);

        var list = await HostProcess.RunAsync(dir.Path, ["list", "--config", config]);
        var validate = await HostProcess.RunAsync(dir.Path, ["validate", "--config", config]);
        var simulate = await HostProcess.RunAsync(dir.Path, ["simulate", "--config", config, "--for", "1h"]);

        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Matches(@"TASK\s+SCOPE\s+SCHEDULE", list.Stdout);
        Assert.Matches(@"cleanup\s+cluster\s+every 10m", list.Stdout);
        Assert.Matches(@"reindex\s+cluster, role indexer\s+every 1h", list.Stdout);
        Assert.Matches(@"report\s+node\s+every tick", list.Stdout);
        Assert.True(validate.ExitCode == 0, validate.ToString());
        Assert.Contains("valid: task set default, 3 tasks (3 commands, 0 disabled, 2 cluster-scoped)", validate.Stdout);
        Assert.True(simulate.ExitCode == 0, simulate.ToString());
        Assert.Matches(@"cleanup\s+6\s", simulate.Stdout);
        Assert.Matches(@"reindex\s+1\s", simulate.Stdout);
    }

    [Theory]
    [InlineData("cluster.conf")]
    [InlineData("cluster/node-1.conf")]
    [InlineData("cluster/node-2.conf")]
    [InlineData("cluster/node-3.conf")]
    [InlineData("cluster-bootstrap.conf")]
    [InlineData("cluster-bootstrap/node-1.conf")]
    [InlineData("cluster-bootstrap/node-2.conf")]
    [InlineData("cluster-bootstrap/node-3.conf")]
    public async Task The_example_node_configurations_are_valid_host_configurations_of_one_task_set(string file)
    {
        using var dir = new TempDir();
        var config = Path.Combine(HostProcess.RepoPath, "hocon", file);

        var result = await HostProcess.RunAsync(dir.Path, ["validate", "--config", config]);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("valid: task set cluster-demo, 2 tasks (2 commands, 0 disabled, 1 cluster-scoped)", result.Stdout);
    }

    /// <summary>Starts node 0, then 1, then 2, each once the one before is Up (seen in its events), so their age is in that order.</summary>
    private static async Task StartCluster(
        TempDir dir, int[] ports, List<HostProcess> nodes, string? state = null, LockedRuns? locked = null, string stableAfter = "1.5s")
    {
        var setName = "jobs-" + Guid.NewGuid().ToString("N")[..8]; // its own journal and lease in a shared database
        var stateStore = state ?? ClusterHarness.SqliteState(dir.File("state.db"));
        nodes.Add(Start(dir, ports, 0, setName, stateStore, locked, stableAfter));
        await WaitUntil(() => Starts(dir, 0).Count >= 1, "node 0 formed the cluster (cluster-job runs on it)", nodes);
        for (var node = 1; node < 3; node++)
        {
            nodes.Add(Start(dir, ports, node, setName, stateStore, locked, stableAfter));
            var n = node;
            await WaitUntil(() => Starts(dir, n, $"up-n{n}").Count >= 1, $"node {n} is Up (up-n{n}, of its own role, runs on it)", nodes);
        }
    }

    /// <summary>Starts node <paramref name="node"/>; with <paramref name="locked"/>, w-job's runs last 0.5 s and hold its lock.</summary>
    private static HostProcess Start(TempDir dir, int[] ports, int node, string setName, string state, LockedRuns? locked, string stableAfter)
    {
        var roles = node == 0 ? "" : $"n{node}, w";
        const string wKeys = "timeout = 3s, scope = cluster, role = w, spacing = 1s";
        var wJob = locked?.Task(node, 0.5, wKeys) ?? $"command = \"true\", {wKeys}";
        var config = dir.Write($"node-{node}.conf", NodeConfig(setName, ports[node], ports[0], ports[1], roles, state, wJob, stableAfter));
        return HostProcess.Start(dir.Path, null, "run", "--config", config, "--events", dir.File($"events-{node}.jsonl"));
    }

    private static string NodeConfig(string setName, int port, int seed1, int seed2, string roles, string state, string wJob, string stableAfter) => $$"""
        actor-scheduler-host.set-name = {{setName}}
        akka {
          actor.provider = cluster
          remote.dot-netty.tcp { hostname = "127.0.0.1", port = {{port}} }
          cluster {
            seed-nodes = ["akka.tcp://actor-scheduler@127.0.0.1:{{seed1}}", "akka.tcp://actor-scheduler@127.0.0.1:{{seed2}}"]
            roles = [{{roles}}]
            downing-provider-class = "Akka.Cluster.SBR.SplitBrainResolverProvider, Akka.Cluster"
            # TEST-ONLY timings, so that a killed node is downed and its singleton moved within seconds
            # (production: hocon/cluster.conf).
            split-brain-resolver { active-strategy = keep-majority, stable-after = {{stableAfter}} }
            failure-detector { heartbeat-interval = 200ms, acceptable-heartbeat-pause = 3s }
            seed-node-timeout = 2s
            gossip-interval = 200ms
            leader-actions-interval = 200ms
            unreachable-nodes-reaper-interval = 250ms
            singleton.hand-over-retry-interval = 200ms
            run-coordinated-shutdown-when-down = on
          }
        }
        actor-scheduler {
          periodic-interval = 200ms
          initial-delay = 200ms
          shutdown-timeout = 1s
          state { {{state}} }
          tasks {
            cluster-job { command = "sleep 0.2", spacing = 1s, timeout = 3s, scope = cluster }
            node-job { command = "true", ticks-between-runs = 4 }
            up-n1 { command = "true", scope = cluster, role = n1, run-immediately = on, spacing = 1h }
            up-n2 { command = "true", scope = cluster, role = n2, run-immediately = on, spacing = 1h }
            w-job { {{wJob}} }
          }
        }
        """;

    /// <summary>
    /// One run per due time on one owner, however late its ticks come: its due ticks lie 5 apart and a run covers every
    /// due tick up to its own, so runs i &lt; k lie at least 5(k - i) - 4 ticks apart; a gap of two due times or more means
    /// the due times between were coalesced into the later run (a missed event on its tick) or skipped as overruns.
    /// </summary>
    private static void AssertOneRunPerDueTime(IReadOnlyList<Event> events, string task, string who)
    {
        var ticks = events.Where(e => e.Name == "started" && e.Task == task).Select(e => e.Tick).ToList();
        var ran = $"{who}: {task} ran on ticks {string.Join(", ", ticks)}";
        for (var i = 0; i < ticks.Count; i++)
            for (var k = i + 1; k < ticks.Count; k++)
                Assert.True(ticks[k] - ticks[i] >= (TicksPerDueTime * (k - i)) - (TicksPerDueTime - 1), $"more runs than due times: {ran}");
        for (var i = 1; i < ticks.Count; i++)
        {
            if (ticks[i] - ticks[i - 1] < 2 * TicksPerDueTime)
                continue;
            var (from, to) = (ticks[i - 1], ticks[i]);
            Assert.True(events.Any(e => e.Task == task && ((e.Name == "missed" && e.Tick == to) || (e.Name == "overrun" && e.Tick > from && e.Tick < to))),
                $"a due time between ticks {from} and {to} was neither run nor reported: {ran}");
        }
    }

    private static IReadOnlyList<Event> Events(TempDir dir, int node) => Event.ReadWritten(dir.File($"events-{node}.jsonl"));

    private static List<Event> Starts(TempDir dir, int node, string task = "cluster-job") =>
        Events(dir, node).Where(e => e.Name == "started" && e.Task == task).ToList();

    private static int NodeJobRuns(TempDir dir, int node) => Events(dir, node).Count(e => e is { Name: "succeeded", Task: "node-job" });

    /// <summary>A node's runs of cluster-job (start to end); a run cut by the kill ends at <paramref name="killedAt"/>.</summary>
    private static IEnumerable<(DateTimeOffset Start, DateTimeOffset End)> Runs(TempDir dir, int node, DateTimeOffset killedAt)
    {
        var all = Events(dir, node).Where(e => e.Task == "cluster-job").ToList();
        var ends = all.Where(e => e.Name is "succeeded" or "failed" or "timed-out")
            .ToDictionary(e => e.Tick, e => e.Time); // an end event's time is when the run ended
        foreach (var start in all.Where(e => e.Name == "started"))
            yield return (start.Time, ends.TryGetValue(start.Tick, out var end) ? end : killedAt);
    }

    private static async Task WaitUntil(Func<bool> condition, string what, List<HostProcess> nodes)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"not within {Wait.TotalSeconds} s: {what}\n" +
                            string.Join("\n", nodes.Select((n, i) => $"--- node {i} stdout:\n{n.Stdout}\nstderr:\n{n.Stderr}")));
            await Task.Delay(100);
        }
    }
}

[CollectionDefinition(nameof(ClusterRunTests), DisableParallelization = true)]
public sealed class ClusterRunCollection;
