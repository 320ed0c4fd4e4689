using ActorScheduler.Persistence;
using Akka.Actor;
using Akka.Cluster.Sharding;

namespace ActorScheduler.Cluster;

/// <summary>What a node needs to reach, and on nodes of the role to host, the buckets of one role's cluster tasks.</summary>
/// <param name="SetName">The task set.</param>
/// <param name="Role">The role ("" = any node).</param>
/// <param name="TypeName">The shard region's type name, the same on every node.</param>
/// <param name="Shards">actor-scheduler.cluster.shards: the number of buckets tasks are hashed into.</param>
/// <param name="Buckets">The non-empty buckets, kept alive by <see cref="BucketStarter"/>.</param>
/// <param name="Added">With a state store: the buckets that received tasks added at run time, also kept alive; null without one (no additions).</param>
/// <param name="TaskOrder">The role's task names in registration order (the order of merged stats).</param>
/// <param name="Hosts">This node has the role: it starts a shard region (and may host buckets), else a proxy.</param>
/// <param name="EntityProps">The props of a bucket's entity, by entity id.</param>
/// <param name="Settings">Sharding settings of the region (docs/architecture.md, "Sharded cluster tasks").</param>
/// <param name="Allocation">Where shards go, and when they move.</param>
internal sealed record ShardedRole(
    string SetName,
    string Role,
    string TypeName,
    int Shards,
    IReadOnlyList<int> Buckets,
    BucketTable? Added,
    IReadOnlyList<string> TaskOrder,
    bool Hosts,
    Func<string, Props> EntityProps,
    ClusterShardingSettings Settings,
    IShardAllocationStrategy Allocation);
