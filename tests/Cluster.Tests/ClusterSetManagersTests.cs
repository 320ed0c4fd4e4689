using ActorScheduler.Messages;
using Akka.Actor;
using Akka.Hosting;
using Xunit;
using Xunit.Abstractions;

namespace ActorScheduler.Cluster.Tests;

/// <summary>
/// How <see cref="PeriodicTaskClient{TKey}"/> finds the managers of a cluster set through Akka.Hosting's ActorRegistry
/// (docs/cluster.md, "One set across the cluster"): the actor registered beside the key lists this node's manager and
/// the cluster tasks' proxy, or refuses while the census finds that this node's sets differ from the cluster's.
/// </summary>
public sealed class ClusterSetManagersTests(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(output: output)
{
    private sealed class Jobs;

    private (PeriodicTaskClient<Jobs> Client, Akka.TestKit.TestProbe Node, Akka.TestKit.TestProbe Proxy, Akka.TestKit.TestProbe Census) Registered()
    {
        var (node, proxy, census) = (CreateTestProbe(), CreateTestProbe(), CreateTestProbe());
        var set = new ClusterTaskSet(node.Ref, new Dictionary<string, IActorRef> { [""] = proxy.Ref }) { Census = census.Ref };
        var registry = ActorRegistry.For(Sys);
        registry.Register<TaskSetManagers.Of<Jobs>>(Sys.ActorOf(ClusterSetManagers.Props(set)));
        registry.Register<Jobs>(node.Ref);
        return (new PeriodicTaskClient<Jobs>(registry), node, proxy, census);
    }

    private static TaskStatsReport Report(params string[] tasks) =>
        new("jobs", 3, tasks.Select(t => new TaskStats(t, "every tick", true, 0, 0, 0, 0, 0, 0, 0, false, null, null, null, null, null, null, false, null, null, 0, 0)).ToList());

    [Fact]
    public async Task A_client_of_a_registered_cluster_set_merges_the_stats_of_this_nodes_manager_and_the_cluster_tasks()
    {
        var (client, node, proxy, census) = Registered();
        var stats = client.GetStatsAsync();
        census.ExpectMsg<SetCensus.SetsDiffer>();
        census.Reply(new SetCensus.SetsDifferReport(null));
        node.ExpectMsg<GetTaskStats>();
        node.Reply(Report("cleanup"));
        proxy.ExpectMsg<GetTaskStats>();
        proxy.Reply(Report("report"));
        Assert.Equal(["cleanup", "report"], (await stats).Tasks.Select(t => t.Task));
    }

    [Fact]
    public async Task While_this_nodes_sets_differ_from_the_clusters_the_client_gets_TaskSetNotReadyException_with_the_census_reason()
    {
        var (client, node, proxy, census) = Registered();
        var stats = client.GetStatsAsync();
        census.ExpectMsg<SetCensus.SetsDiffer>();
        census.Reply(new SetCensus.SetsDifferReport("this node runs task set 'node-2' but the oldest node runs 'node-1': every node must run the same set"));
        var error = await Assert.ThrowsAsync<TaskSetNotReadyException>(() => stats);
        Assert.Contains("'node-2'", error.Message);
        node.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        proxy.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
    }
}
