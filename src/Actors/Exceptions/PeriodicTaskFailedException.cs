namespace ActorScheduler;

/// <summary>
/// A run of a periodic task failed. It is the failure a task runner reports to its manager's supervision strategy,
/// and, with raise-on-error = on, the exception that escalates to the manager's parent. The original exception is
/// the <see cref="Exception.InnerException"/>.
/// </summary>
public class PeriodicTaskFailedException : Exception
{
    public PeriodicTaskFailedException(string setName, string taskName, long tick, Exception error)
        : base($"Error during {setName}.{taskName}: {error.Message}", error)
    {
        SetName = setName;
        TaskName = taskName;
        Tick = tick;
    }

    protected PeriodicTaskFailedException(string setName, string taskName, long tick, string message)
        : base(message)
    {
        SetName = setName;
        TaskName = taskName;
        Tick = tick;
    }

    public string SetName { get; }

    public string TaskName { get; }

    public long Tick { get; }
}

/// <summary>A run reached its timeout (counted as a failure of kind timed-out).</summary>
public sealed class PeriodicTaskTimeoutException(string setName, string taskName, long tick, TimeSpan timeout)
    : PeriodicTaskFailedException(setName, taskName, tick, $"Error during {setName}.{taskName}: timed out after {Durations.Format(timeout)}")
{
    public TimeSpan Timeout { get; } = timeout;
}
