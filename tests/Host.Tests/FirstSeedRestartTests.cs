using ActorScheduler.Host.Running;
using ActorScheduler.Testing.Support;
using Akka.Configuration;
using Xunit;
using Xunit.Abstractions;

namespace ActorScheduler.Host.Tests;

/// <summary>
/// docs/cluster.md, "Never two runs of one cluster task": a first seed node that comes back while the other seeds run a
/// cluster joins their cluster, even when their answers come later than <c>seed-node-timeout</c>, instead of forming a
/// second cluster that would run every cluster task again.
/// </summary>
[Collection(nameof(ClusterRunTests))]
public sealed class FirstSeedRestartTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(40);

    private static readonly Akka.Configuration.Config Seeds = ConfigurationFactory.ParseString("""
        akka.remote.dot-netty.tcp { hostname = "127.0.0.1", port = 4001 }
        akka.cluster.seed-nodes = ["akka.tcp://actor-scheduler@127.0.0.1:4001", "akka.tcp://actor-scheduler@127.0.0.1:4002", "akka.tcp://actor-scheduler@127.0.0.1:4003"]
        """);

    [Fact]
    public void The_first_seed_waits_longer_for_the_others_only_when_another_seeds_port_accepts_a_connection()
    {
        var probed = new List<int>();
        var guard = FirstSeedGuard.Check(Seeds, "actor-scheduler", (_, port, _) =>
        {
            lock (probed)
                probed.Add(port);
            return port == 4003;
        });
        Assert.Equal(FirstSeedGuard.LivingSeedWait, guard?.Timeout);
        Assert.Contains("seed 127.0.0.1:4003 is running", guard?.Reason);
        Assert.Equal([4002, 4003], probed.Order());

        Assert.Null(FirstSeedGuard.Check(Seeds, "actor-scheduler", (_, _, _) => false)); // a cold start: nobody there yet
        Assert.Null(FirstSeedGuard.Check(Seeds.WithFallback(ConfigurationFactory.ParseString("akka.cluster.seed-node-timeout = 60s")),
            "actor-scheduler", (_, _, _) => true)); // already waits longer
        Assert.Null(FirstSeedGuard.Check(ConfigurationFactory.ParseString("akka.remote.dot-netty.tcp.port = 4002").WithFallback(Seeds),
            "actor-scheduler", (_, _, _) => true)); // not the first seed: Akka never forms a cluster alone there
        Assert.Null(FirstSeedGuard.Check(Seeds, "other-system", (_, _, _) => true));
        Assert.Null(FirstSeedGuard.Check(ConfigurationFactory.ParseString("akka.remote.dot-netty.tcp.port = many").WithFallback(Seeds),
            "actor-scheduler", (_, _, _) => true)); // a malformed value is the ActorSystem's to report, naming its key
    }

    [Fact]
    public async Task A_restarted_first_seed_whose_seeds_answer_late_joins_their_cluster_and_never_runs_its_cluster_task_beside_them()
    {
        using var dir = new TempDir();
        var ports = FreePorts.Take(3);
        var nodes = new List<HostProcess>();
        try
        {
            nodes.Add(Start(dir, ports, 0, 0));
            await WaitUntil(() => Starts(dir, 0).Count > 0, "node 0 formed the cluster (cluster-job runs on it)", nodes);
            for (var i = 1; i < 3; i++)
            {
                nodes.Add(Start(dir, ports, i, i));
                var n = i;
                await WaitUntil(() => Starts(dir, n, $"up-n{n}").Count > 0, $"node {n} is Up", nodes);
            }

            nodes[0].Signal(HostProcess.SigTerm); // the first seed leaves, then comes back on its port
            Assert.Equal(0, await nodes[0].WaitForExitAsync(Wait));
            await WaitUntil(() => Starts(dir, 1).Count > 0, "cluster-job moved to node 1, now the oldest", nodes);

            // A busy machine: the other seeds answer its InitJoin seconds later than seed-node-timeout (2 s).
            nodes[1].Signal(Signals.SigStop);
            nodes[2].Signal(Signals.SigStop);
            var restartedAt = DateTimeOffset.UtcNow;
            nodes.Add(Start(dir, ports, 0, 3));
            await Task.Delay(TimeSpan.FromSeconds(6));
            nodes[1].Signal(Signals.SigCont);
            nodes[2].Signal(Signals.SigCont);

            var joined = $"Welcome from [{ClusterHarness.Address(ports[1])}]";
            var joinedOther = $"Welcome from [{ClusterHarness.Address(ports[2])}]";
            await WaitUntil(() => nodes[3].Stdout.Contains(joined) || nodes[3].Stdout.Contains(joinedOther), "the restarted first seed joined the running cluster", nodes);
            Assert.Contains("is the first of akka.cluster.seed-nodes and seed", nodes[3].Stdout + nodes[3].Stderr);
            Assert.DoesNotContain("JOINING itself", nodes[3].Stdout);
            await WaitUntil(() => Starts(dir, 1).Count(s => s.Time > restartedAt) >= 3, "cluster-job runs on node 1 after the restart", nodes);
            Assert.Empty(Starts(dir, 3)); // a second cluster would run it here too
            output.WriteLine($"joined {(DateTimeOffset.UtcNow - restartedAt).TotalSeconds:F1} s after its restart, or less");
        }
        finally
        {
            foreach (var node in nodes)
            {
                if (!node.HasExited)
                    node.Signal(Signals.SigCont);
                node.Dispose();
            }
        }
    }

    private static HostProcess Start(TempDir dir, int[] ports, int node, int index)
    {
        var config = dir.Write($"node-{index}.conf", $$"""
            actor-scheduler-host.set-name = seeds
            akka {
              actor.provider = cluster
              remote.dot-netty.tcp { hostname = "127.0.0.1", port = {{ports[node]}} }
              cluster {
                seed-nodes = ["{{ClusterHarness.Address(ports[0])}}", "{{ClusterHarness.Address(ports[1])}}"]
                roles = [{{(node == 0 ? "" : $"n{node}")}}]
                # TEST-ONLY timings: a 2 s seed-node timeout, and a heartbeat pause that outlasts the 6 s freeze below.
                seed-node-timeout = 2s
                downing-provider-class = "Akka.Cluster.SBR.SplitBrainResolverProvider, Akka.Cluster"
                split-brain-resolver { active-strategy = keep-majority, stable-after = 1.5s }
                failure-detector { heartbeat-interval = 200ms, acceptable-heartbeat-pause = 15s }
                gossip-interval = 200ms
                leader-actions-interval = 200ms
              }
            }
            actor-scheduler {
              periodic-interval = 200ms
              initial-delay = 200ms
              shutdown-timeout = 1s
              tasks {
                cluster-job { command = "true", spacing = 1s, scope = cluster }
                up-n1 { command = "true", scope = cluster, role = n1, run-immediately = on, spacing = 1h }
                up-n2 { command = "true", scope = cluster, role = n2, run-immediately = on, spacing = 1h }
              }
            }
            """);
        return HostProcess.Start(dir.Path, null, "run", "--config", config, "--events", dir.File($"events-{index}.jsonl"));
    }

    private static List<Event> Starts(TempDir dir, int index, string task = "cluster-job") =>
        Event.ReadWritten(dir.File($"events-{index}.jsonl")).Where(e => e.Name == "started" && e.Task == task).ToList();

    private static async Task WaitUntil(Func<bool> condition, string what, List<HostProcess> nodes)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"not within {Wait.TotalSeconds} s: {what}\n" +
                            string.Join("\n", nodes.Select((n, i) => $"--- process {i} stdout:\n{n.Stdout}\nstderr:\n{n.Stderr}")));
            await Task.Delay(100);
        }
    }
}
