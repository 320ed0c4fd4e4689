using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;

namespace ActorScheduler.Cluster;

/// <summary>
/// INTERNAL API. Keeps the buckets of a role alive: while this node is Up, asks its shard region to start the entity of
/// every non-empty bucket each <see cref="Interval"/>. A bucket handed off by a leaving node, or by a rebalance, is
/// allocated again by the next round from any node (docs/architecture.md, "Sharded cluster tasks").
/// </summary>
internal sealed class BucketStarter : ReceiveActor, IWithTimers
{
    /// <summary>How often every bucket is asked for: bounds how long a handed-off bucket stays without a node.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    private readonly IActorRef _region;
    private readonly IReadOnlyList<ShardRegion.StartEntity> _starts;
    private readonly Akka.Cluster.Cluster _cluster = Akka.Cluster.Cluster.Get(Context.System);

    public BucketStarter(IActorRef region, IReadOnlyList<int> buckets)
    {
        _region = region;
        _starts = buckets.Select(b => new ShardRegion.StartEntity(TaskBuckets.EntityId(b))).ToList();
        Receive<StartBuckets>(_ => StartAll());
        ReceiveAny(_ => { }); // the shards' StartEntityAck
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(IActorRef region, IReadOnlyList<int> buckets) =>
        Akka.Actor.Props.Create(() => new BucketStarter(region, buckets));

    protected override void PreStart()
    {
        StartAll();
        Timers.StartPeriodicTimer(StartBuckets.Instance, StartBuckets.Instance, Interval);
    }

    /// <summary>Only an Up node asks: a node still joining, or leaving, would only fill its region's buffer.</summary>
    private void StartAll()
    {
        if (_cluster.SelfMember.Status != MemberStatus.Up)
            return;
        foreach (var start in _starts)
            _region.Tell(start);
    }

    private sealed record StartBuckets
    {
        public static readonly StartBuckets Instance = new();
    }
}
