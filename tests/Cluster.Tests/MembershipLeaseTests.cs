using System.Diagnostics;
using ActorScheduler.Coordination;
using Akka.Actor;
using Akka.Cluster;
using Akka.Configuration;
using Akka.Coordination;
using Xunit;

namespace ActorScheduler.Cluster.Tests;

/// <summary>
/// docs/cluster.md, "Never two runs of one cluster task": without a state store the singleton and the buckets hold a
/// lease from the cluster's membership, held while the split brain resolver would keep this node's side and lost once
/// it has not for heartbeat-timeout.
/// </summary>
public sealed class MembershipLeaseTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private readonly ActorSystem _system = ActorSystem.Create("membership-lease", "akka.loglevel = WARNING");

    /// <summary>
    /// Members in address order, as "status reachable [age]": U(p), J(oining), W(eaklyUp), L(eaving), E(xiting), D(own);
    /// + reachable from this node, - not; the age rank (0 = oldest) defaults to the position.
    /// </summary>
    [Theory]
    [InlineData("keep-majority", "U+ U+ U-", true)] // two of three: the survivors of a SIGKILL
    [InlineData("keep-majority", "U- U- U+", false)] // one of three: the cut-off node
    [InlineData("keep-majority", "U+ U-", true)] // a tie keeps the side with the lowest address
    [InlineData("keep-majority", "U- U+", false)]
    [InlineData("keep-majority", "U+ U+ D-", true)] // a downed member no longer counts
    [InlineData("keep-majority", "U+ U- J- J-", false)] // joining members may be up on the other side
    [InlineData("keep-majority", "U+ L+ U- U-", false)] // a leaving member may be exiting on the other side
    [InlineData("keep-majority", "U+ U+ U+", true)]
    [InlineData("keep-oldest", "U+0 U-1 U-2", false)] // down-if-alone: the oldest alone against two
    [InlineData("keep-oldest", "U-0 U+1 U+2", true)]
    [InlineData("keep-oldest", "U+0 U+1 U-2", true)]
    [InlineData("keep-oldest", "U-0 U+1 U-2", false)]
    [InlineData("keep-oldest", "U+0 U-1", true)] // two nodes: the oldest stays, even alone
    [InlineData("static-quorum", "U+ U+ U-", true)]
    [InlineData("static-quorum", "U+ U- U-", false)]
    [InlineData("static-quorum", "U+ U+ U+ U+", false)] // more members than quorum-size * 2 - 1: the resolver downs all
    [InlineData("down-all", "U+ U+ U+", true)]
    [InlineData("down-all", "U+ U+ U-", false)]
    [InlineData("down-all", "U+ U+ D-", true)]
    public void The_side_is_kept_as_the_split_brain_resolver_decides(string strategy, string members, bool kept)
    {
        var side = new ResolverSide(strategy, "", strategy == "static-quorum" ? 2 : 0, strategy == "keep-oldest");
        var list = members.Split(' ').Select((m, i) => new SideMember(
            m[0] switch
            {
                'U' => MemberStatus.Up,
                'J' => MemberStatus.Joining,
                'W' => MemberStatus.WeaklyUp,
                'L' => MemberStatus.Leaving,
                'E' => MemberStatus.Exiting,
                _ => MemberStatus.Down,
            },
            m[1] == '+',
            m.Length > 2 ? m[2] - '0' : i)).ToList();
        Assert.Equal(kept, side.Kept(list));
    }

    [Theory]
    [InlineData("", "keep-majority")]
    [InlineData("akka.cluster.split-brain-resolver.active-strategy = keep-oldest", "keep-oldest")]
    [InlineData("akka.cluster.split-brain-resolver { active-strategy = static-quorum, static-quorum.quorum-size = 2 }", "static-quorum")]
    [InlineData("akka.cluster.split-brain-resolver.active-strategy = static-quorum", null)] // quorum-size undefined
    [InlineData("akka.cluster.split-brain-resolver.active-strategy = lease-majority", null)] // the side that gets the resolver's lease wins
    [InlineData("akka.cluster.downing-provider-class = \"My.Downing, Mine\"", null)]
    public void The_lease_knows_the_resolver_s_own_strategies_only(string hocon, string? strategy) =>
        Assert.Equal(strategy, ResolverSide.Read(ConfigurationFactory.ParseString(hocon))?.Strategy);

    [Fact]
    public async Task It_is_acquired_only_on_the_kept_side_and_survives_a_cut_off_shorter_than_heartbeat_timeout()
    {
        var kept = false;
        var lease = Lease(() => Volatile.Read(ref kept), TimeSpan.FromSeconds(4));
        Assert.False(await lease.Acquire().WaitAsync(Wait));
        Assert.False(lease.CheckLease());

        Volatile.Write(ref kept, true);
        var lost = new TaskCompletionSource<Exception>();
        Assert.True(await lease.Acquire(e => lost.TrySetResult(e)).WaitAsync(Wait));
        Assert.True(lease.CheckLease());

        Volatile.Write(ref kept, false); // cut off for an eighth of heartbeat-timeout, then back
        await Task.Delay(500);
        Volatile.Write(ref kept, true);
        await Task.Delay(4500); // past heartbeat-timeout since the cut-off began
        Assert.True(lease.CheckLease());
        Assert.False(lost.Task.IsCompleted);
    }

    [Fact]
    public async Task It_is_lost_with_a_reason_once_the_node_has_been_off_the_kept_side_for_heartbeat_timeout()
    {
        var kept = true;
        var lease = Lease(() => Volatile.Read(ref kept), TimeSpan.FromMilliseconds(500));
        var lost = new TaskCompletionSource<Exception>();
        Assert.True(await lease.Acquire(e => lost.TrySetResult(e)).WaitAsync(Wait));

        var cutOff = Stopwatch.StartNew();
        Volatile.Write(ref kept, false);
        var reason = await lost.Task.WaitAsync(Wait);
        Assert.True(cutOff.Elapsed >= TimeSpan.FromMilliseconds(500), $"lost after {cutOff.Elapsed}");
        Assert.Contains("has not been on the side the split brain resolver keeps for heartbeat-timeout (0.5 s)", reason.Message);
        Assert.False(lease.CheckLease());

        Assert.True(await lease.Release().WaitAsync(Wait)); // the singleton manager releases, then acquires again once kept
        Volatile.Write(ref kept, true);
        Assert.True(await lease.Acquire().WaitAsync(Wait));
        Assert.True(lease.CheckLease());
        await lease.Release();
        Assert.False(lease.CheckLease());
    }

    [Fact]
    public async Task Under_another_downing_provider_acquiring_fails_naming_what_it_needs()
    {
        var lease = Lease(null, TimeSpan.FromSeconds(1));
        var error = await Assert.ThrowsAsync<LeaseException>(() => lease.Acquire());
        Assert.Contains("needs Akka's split brain resolver with keep-majority, keep-oldest, static-quorum or down-all", error.Message);
    }

    private MembershipLease Lease(Func<bool>? kept, TimeSpan timeout) => new(
        new LeaseSettings("lease-" + Guid.NewGuid().ToString("N")[..8], "owner",
            new TimeoutSettings(TimeSpan.FromMilliseconds(50), timeout, TimeSpan.FromSeconds(3)), Config.Empty),
        _system, kept);

    public void Dispose() => _system.Terminate().Wait(Wait);
}
