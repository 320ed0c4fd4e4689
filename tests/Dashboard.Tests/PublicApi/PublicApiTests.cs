using ActorScheduler.Tests.PublicApi;
using Xunit;

namespace ActorScheduler.Dashboard.Tests.PublicApi;

/// <summary>The public API of the ActorScheduler.Dashboard package, approved (see ApprovedApi).</summary>
public class PublicApiTests
{
    [Fact]
    public void The_public_api_of_ActorScheduler_Dashboard_is_the_approved_one() =>
        ApprovedApi.Check(typeof(PeriodicTaskDashboardExtensions).Assembly, "tests/Dashboard.Tests/PublicApi/ActorScheduler.Dashboard.approved.txt");
}
