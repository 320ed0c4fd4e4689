using System.Text;
using ActorScheduler.Testing.Support;
using Xunit;
using Xunit.Abstractions;
using static ActorScheduler.Host.Tests.ClusterHarness;

namespace ActorScheduler.Host.Tests;

/// <summary>
/// SIGKILL of a node that owns buckets with runs in flight, in a cluster of three host processes on 127.0.0.1 with
/// <c>distribution = sharded</c> (the fail-over timings of <see cref="ClusterHarness"/>), without a state store and with
/// one SQLite file: no process of the killed node's commands is left, every task it owned runs again on a survivor, and
/// no two runs of a task are ever alive at once, by the nodes' events and by a kernel lock each run holds
/// (<see cref="LockedRuns"/>). Each rule is polled for with a generous bound; the times are printed (the fail-over
/// benchmark measures them, docs/benchmarks.md).
/// </summary>
[Collection(nameof(ClusterRunTests))]
public sealed class ShardedCrashTests(ITestOutputHelper output)
{
    private const int Jobs = 20;
    /// <summary>Enough hold tasks that node 1 or 2 owns one whatever buckets Sharding gives node 0 (4 of 30 buckets could all stay there).</summary>
    private const int Holds = 12;
    private const int Tasks = Jobs + Holds;
    private const double RunSeconds = 2;

    /// <summary>A hold-N run's sleep: far longer than <see cref="OrphanWait"/>, so that one that outlived its host is seen.</summary>
    private const double HoldSeconds = 120;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan OrphanWait = TimeSpan.FromSeconds(30);

