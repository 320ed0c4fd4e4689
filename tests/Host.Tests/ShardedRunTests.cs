using System.Diagnostics;
using System.Globalization;
using System.Text;
using ActorScheduler.Cluster;
using ActorScheduler.Testing.Support;
using Xunit;
using Xunit.Abstractions;

namespace ActorScheduler.Host.Tests;

/// <summary>
/// Three <c>actor-scheduler run</c> processes on 127.0.0.1 with <c>distribution = sharded</c> and 60 cluster tasks due
/// every 2 s: every task runs and each node runs some of them; when the youngest node leaves (SIGTERM), every task runs
/// on the two others; a node that comes back on the same port gets tasks again; and no task ever runs twice at once
/// (from the JSON Lines events of all processes, <see cref="RunOverlap"/>). The rules are polled for with generous
/// bounds; the hand-over times are printed, not asserted (the benchmark measures them). Cluster timings are tuned for
/// this test only, as in <see cref="ClusterRunTests"/>.
/// </summary>
[Collection(nameof(ClusterRunTests))]
public sealed class ShardedRunTests(ITestOutputHelper output)
{
    private const int Tasks = 60;
    private const int Shards = 30;
    private static readonly TimeSpan Spacing = TimeSpan.FromSeconds(2);

    /// <summary>How long each rule is waited for: far past what it takes (seconds), so that only a rule that does not hold fails.</summary>
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(90);

    /// <summary>Three spacings: a node that ran a task in this window still owns a bucket.</summary>
    private static readonly TimeSpan Recent = 3 * Spacing;

    [Fact]
    public async Task Three_host_processes_share_sharded_cluster_tasks_hand_a_leaving_node_s_tasks_over_and_get_tasks_again_when_it_returns_never_running_one_twice_at_once()
    {
        using var dir = new TempDir();
        var ports = FreePorts.BelowEphemeralRange(3);
        var watch = Stopwatch.StartNew();
        var nodes = new List<Node>();
        try
        {
            // Started together (node 0, the first seed, forms the cluster); Sharding then moves buckets to the others.
            var startedAt = DateTimeOffset.UtcNow;
            for (var node = 0; node < 3; node++)
                nodes.Add(Start(dir, ports, node));
            await WaitFor(() => Unshared(nodes, [0, 1, 2], startedAt), "every task runs, and each of the three nodes runs some of them", nodes);
            output.WriteLine($"{watch.Elapsed.TotalSeconds:F1} s: every task ran; each node runs some ({Shares(nodes, [0, 1, 2])})");

            // Node 2, the youngest, leaves gracefully. (Node 0, the oldest, also hosts Sharding's coordinator, and is the first
            // seed: restarted on a busy machine it can form a cluster of its own; docs/cluster.md, "Never two runs".)
            const int leaving = 2;
            int[] staying = [0, 1];
            var moving = Owners(nodes).Where(p => p.Value == leaving).Select(p => p.Key).ToHashSet();
            Assert.NotEmpty(moving);
            var leftAt = DateTimeOffset.UtcNow;
            nodes[leaving].Process.Signal(HostProcess.SigTerm);
            var code = await nodes[leaving].Process.WaitForExitAsync(Wait);
            nodes[leaving].ExitedAt = DateTimeOffset.UtcNow;
            Assert.True(code == 0, $"exit {code}\n{nodes[leaving].Process.Stdout}\n{nodes[leaving].Process.Stderr}");
            Assert.Contains("(cluster-scoped tasks): from their buckets across the cluster", nodes[leaving].Process.Stdout);
            await WaitFor(() => Unshared(nodes, staying, leftAt), $"after node {leaving} left, every task runs on nodes 0 and 1", nodes);
            var firsts = FirstStarts(nodes, staying, leftAt);
            var delays = moving.Select(t => (firsts[t] - leftAt).TotalSeconds).ToList();
            output.WriteLine($"{watch.Elapsed.TotalSeconds:F1} s: the {moving.Count} tasks of node {leaving} ran on nodes 0 and 1 " +
                             $"{delays.Min():F1}-{delays.Max():F1} s after its SIGTERM; every task ran there ({Shares(nodes, staying)})");

            // It comes back on the same port, as a new member: buckets are moved onto it again.
            var rejoinedAt = DateTimeOffset.UtcNow;
            nodes.Add(Start(dir, ports, leaving, number: 3));
            await WaitFor(() => Unshared(nodes, [.. staying, 3], rejoinedAt), $"node {leaving}, back on its port, runs tasks again, and every task runs", nodes);
            var back = nodes[3].Runs.Runs(DateTimeOffset.UtcNow).Min(r => r.Start);
            output.WriteLine($"{watch.Elapsed.TotalSeconds:F1} s: node {leaving} ran tasks again {(back - rejoinedAt).TotalSeconds:F1} s after its process started " +
                             $"({Shares(nodes, [.. staying, 3])})");

            // Never two runs of one task at once, across the four processes, over the whole test.
            var end = DateTimeOffset.UtcNow;
            var runs = AllRuns(nodes, end);
            RunOverlap.AssertNone(runs, nodes.Select(n => n.Runs));
            output.WriteLine($"{watch.Elapsed.TotalSeconds:F1} s: {runs.Count} runs, none overlapping");
        }
        finally
        {
            foreach (var node in nodes)
                node.Process.Dispose();
        }
    }

