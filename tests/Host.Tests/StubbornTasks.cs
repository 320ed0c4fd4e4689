using ActorScheduler.Tasks;

namespace ActorScheduler.Host.Tests;

/// <summary>
/// A task class that hosts under test load from this assembly (actor-scheduler.assemblies): its run ignores the
/// cancellation of a graceful stop, so the stop waits for it until shutdown-timeout.
/// </summary>
public sealed class StubbornTasks
{
    /// <summary>The assembly to list in actor-scheduler.assemblies.</summary>
    public static string AssemblyPath => typeof(StubbornTasks).Assembly.Location;

    [PeriodicTask(Name = "stubborn", RunImmediately = true, Spacing = "1h")]
    public async Task IgnoresCancellation(CancellationToken cancellationToken)
    {
        _ = cancellationToken; // ignored on purpose
        await Task.Delay(TimeSpan.FromSeconds(55), CancellationToken.None);
    }
}