    [Theory]
    [InlineData("none")]
    [InlineData("SQLite")]
    public async Task SIGKILL_of_a_node_running_sharded_tasks_leaves_none_of_its_commands_and_its_tasks_run_again_on_the_survivors_never_two_at_once(string store)
    {
        using var dir = new TempDir();
        var locked = new LockedRuns(dir);
        var setName = "sharded-crash-" + Guid.NewGuid().ToString("N")[..8];
        var state = store == "SQLite" ? SqliteState(dir.File("state.db")) : NoState;
        var ports = FreePorts.Take(3);
        var marks = Enumerable.Range(0, 3).Select(_ => Guid.NewGuid().ToString("N")).ToArray();
        var nodes = new List<ClusterNode>();
        try
        {
            string Config(int i)
            {
                var tasks = new StringBuilder();
                for (var t = 0; t < Jobs; t++)
                    tasks.AppendLine($"    job-{t:00} {{ {locked.Task(i, RunSeconds, "spacing = 3s, timeout = 10s, run-immediately = on, scope = cluster", marks[i])} }}");
                for (var t = 0; t < Holds; t++)
                    tasks.AppendLine($"    hold-{t:00} {{ {locked.Task(i, HoldSeconds, "spacing = 2s, timeout = 130s, run-immediately = on, scope = cluster", marks[i])} }}");
                // The shipped shutdown-timeout (hocon/cluster.conf): a bucket that Sharding moves between the survivors waits
                // that long for its cancelled runs to end; without a store that wait is what keeps them apart.
                return NodeConfig(setName, ports[i], [ports[0], ports[1]], "", state, tasks.ToString()) +
                       "\nactor-scheduler.cluster { distribution = sharded, shards = 30 }\nactor-scheduler.shutdown-timeout = 5s\n";
            }

            nodes.Add(Start(dir, 0, ports[0], Config(0)));
            await WaitUntil(() => Starts(nodes[0]).Count > 0, "node 0 formed the cluster (a task runs on it)", Wait, nodes);
            nodes.Add(Start(dir, 1, ports[1], Config(1)));
            nodes.Add(Start(dir, 2, ports[2], Config(2)));
            await WaitUntil(() => nodes.All(n => Starts(n).Count > 0) && nodes.SelectMany(Starts).Select(e => e.Task).Distinct().Count() == Tasks,
                "every task ran, and each node ran some", Wait, nodes, () => string.Join(", ", nodes.Select(n => $"node {n.Index}: {Starts(n).Count} starts")));

            // The victim, node 1 or 2 (not node 0, the first seed and the Sharding coordinator's node), has a hold-N run in
            // flight, its 120 s sleep alive, as soon as it starts: killed with the host, or seen outliving it.
            int? victim = null;
            await WaitUntil(() => (victim = new[] { 1, 2 }.Cast<int?>().FirstOrDefault(v => OpenRuns(nodes[v!.Value]).Any(t => t.StartsWith("hold-", StringComparison.Ordinal))
                                      && Processes.Marked(marks[v.Value]).Any(p => p.CommandLine.Contains($"sleep {HoldSeconds}", StringComparison.Ordinal)))) is not null,
                "a hold-N run in flight on node 1 or 2", Wait, nodes);
            var victimIndex = victim!.Value;
            var inFlight = OpenRuns(nodes[victimIndex]);
            nodes[victimIndex].Kill();
            var killedAt = nodes[victimIndex].KilledAt!.Value;
            var moving = Owners(nodes).Where(p => p.Value == victimIndex).Select(p => p.Key).ToHashSet(StringComparer.Ordinal);
            output.WriteLine($"{store}: SIGKILL of node {victimIndex} at {Format(killedAt)}, owner of {moving.Count} tasks, {inFlight.Count} of them in flight " +
                             $"({string.Join(", ", inFlight)})");
            var survivors = nodes.Where(n => n.Index != victimIndex).ToList();

            await WaitUntil(() => Processes.Marked(marks[victimIndex]).Count == 0, $"no process of node {victimIndex}'s commands is left after its SIGKILL",
                OrphanWait, survivors, () => $"left: {Processes.Describe(Processes.Marked(marks[victimIndex]))}");
            output.WriteLine($"{store}: node {victimIndex}'s command processes gone {(DateTimeOffset.UtcNow - killedAt).TotalSeconds:F1} s after its SIGKILL (seen by polling)");

            Dictionary<string, DateTimeOffset> Resumed() => survivors.SelectMany(Starts).Where(e => e.Time > killedAt && moving.Contains(e.Task))
                .GroupBy(e => e.Task).ToDictionary(g => g.Key, g => g.Min(e => e.Time), StringComparer.Ordinal);
            await WaitUntil(() => Resumed().Count == moving.Count, $"the {moving.Count} tasks of node {victimIndex} run again on the survivors", Wait, survivors,
                () => $"not yet: {string.Join(", ", moving.Except(Resumed().Keys))}");
            var resumed = Resumed().Values.Select(t => (t - killedAt).TotalSeconds).ToList();
            output.WriteLine($"{store}: its tasks started again on the survivors {resumed.Min():F1}-{resumed.Max():F1} s after the kill");
            foreach (var line in FailOverLog(survivors, killedAt, Resumed().Values.Max()))
                output.WriteLine(line);

            // Never two runs of one task at once: from every node's events (a run cut by the kill ends at the kill), and
            // from the commands' lock, which no run found taken.
            var end = DateTimeOffset.UtcNow;
            var runs = nodes.SelectMany(n =>
            {
                n.Runs.Read();
                return n.Runs.Runs(n.KilledAt ?? end);
            }).ToList();
            AssertNoOverlap(runs, nodes);
            var started = locked.AssertNoConflict();
            output.WriteLine($"{store}: {runs.Count} runs in the events, {started} commands started, none overlapping");
            Assert.True(started > 0, "no command recorded its run");
        }
        finally
        {
            foreach (var node in nodes)
                node.Process.Dispose();
        }
    }

    private static List<Event> Starts(ClusterNode node) => node.Events.Where(e => e.Name == "started").ToList();

    private static List<string> OpenRuns(ClusterNode node)
    {
        node.Runs.Read();
        return node.Runs.OpenTasks();
    }

    /// <summary>Each task's owner now: the node of its newest start.</summary>
    private static Dictionary<string, int> Owners(IEnumerable<ClusterNode> nodes)
    {
        var owners = new Dictionary<string, (int Node, DateTimeOffset At)>(StringComparer.Ordinal);
        foreach (var node in nodes)
        {
            node.Runs.Read();
            foreach (var (task, at) in node.Runs.LastStarts)
                if (!owners.TryGetValue(task, out var owner) || at > owner.At)
                    owners[task] = (node.Index, at);
        }

        return owners.ToDictionary(p => p.Key, p => p.Value.Node, StringComparer.Ordinal);
    }
}