    /// <summary>One host process: its runs, and when it was seen to exit (its runs without an end are cut there).</summary>
    private sealed class Node(int number, HostProcess process, NodeRuns runs)
    {
        public int Number { get; } = number;

        public HostProcess Process { get; } = process;

        public NodeRuns Runs { get; } = runs;

        public DateTimeOffset? ExitedAt { get; set; }
    }

    private static List<RunSpan> AllRuns(List<Node> nodes, DateTimeOffset now, DateTimeOffset? since = null)
    {
        var runs = new List<RunSpan>();
        foreach (var node in nodes)
        {
            node.Runs.Read();
            runs.AddRange(node.Runs.Runs(node.ExitedAt ?? now, since));
        }

        return runs;
    }

    /// <summary>
    /// Null when every task started on <paramref name="on"/> at or after <paramref name="since"/>, and each of those nodes
    /// started some task in the last <see cref="Recent"/> (it owns buckets); else what is not so yet.
    /// </summary>
    private static string? Unshared(List<Node> nodes, int[] on, DateTimeOffset since)
    {
        var now = DateTimeOffset.UtcNow;
        var runs = AllRuns(nodes, now, since).Where(r => on.Contains(r.Node)).ToList();
        var ran = runs.Select(r => r.Task).Distinct().Count();
        if (ran < Tasks)
            return $"{ran} of {Tasks} tasks ran on nodes {string.Join(", ", on)}";
        var idle = on.Where(n => !runs.Any(r => r.Node == n && r.Start >= now - Recent)).ToList();
        return idle.Count == 0 ? null : $"no run in the last {Recent.TotalSeconds:F0} s on node {string.Join(", ", idle)}";
    }

    /// <summary>Each task's owner now: the node of its newest start.</summary>
    private static Dictionary<string, int> Owners(List<Node> nodes)
    {
        var owners = new Dictionary<string, (int Node, DateTimeOffset At)>(StringComparer.Ordinal);
        foreach (var node in nodes)
        {
            node.Runs.Read();
            foreach (var (task, at) in node.Runs.LastStarts)
                if (!owners.TryGetValue(task, out var owner) || at > owner.At)
                    owners[task] = (node.Number, at);
        }

        return owners.ToDictionary(p => p.Key, p => p.Value.Node, StringComparer.Ordinal);
    }

    /// <summary>The tasks and buckets each node owns now, for the test's output.</summary>
    private static string Shares(List<Node> nodes, int[] on)
    {
        var owners = Owners(nodes);
        return string.Join(", ", on.Select(n =>
        {
            var tasks = owners.Where(p => p.Value == n).Select(p => p.Key).ToList();
            return $"node {n}: {tasks.Count} tasks in {tasks.Select(t => TaskBuckets.Of(t, Shards)).Distinct().Count()} buckets";
        }));
    }

