using ActorScheduler.Tasks;

namespace SampleTasks;

/// <summary>
/// A user's task class, loaded by the host from this assembly's path. Each run appends "NAME TICK" to the file named
/// by the SAMPLE_TASKS_OUT environment variable, so a test can see which runs happened.
/// </summary>
public class Heartbeat
{
    [PeriodicTask]
    public void Beat(PeriodicTaskContext context) => Append($"Beat {context.Tick}");

    [PeriodicTask(Name = "every-other", TicksBetweenRuns = 1)]
    public async Task EveryOther(PeriodicTaskContext context, CancellationToken cancellationToken)
    {
        await Task.Yield();
        Append($"every-other {context.Tick}");
    }

    private static void Append(string line)
    {
        var path = Environment.GetEnvironmentVariable("SAMPLE_TASKS_OUT");
        if (path is not null)
            lock (typeof(Heartbeat))
                File.AppendAllText(path, line + Environment.NewLine);
    }
}

/// <summary>A base class's tasks come first, then the subclass's (nova's ManagerMeta order).</summary>
public abstract class ManagerBase
{
    [PeriodicTask(Name = "base-task", Spacing = "10m")]
    public void BaseTask()
    {
    }
}

public sealed class DerivedManager : ManagerBase
{
    [PeriodicTask(Name = "derived-task", Enabled = false)]
    public void DerivedTask()
    {
    }
}
