namespace ActorScheduler.Persistence;

/// <summary>The termination message of a cluster task set's singleton (sent by ClusterSingletonManager): hand over.</summary>
internal sealed record HandOver
{
    public static readonly HandOver Instance = new();

    private HandOver()
    {
    }
}
