using System.Collections.Concurrent;
using ActorScheduler.Tasks;

namespace ActorScheduler.Cluster.Tests;

/// <summary>A task added at run time by type: counts its runs by set and task name ("SET/TASK").</summary>
public sealed class CountingTask : IPeriodicTask
{
    private static readonly ConcurrentDictionary<string, int> Counts = new(StringComparer.Ordinal);

    public static int Runs(string key) => Counts.GetValueOrDefault(key);

    public ValueTask RunAsync(PeriodicTaskContext context, CancellationToken cancellationToken)
    {
        Counts.AddOrUpdate(context.SetName + "/" + context.TaskName, 1, (_, n) => n + 1);
        return ValueTask.CompletedTask;
    }
}
