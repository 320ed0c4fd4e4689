using Akka.Actor;
using Akka.Cluster;
using Akka.Event;

namespace ActorScheduler.Cluster;

/// <summary>
/// INTERNAL API. One per clustered ActorSystem, at /system/actor-scheduler-sets: tells every node that is Up which task
/// sets this node started and their cluster tasks, hears the same from them, and says when they differ (docs/cluster.md,
/// "One set across the cluster"). Sets that share no name: an error line on both nodes naming both nodes' sets; when
/// the other node is the oldest that runs sets (where the singletons and the shard coordinators run, so this node's
/// cluster tasks cannot run), <see cref="SetsDiffer"/> is answered with that line. A set of the same name with other
/// cluster tasks (a rolling update passes through that): a warning line naming both lists.
/// </summary>
internal sealed class SetCensus : ReceiveActor
{
    public const string Name = "actor-scheduler-sets";

    private readonly Akka.Cluster.Cluster _cluster = Akka.Cluster.Cluster.Get(Context.System);
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly List<SetSignature> _local = [];
    private readonly Dictionary<Address, IReadOnlyList<SetSignature>> _others = [];
    private readonly Dictionary<Address, Member> _up = [];
    private readonly Dictionary<Address, string> _conflicts = [];

    public SetCensus()
    {
        Receive<Register>(r =>
        {
            _local.RemoveAll(s => s.Name == r.Set.Name);
            _local.Add(r.Set);
            foreach (var node in _up.Keys)
                Tell(node, reply: false);
            foreach (var (node, sets) in _others.ToList())
                Compare(node, sets);
        });
        Receive<SetsOf>(OnSetsOf);
        Receive<ClusterEvent.MemberUp>(up =>
        {
            if (up.Member.Address.Equals(_cluster.SelfAddress))
                return;
            _up[up.Member.Address] = up.Member;
            if (_local.Count > 0)
                Tell(up.Member.Address, reply: false);
        });
        Receive<ClusterEvent.MemberRemoved>(removed => Forget(removed.Member.Address));
        Receive<ClusterEvent.IMemberEvent>(_ => { });
        Receive<SetsDiffer>(_ => Sender.Tell(new SetsDifferReport(ConflictWithOldest())));
    }

    public static Props Props() => Akka.Actor.Props.Create(() => new SetCensus());

    /// <summary>The census of <paramref name="system"/>, started on first use.</summary>
    public static IActorRef Of(ActorSystem system) => system.WithExtension<CensusExtension, CensusExtensionProvider>().Census;

    protected override void PreStart() =>
        _cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents, typeof(ClusterEvent.IMemberEvent));

    protected override void PostStop() => _cluster.Unsubscribe(Self);

    private void Tell(Address node, bool reply) =>
        Context.ActorSelection(new RootActorPath(node) / "system" / Name).Tell(new SetsOf(_local.ToList(), reply));

    private void OnSetsOf(SetsOf message)
    {
        var node = Sender.Path.Address;
        if (node.Equals(_cluster.SelfAddress) || node.Host is null)
            return;
        _others[node] = message.Sets;
        if (!message.Reply && _local.Count > 0)
            Sender.Tell(new SetsOf(_local.ToList(), Reply: true));
        Compare(node, message.Sets);
    }

    private void Compare(Address node, IReadOnlyList<SetSignature> theirs)
    {
        if (_local.Count == 0 || theirs.Count == 0)
            return;
        var common = _local.Where(s => theirs.Any(t => t.Name == s.Name)).ToList();
        if (common.Count == 0)
        {
            var conflict = $"this node ({_cluster.SelfAddress}) runs task set {Names(_local)} but node {node} runs {Names(theirs)}: "
                           + "every node of a cluster must run the same set (the console host: actor-scheduler-host.set-name, or leave it unset)";
            if (!_conflicts.TryGetValue(node, out var known) || known != conflict)
                _log.Error("{0}", conflict);
            _conflicts[node] = conflict;
            return;
        }

        if (_conflicts.Remove(node))
            _log.Info("task sets agree with node {0} again", node);
        foreach (var set in common)
        {
            var other = theirs.First(t => t.Name == set.Name);
            if (!set.ClusterTasks.SequenceEqual(other.ClusterTasks))
            {
                _log.Warning("task set '{0}' has other cluster tasks on node {1} [{2}] than here [{3}]: a cluster task that some node does not know runs only where it is known",
                    set.Name, node, string.Join(", ", other.ClusterTasks), string.Join(", ", set.ClusterTasks));
            }
        }
    }

    /// <summary>
    /// The conflict with the oldest Up node that runs sets, when that is another node: the one whose singletons and shard
    /// coordinators the cluster uses, so this node's own sets' cluster tasks cannot run. Null when this node is that one.
    /// </summary>
    private string? ConflictWithOldest()
    {
        var self = _cluster.SelfMember;
        var oldest = _up.Values.Where(m => _others.ContainsKey(m.Address)).Aggregate(self, (a, b) => b.IsOlderThan(a) ? b : a);
        return oldest.Address.Equals(self.Address) ? null : _conflicts.GetValueOrDefault(oldest.Address);
    }

    private void Forget(Address node)
    {
        _up.Remove(node);
        _others.Remove(node);
        if (_conflicts.Remove(node))
            _log.Info("node {0} left: its task set no longer differs", node);
    }

    private static string Names(IEnumerable<SetSignature> sets) => string.Join(", ", sets.Select(s => $"'{s.Name}'"));

    /// <summary>A set this node started, and its cluster tasks as role/name, sorted.</summary>
    internal sealed record Register(SetSignature Set);

    /// <summary>Asks whether this node's sets share no name with the oldest node's: answered with <see cref="SetsDifferReport"/>.</summary>
    internal sealed record SetsDiffer
    {
        public static readonly SetsDiffer Instance = new();
    }

    /// <param name="Conflict">The error line naming this node's sets and the oldest node's when they share no name, or null.</param>
    internal sealed record SetsDifferReport(string? Conflict);

    private sealed class CensusExtension(ExtendedActorSystem system) : IExtension
    {
        public IActorRef Census { get; } = system.SystemActorOf(Props(), Name);
    }

    private sealed class CensusExtensionProvider : ExtensionIdProvider<CensusExtension>
    {
        public override CensusExtension CreateExtension(ExtendedActorSystem system) => new(system);
    }
}

/// <summary>A task set as other nodes see it: its name and its cluster tasks ("role/name", sorted).</summary>
internal sealed record SetSignature(string Name, IReadOnlyList<string> ClusterTasks);

/// <summary>Node to node: the sets the sender started; <paramref name="Reply"/> when it answers the receiver's own.</summary>
internal sealed record SetsOf(IReadOnlyList<SetSignature> Sets, bool Reply);
