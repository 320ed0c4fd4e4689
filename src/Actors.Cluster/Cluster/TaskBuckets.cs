using System.Globalization;
using ActorScheduler.Tasks;
using Akka.Cluster.Sharding;
using Akka.Util;

namespace ActorScheduler.Cluster;

/// <summary>
/// INTERNAL API. With distribution = sharded, the cluster tasks of a role are split into buckets by a stable hash of
/// their name; each bucket is one entity of Akka.Cluster.Sharding, alone in its shard (entity id = shard id = bucket
/// number), so that Sharding places and moves whole buckets (docs/architecture.md, "Sharded cluster tasks").
/// </summary>
internal static class TaskBuckets
{
    /// <summary>
    /// The bucket of <paramref name="task"/> among <paramref name="shards"/>: the same in every process and every run
    /// (Akka's MurmurHash of the name, never string.GetHashCode, which .NET randomises per process).
    /// </summary>
    public static int Of(string task, int shards) => (int)((uint)MurmurHash.StringHash(task) % (uint)shards);

    /// <summary>The non-empty buckets of <paramref name="tasks"/>, by number, each with its tasks in their order.</summary>
    public static SortedDictionary<int, IReadOnlyList<PeriodicTaskDefinition>> Split(IEnumerable<PeriodicTaskDefinition> tasks, int shards)
    {
        var buckets = new SortedDictionary<int, IReadOnlyList<PeriodicTaskDefinition>>();
        foreach (var group in tasks.GroupBy(t => Of(t.Name, shards)))
            buckets[group.Key] = group.ToList();
        return buckets;
    }

    /// <summary>The entity id (and shard id) of a bucket.</summary>
    public static string EntityId(int bucket) => bucket.ToString(CultureInfo.InvariantCulture);

    /// <summary>The bucket of an entity id; -1 for an id that is not a bucket number.</summary>
    public static int FromEntityId(string entityId) =>
        int.TryParse(entityId, NumberStyles.None, CultureInfo.InvariantCulture, out var bucket) ? bucket : -1;
}

/// <summary>
/// INTERNAL API. Messages to a bucket travel in a <see cref="ShardingEnvelope"/> whose entity id is the bucket number,
/// which the region itself unwraps (as it handles <see cref="ShardRegion.StartEntity"/>); the shard id is the entity id
/// (one entity per shard). Nothing else is sent to the region.
/// </summary>
internal sealed class BucketMessageExtractor : IMessageExtractor
{
    public static readonly BucketMessageExtractor Instance = new();

    private BucketMessageExtractor()
    {
    }

    public string? EntityId(object message) => null;

    public object? EntityMessage(object message) => message;

    [Obsolete("Use ShardId(EntityId, object) instead.")]
    public string? ShardId(object message) => null;

    public string ShardId(string entityId, object? messageHint = null) => entityId;
}
