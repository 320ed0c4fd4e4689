using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;

namespace ActorScheduler.Cluster;

/// <summary>
/// INTERNAL API. Keeps the buckets of a role alive: while this node is Up, asks its shard region to start the entity of
/// every non-empty bucket (and every bucket <see cref="Add"/>ed since: one that received a task at run time) each
/// second, and every 250 ms for 10 s after a member joins, leaves or is removed (when
/// buckets move), so that a handed-off bucket starts at its new place soon (docs/architecture.md, "Sharded cluster tasks").
/// It stops asking once this node's coordinated shutdown has begun: a region that hands its buckets off stops only when
/// nothing waits in its buffers, and while it is registered the coordinator balances buckets towards it.
/// </summary>
internal sealed class BucketStarter : ReceiveActor, IWithTimers
{
    /// <summary>How often every bucket is asked for while the membership is unchanged.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    /// <summary>How often every bucket is asked for during <see cref="BurstTicks"/> after a membership change.</summary>
    public static readonly TimeSpan BurstInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>10 s of pings at <see cref="BurstInterval"/>: a hand-off, or a rebalance round after a join, lies within.</summary>
    private const int BurstTicks = 40;

    private static readonly int TicksPerInterval = (int)(Interval.Ticks / BurstInterval.Ticks);

    private readonly IActorRef _region;
    private readonly List<ShardRegion.StartEntity> _starts;
    private readonly Akka.Cluster.Cluster _cluster = Akka.Cluster.Cluster.Get(Context.System);
    private readonly CoordinatedShutdown _shutdown = CoordinatedShutdown.Get(Context.System);
    private int _burstLeft;
    private int _ticks;

    public BucketStarter(IActorRef region, IReadOnlyList<int> buckets)
    {
        _region = region;
        _starts = buckets.Select(b => new ShardRegion.StartEntity(TaskBuckets.EntityId(b))).ToList();
        Receive<StartBuckets>(_ => OnTick());
        Receive<Add>(add =>
        {
            var starts = add.Buckets.Select(TaskBuckets.EntityId).Where(id => _starts.All(s => s.EntityId != id))
                .Select(id => new ShardRegion.StartEntity(id)).ToList();
            _starts.AddRange(starts);
            StartAll(starts);
        });
        Receive<ClusterEvent.IMemberEvent>(_ => _burstLeft = BurstTicks);
        ReceiveAny(_ => { }); // the cluster's initial state, the shards' StartEntityAck
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(IActorRef region, IReadOnlyList<int> buckets) =>
        Akka.Actor.Props.Create(() => new BucketStarter(region, buckets));

    protected override void PreStart()
    {
        _cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsSnapshot, typeof(ClusterEvent.IMemberEvent));
        StartAll(_starts);
        Timers.StartPeriodicTimer(StartBuckets.Instance, StartBuckets.Instance, BurstInterval);
    }

    protected override void PostStop() => _cluster.Unsubscribe(Self);

    private void OnTick()
    {
        if (_burstLeft > 0)
        {
            _burstLeft--;
            StartAll(_starts);
        }
        else if (++_ticks % TicksPerInterval == 0)
        {
            StartAll(_starts);
        }
    }

    /// <summary>Only an Up node not shutting down asks: a node still joining, or leaving, would only fill its region's buffer.</summary>
    private void StartAll(IReadOnlyList<ShardRegion.StartEntity> starts)
    {
        if (_cluster.SelfMember.Status != MemberStatus.Up || _shutdown.ShutdownReason is not null)
            return;
        foreach (var start in starts)
            _region.Tell(start);
    }

    /// <summary>Keep these buckets alive too (they received tasks added at run time).</summary>
    public sealed record Add(IReadOnlyList<int> Buckets);

    private sealed record StartBuckets
    {
        public static readonly StartBuckets Instance = new();
    }
}
