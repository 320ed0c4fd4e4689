using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using Xunit;

namespace ActorScheduler.Cluster.Tests;

/// <summary>
/// The bucket starter of a node asks its region for every bucket while the node is Up, and stops asking once the node's
/// coordinated shutdown has begun, while the node is still Up: a region handing its buckets off stops only when nothing
/// waits in its buffers.
/// </summary>
public sealed class BucketStarterTests
{
    [Fact]
    public async Task A_node_whose_coordinated_shutdown_has_begun_asks_for_no_bucket_although_it_is_still_up()
    {
        using var cluster = new TestCluster();
        await cluster.FormAsync(0);
        var system = cluster[0];
        var region = new TestProbe(system, new XunitAssertions());
        system.ActorOf(BucketStarter.Props(region.Ref, [3, 7]), "bucket-starter");
        var asked = new[] { region.ExpectMsg<ShardRegion.StartEntity>(), region.ExpectMsg<ShardRegion.StartEntity>() };
        Assert.Equal(["3", "7"], asked.Select(s => s.EntityId).Order());

        // Hold the shutdown in its first cluster phase, before the regions hand off and the node leaves.
        var shutdown = CoordinatedShutdown.Get(system);
        var held = new TaskCompletionSource<Akka.Done>(TaskCreationOptions.RunContinuationsAsynchronously);
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        shutdown.AddTask(CoordinatedShutdown.PhaseBeforeClusterShutdown, "hold", () =>
        {
            reached.TrySetResult();
            return held.Task;
        });
        _ = shutdown.Run(CoordinatedShutdown.ClrExitReason.Instance);
        await reached.Task.WaitAsync(TimeSpan.FromSeconds(10));
        region.ReceiveWhile<object>(TimeSpan.FromMilliseconds(100), m => m); // asked before the shutdown began
        Assert.Equal(MemberStatus.Up, Akka.Cluster.Cluster.Get(system).SelfMember.Status);

        // Longer than the pings' interval (1 s): none comes.
        region.ExpectNoMsg(TimeSpan.FromSeconds(2));
        held.TrySetResult(Akka.Done.Instance);
    }
}
