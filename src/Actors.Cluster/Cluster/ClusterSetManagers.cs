using Akka.Actor;

namespace ActorScheduler.Cluster;

/// <summary>
/// INTERNAL API. Registered in Akka.Hosting's ActorRegistry beside a cluster set (under
/// <see cref="TaskSetManagers.Of{TKey}"/>): answers <see cref="TaskSetManagers.Get"/> with the set's managers as
/// <see cref="ClusterTaskSet.AgreedManagersAsync"/> gives them, or with its failure while this node's sets differ from
/// the cluster's (docs/cluster.md, "One set across the cluster"). The census is asked off the actor's thread.
/// </summary>
internal sealed class ClusterSetManagers : ReceiveActor
{
    public ClusterSetManagers(ClusterTaskSet set)
    {
        Receive<TaskSetManagers.Get>(_ => set.AgreedManagersAsync(CancellationToken.None).PipeTo(
            Sender, success: managers => managers, failure: e => new Status.Failure(e)));
    }

    public static Props Props(ClusterTaskSet set) => Akka.Actor.Props.Create(() => new ClusterSetManagers(set));
}
