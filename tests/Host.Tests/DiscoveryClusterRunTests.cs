using System.Diagnostics;
using System.Text.Json;
using ActorScheduler.Testing.Support;
using Xunit;
using Xunit.Abstractions;
using static ActorScheduler.Host.Tests.ClusterHarness;

namespace ActorScheduler.Host.Tests;

/// <summary>
/// Three <c>actor-scheduler run</c> processes on 127.0.0.1, started together with no seed nodes, form one cluster
/// through Akka.Management's Cluster Bootstrap and config discovery (each file lists the three management endpoints,
/// ports chosen at run time, and requires all three contact points). Bootstrap and cluster timings are tuned FOR THIS
/// TEST ONLY (production values: docs/cluster.md, "Joining without seed nodes").
/// </summary>
[Collection(nameof(ClusterRunTests))]
public sealed class DiscoveryClusterRunTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(40);

    [Fact]
    public async Task Three_host_processes_without_seed_nodes_form_one_cluster_through_config_discovery()
    {
        using var dir = new TempDir();
        var ports = FreePorts.Take(6);
        var remoting = ports[..3];
        var management = ports[3..];
        var nodes = new List<HostProcess>();
        try
        {
            var started = Stopwatch.StartNew();
            for (var i = 0; i < 3; i++)
            {
                var config = dir.Write($"node-{i}.conf", NodeConfig(remoting[i], management[i], management, $"n{i}"));
                nodes.Add(HostProcess.Start(dir.Path, null, "run", "--config", config, "--events", dir.File($"events-{i}.jsonl")));
            }

            // Node i alone has role ni: up-ni runs on it once it is Up in a cluster.
            await WaitUntil(() => Enumerable.Range(0, 3).All(i => Starts(dir, i, $"up-n{i}") > 0 && NodeJobRuns(dir, i) > 0),
                "every node Up (up-nN runs on node N) and node-job running on all three", nodes);
            output.WriteLine($"all three Up {started.Elapsed.TotalSeconds:F1} s after the start");
            await WaitUntil(() => Enumerable.Range(0, 3).Sum(i => Starts(dir, i, "cluster-job")) >= 3, "3 runs of cluster-job", nodes);

            // One cluster: its singleton runs cluster-job on one node only (three clusters would run it on each).
            var owners = Enumerable.Range(0, 3).Where(i => Starts(dir, i, "cluster-job") > 0).ToList();
            Assert.True(owners.Count == 1, $"cluster-job ran on nodes {string.Join(", ", owners)}\n{Outputs(nodes)}");

            // Akka.Management's endpoint answers on 127.0.0.1 with the members every node joined.
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            var seedNodes = await http.GetStringAsync($"http://127.0.0.1:{management[1]}/bootstrap/seed-nodes");
            output.WriteLine(seedNodes);
            using var json = JsonDocument.Parse(seedNodes);
            var members = json.RootElement.GetProperty("Nodes").EnumerateArray()
                .Select(n => n.GetProperty("Node")).Select(n => (n.GetProperty("Host").GetString(), n.GetProperty("Port").GetInt32()));
            Assert.Equal(remoting.Select(p => ((string?)"127.0.0.1", p)).Order(), members.Order());
            Assert.All(nodes, n => Assert.False(n.HasExited, n.Stderr));
        }
        finally
        {
            foreach (var node in nodes)
                node.Dispose();
        }
    }

    private static string NodeConfig(int port, int managementPort, int[] managementPorts, string role) => BootstrapNodeConfig(port, managementPort, role, $$"""
        akka.discovery {
          method = config
          config.services.actor-scheduler.endpoints = [{{string.Join(", ", managementPorts.Select(p => $"\"127.0.0.1:{p}\""))}}]
        }
        # The three endpoints share one host: keep them all (by default a host's entries are filtered to this node's own port).
        akka.management.cluster.bootstrap.contact-point.filter-on-fallback-port = off
        """, """
        node-job { command = "true", ticks-between-runs = 4 }
        up-n0 { command = "true", scope = cluster, role = n0, run-immediately = on, spacing = 1h }
        up-n1 { command = "true", scope = cluster, role = n1, run-immediately = on, spacing = 1h }
        up-n2 { command = "true", scope = cluster, role = n2, run-immediately = on, spacing = 1h }
        """);

    private static IReadOnlyList<Event> Events(TempDir dir, int node) => Event.ReadWritten(dir.File($"events-{node}.jsonl"));

    private static int Starts(TempDir dir, int node, string task) => Events(dir, node).Count(e => e.Name == "started" && e.Task == task);

    private static int NodeJobRuns(TempDir dir, int node) => Events(dir, node).Count(e => e is { Name: "succeeded", Task: "node-job" });

    private static string Outputs(List<HostProcess> nodes) =>
        string.Join("\n", nodes.Select((n, i) => $"--- node {i} stdout:\n{n.Stdout}\nstderr:\n{n.Stderr}"));

    private static async Task WaitUntil(Func<bool> condition, string what, List<HostProcess> nodes)
    {
        var deadline = DateTime.UtcNow + Wait;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline || nodes.Any(n => n.HasExited))
                Assert.Fail($"{(DateTime.UtcNow > deadline ? $"not within {Wait.TotalSeconds} s" : "a node exited before")}: {what}\n{Outputs(nodes)}");
            await Task.Delay(100);
        }
    }
}
