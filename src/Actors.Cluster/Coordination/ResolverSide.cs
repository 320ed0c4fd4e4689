using Akka.Actor;
using Akka.Cluster;
using Akka.Configuration;

namespace ActorScheduler.Coordination;

/// <summary>A member as the split brain resolver counts it: its status, whether this node reaches it, its age rank (0 = oldest).</summary>
internal readonly record struct SideMember(MemberStatus Status, bool Reachable, int Age);

/// <summary>
/// Whether Akka's split brain resolver, deciding on this node's current view, would keep this node's side: its
/// keep-majority, keep-oldest, static-quorum and down-all rules, as Akka.Cluster.SBR's DowningStrategy decides them
/// (its internal classes cannot be called). The <see cref="MembershipLease"/> is held while this holds
/// (docs/cluster.md, "Never two runs of one cluster task").
/// </summary>
internal sealed record ResolverSide(string Strategy, string Role, int QuorumSize, bool DownIfAlone)
{
    private const string Provider = "Akka.Cluster.SBR.SplitBrainResolverProvider";

    /// <summary>
    /// The strategy the resolver of <paramref name="config"/> uses (keys it lacks have Akka's defaults: the resolver,
    /// keep-majority), or null when it is not one of these, or downing is another provider's.
    /// </summary>
    public static ResolverSide? Read(Config config)
    {
        var provider = config.GetString("akka.cluster.downing-provider-class", Provider) ?? "";
        if (!provider.StartsWith(Provider, StringComparison.Ordinal))
            return null;
        var sbr = config.GetConfig("akka.cluster.split-brain-resolver") ?? Config.Empty;
        var strategy = sbr.GetString("active-strategy", "keep-majority") ?? "";
        string Role() => sbr.GetString(strategy + ".role", "") ?? "";
        return strategy switch
        {
            "keep-majority" => new ResolverSide(strategy, Role(), 0, false),
            "keep-oldest" => new ResolverSide(strategy, Role(), 0, sbr.GetBoolean("keep-oldest.down-if-alone", true)),
            "static-quorum" when int.TryParse(sbr.GetString("static-quorum.quorum-size", ""), out var size) && size > 0 =>
                new ResolverSide(strategy, Role(), size, false),
            "down-all" => new ResolverSide(strategy, "", 0, false),
            _ => null,
        };
    }

    /// <summary>True when the resolver, deciding on this node's view of the cluster (<paramref name="state"/>), would keep this node's side.</summary>
    public bool Kept(ClusterEvent.CurrentClusterState state)
    {
        var withRole = state.Members.Where(m => Role.Length == 0 || m.HasRole(Role)).ToList();
        var age = withRole.OrderBy(m => m, Member.AgeOrdering).Select((m, i) => (m.UniqueAddress, i)).ToDictionary(p => p.UniqueAddress, p => p.i);
        return Kept(withRole.Select(m => new SideMember(m.Status, !state.Unreachable.Contains(m), age[m.UniqueAddress])).ToList());
    }

    /// <summary>The rule on <paramref name="members"/> (those with the strategy's role, in address order).</summary>
    public bool Kept(IReadOnlyList<SideMember> members)
    {
        switch (Strategy)
        {
            case "down-all":
                return members.All(m => m.Reachable || m.Status is MemberStatus.Down or MemberStatus.Exiting);
            case "static-quorum":
            {
                var counted = Counted(members, false, false).ToList();
                return counted.Count <= QuorumSize * 2 - 1 && counted.Count(m => m.Reachable) >= QuorumSize;
            }

            case "keep-majority":
                return Majority(Counted(members, false, false).ToList(), Counted(members, false, false).ToList())
                       && Majority(Counted(members, false, true).ToList(), Counted(members, true, false).ToList());
            default: // keep-oldest
                return Oldest(Counted(members, false, false).ToList()) && Oldest(Counted(members, DownIfAlone, true).ToList());
        }
    }

    /// <summary>keep-majority: this side (counted from <paramref name="mine"/>) against the other (from <paramref name="theirs"/>); a tie keeps the lowest address.</summary>
    private static bool Majority(IReadOnlyList<SideMember> mine, IReadOnlyList<SideMember> theirs)
    {
        if (mine.Count == 0)
            return false;
        var thisSide = mine.Count(m => m.Reachable);
        var otherSide = theirs.Count(m => !m.Reachable);
        return thisSide > otherSide || (thisSide == otherSide && mine[0].Reachable);
    }

    /// <summary>keep-oldest: the side with the oldest, unless down-if-alone and the oldest is alone against two or more.</summary>
    private bool Oldest(IReadOnlyList<SideMember> counted)
    {
        if (counted.Count == 0)
            return false;
        var oldest = counted.MinBy(m => m.Age);
        var thisSide = counted.Count(m => m.Reachable);
        var otherSide = counted.Count - thisSide;
        if (oldest.Reachable)
            return !(DownIfAlone && thisSide == 1 && otherSide >= 2);
        return DownIfAlone && otherSide == 1 && thisSide >= 2;
    }

    /// <summary>
    /// The members the resolver counts: never Down or Exiting; Joining and WeaklyUp only when they may be Up on the other
    /// side (<paramref name="possiblyUp"/>); Leaving not when it may be Exiting there (<paramref name="notLeaving"/>).
    /// </summary>
    private static IEnumerable<SideMember> Counted(IEnumerable<SideMember> members, bool possiblyUp, bool notLeaving) =>
        members.Where(m => m.Status switch
        {
            MemberStatus.Down or MemberStatus.Exiting or MemberStatus.Removed => false,
            MemberStatus.Joining or MemberStatus.WeaklyUp => possiblyUp,
            MemberStatus.Leaving => !notLeaving,
            _ => true,
        });
}
