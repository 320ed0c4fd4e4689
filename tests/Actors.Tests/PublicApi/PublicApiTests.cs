using Xunit;

namespace ActorScheduler.Tests.PublicApi;

/// <summary>
/// The public API of the ActorScheduler package, approved: any change to it fails here until the approved file is
/// updated with it, so it shows as a diff in review. To approve, copy the .received.txt written beside it over it.
/// </summary>
public class PublicApiTests
{
    [Fact]
    public void The_public_api_of_ActorScheduler_is_the_approved_one() =>
        ApprovedApi.Check(typeof(PeriodicTasks).Assembly, "tests/Actors.Tests/PublicApi/ActorScheduler.approved.txt");
}
