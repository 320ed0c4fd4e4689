using ActorScheduler.Testing.Support;
using Xunit;
using Xunit.Abstractions;
using static ActorScheduler.Host.Tests.ClusterHarness;

namespace ActorScheduler.Host.Tests;

/// <summary>
/// docs/cluster.md, "Never two runs of one cluster task": without a state store the singleton holds the membership
/// lease, so an owner cut off from the side the split brain resolver keeps stops its cluster task within the lease's
/// heartbeat-timeout (2 s), before its resolver, which waits stable-after (5 s), decides anything.
/// </summary>
[Collection(nameof(ClusterRunTests))]
public sealed class ClusterPartitionTests(ITestOutputHelper output)
{
    private const string Lost = "lost: this node has not been on the side the split brain resolver keeps";

    [Fact]
    public async Task An_owner_cut_off_from_the_majority_stops_its_cluster_task_before_the_resolver_decides_and_the_majority_takes_it_over()
    {
        using var dir = new TempDir();
        var setName = "partition-" + Guid.NewGuid().ToString("N")[..8];
        var ports = FreePorts.Take(3);
        const string tasks = "job { command = \"true\", spacing = 1s, timeout = 3s, scope = cluster }";
        var nodes = new List<ClusterNode>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                nodes.Add(Start(dir, i, ports[i], NodeConfig(setName, ports[i], [ports[0]], "", NoState, tasks)));
                var node = nodes[i];
                await WaitUntil(() => nodes.Any(n => n.Process.Stdout.Contains($"Leader is moving node [{node.Address}] to [Up]", StringComparison.Ordinal)),
                    $"node {i} is Up", FailOverBound, nodes); // the leader, the lowest address, says so
            }

            await WaitUntil(() => Starts(nodes[0]).Count >= 2, "job runs on node 0, the oldest", FailOverBound, nodes);
            await Task.Delay(TimeSpan.FromSeconds(3)); // every node has seen every other Up

            // Nodes 1 and 2 freeze: to node 0 the majority is gone, as in a partition that leaves it alone.
            var cutAt = DateTimeOffset.UtcNow;
            nodes[1].Process.Signal(Signals.SigStop);
            nodes[2].Process.Signal(Signals.SigStop);
            await WaitUntil(() => LineTime(nodes[0], Lost) is not null, "node 0 lost the membership lease", FailOverBound, nodes);
            var lostAt = LineTime(nodes[0], Lost)!.Value;
            await WaitUntil(() => LineTime(nodes[0], "SBR took decision") is not null || nodes[0].Process.HasExited,
                "node 0's resolver decided", FailOverBound, nodes);
            var decidedAt = LineTime(nodes[0], "SBR took decision");
            nodes[1].Process.Signal(Signals.SigCont);
            nodes[2].Process.Signal(Signals.SigCont);
            var starts0 = Starts(nodes[0]);
            output.WriteLine($"cut at {Format(cutAt)}, lease lost at {Format(lostAt)}, node 0's resolver decided at {(decidedAt is { } d ? Format(d) : "-")}; " +
                             $"job started on node 0 at {string.Join(", ", starts0.Select(Format))}");

            Assert.True(decidedAt is null || lostAt < decidedAt, "the lease was lost only after the resolver decided");
            Assert.DoesNotContain(starts0, s => s > lostAt);

            // The majority resumes, downs node 0 and runs the task.
            await WaitUntil(() => Starts(nodes[1]).Count + Starts(nodes[2]).Count > 0, "job runs on node 1 or 2", FailOverBound * 2, nodes);
            var firstElsewhere = Starts(nodes[1]).Concat(Starts(nodes[2])).Min();
            Assert.DoesNotContain(starts0, s => s > firstElsewhere);
        }
        finally
        {
            foreach (var node in nodes)
            {
                if (!node.Process.HasExited)
                    node.Process.Signal(Signals.SigCont);
                node.Process.Dispose();
            }
        }
    }

    private static List<DateTimeOffset> Starts(ClusterNode node) =>
        node.Events.Where(e => e.Name == "started" && e.Task == "job").Select(e => e.Time).ToList();

    /// <summary>The time of the node's first log line containing <paramref name="text"/> (the log's HH:mm:ss.fff, today UTC).</summary>
    private static DateTimeOffset? LineTime(ClusterNode node, string text)
    {
        foreach (var line in (node.Process.Stdout + "\n" + node.Process.Stderr).Split('\n'))
            if (line.Contains(text, StringComparison.Ordinal) && LogTime(line) is { } at)
                return new DateTimeOffset(DateTime.UtcNow.Date + at, TimeSpan.Zero);
        return null;
    }
}
