using ActorScheduler.Cluster;
using ActorScheduler.Tests.PublicApi;
using Xunit;

namespace ActorScheduler.Cluster.Tests.PublicApi;

/// <summary>The public API of the ActorScheduler.Cluster package, approved (see ApprovedApi).</summary>
public class PublicApiTests
{
    [Fact]
    public void The_public_api_of_ActorScheduler_Cluster_is_the_approved_one() =>
        ApprovedApi.Check(typeof(ClusterPeriodicTasks).Assembly, "tests/Cluster.Tests/PublicApi/ActorScheduler.Cluster.approved.txt");
}
