namespace ActorScheduler.Configuration;

/// <summary>
/// actor-scheduler.run-history: how much of each task's run history is kept (docs/control.md, "Run history"). A run is
/// dropped once more than <see cref="KeepRuns"/> newer runs of its task are kept, or once it started more than
/// <see cref="KeepFor"/> ago.
/// </summary>
internal sealed record RunHistorySettings(int KeepRuns, TimeSpan KeepFor)
{
    public static readonly IReadOnlyList<string> KnownKeys = ["keep-runs", "keep-for"];

    public static readonly RunHistorySettings Default = new(100, TimeSpan.FromDays(7));

    public static RunHistorySettings Read(ConfigReader section)
    {
        section.RejectUnknownKeys(KnownKeys);
        var keepFor = section.Duration("keep-for", Default.KeepFor);
        if (keepFor <= TimeSpan.Zero)
            throw new PeriodicTaskConfigurationException(section.PathOf("keep-for"), "must be > 0, such as 7d.");
        return new RunHistorySettings(section.Int("keep-runs", Default.KeepRuns, min: 1), keepFor);
    }
}