    /// <summary>Each task's first start on <paramref name="on"/> at or after <paramref name="after"/>.</summary>
    private static Dictionary<string, DateTimeOffset> FirstStarts(List<Node> nodes, int[] on, DateTimeOffset after) =>
        AllRuns(nodes, DateTimeOffset.UtcNow, after).Where(r => on.Contains(r.Node))
            .GroupBy(r => r.Task).ToDictionary(g => g.Key, g => g.Min(r => r.Start), StringComparer.Ordinal);

    /// <summary>Starts node <paramref name="node"/> on its port; <paramref name="number"/> names its events file (a node started again gets 3).</summary>
    private static Node Start(TempDir dir, int[] ports, int node, int? number = null)
    {
        var n = number ?? node;
        var config = dir.Write($"node-{n}.conf", NodeConfig(ports[node], ports[0], ports[1]));
        var events = dir.File($"events-{n}.jsonl");
        return new Node(n, HostProcess.Start(dir.Path, null, "run", "--config", config, "--events", events), new NodeRuns(n, events));
    }

    private static string NodeConfig(int port, int seed1, int seed2)
    {
        var tasks = new StringBuilder();
        // run-immediately: a bucket moved without a state store starts its schedule afresh, and its tasks then run on its first
        // tick rather than a spacing later.
        for (var i = 0; i < Tasks; i++)
            tasks.Append(CultureInfo.InvariantCulture, $"    job-{i:00} {{ command = [\"true\"], spacing = {Spacing.TotalSeconds:F0}s, run-immediately = on, scope = cluster }}\n");
        return $$"""
            actor-scheduler-host.set-name = jobs
            akka {
              loglevel = WARNING
              actor.provider = cluster
              remote.dot-netty.tcp { hostname = "127.0.0.1", port = {{port}} }
              cluster {
                seed-nodes = ["akka.tcp://actor-scheduler@127.0.0.1:{{seed1}}", "akka.tcp://actor-scheduler@127.0.0.1:{{seed2}}"]
                downing-provider-class = "Akka.Cluster.SBR.SplitBrainResolverProvider, Akka.Cluster"
                # TEST-ONLY timings (production: hocon/cluster.conf).
                split-brain-resolver { active-strategy = keep-majority, stable-after = 1.5s }
                failure-detector { heartbeat-interval = 200ms, acceptable-heartbeat-pause = 3s }
                seed-node-timeout = 2s
                gossip-interval = 200ms
                leader-actions-interval = 200ms
                unreachable-nodes-reaper-interval = 250ms
                singleton.hand-over-retry-interval = 200ms
              }
            }
            actor-scheduler {
              periodic-interval = 250ms
              initial-delay = 250ms
              # Long enough for a `true` started just before a hand-off to end on a loaded machine: without a state
              # store, a run that outlived it could overlap the new owner's first run.
              shutdown-timeout = 3s
              cluster { distribution = sharded, shards = {{Shards}} }
              tasks {
            {{tasks}}  }
            }
            """;
    }

    /// <summary>Polls until <paramref name="unmet"/> returns null; past <see cref="Wait"/>, fails with its last answer and the nodes' output.</summary>
    private static async Task WaitFor(Func<string?> unmet, string what, List<Node> nodes)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (unmet() is { } why)
        {
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"not within {Wait.TotalSeconds} s: {what} ({why})\n" +
                            string.Join("\n", nodes.Select(n => $"--- node {n.Number}:\n{Log(n.Process)}")));
            await Task.Delay(250);
        }
    }

    /// <summary>A process's output without its overrun warnings (a loaded machine writes many).</summary>
    private static string Log(HostProcess node) =>
        string.Join("\n", (node.Stdout + node.Stderr).Split('\n').Where(l => !l.Contains("skipped (overrun)", StringComparison.Ordinal)));
}
