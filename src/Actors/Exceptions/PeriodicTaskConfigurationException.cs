namespace ActorScheduler;

/// <summary>A configuration mistake, naming the full HOCON path and what is allowed there.</summary>
public sealed class PeriodicTaskConfigurationException : Exception
{
    public PeriodicTaskConfigurationException(string path, string problem)
        : base($"{path}: {problem}")
    {
        Path = path;
        Problem = problem;
    }

    /// <summary>The full HOCON path of the bad value, e.g. actor-scheduler.tasks.backup.ticks-between-runs.</summary>
    public string Path { get; }

    public string Problem { get; }
}
