using ActorScheduler.Tasks;
using Akka.Configuration;

namespace ActorScheduler.Configuration;

/// <summary>
/// One <c>actor-scheduler.tasks.NAME</c> entry: the options it sets (null = keep the declared value), its full path,
/// and its raw configuration (the console host reads <c>command</c>, <c>working-directory</c>, <c>environment</c>).
/// </summary>
public sealed class TaskOverride
{
    /// <summary>Every key a task entry may hold.</summary>
    public static readonly IReadOnlyList<string> KnownKeys =
    [
        "ticks-between-runs", "spacing", "run-immediately", "enabled", "timeout", "overlap",
        "command", "working-directory", "environment", "scope", "role", "misfire", "misfire-limit",
    ];

    private TaskOverride(string name, string path, Config config)
    {
        Name = name;
        Path = path;
        Config = config;
    }

    public string Name { get; }

    /// <summary>The entry's full path, e.g. actor-scheduler.tasks.backup.</summary>
    public string Path { get; }

    /// <summary>The raw entry.</summary>
    public Config Config { get; }

    public int? TicksBetweenRuns { get; private init; }
    public TimeSpan? Spacing { get; private init; }
    public bool? RunImmediately { get; private init; }
    public bool? Enabled { get; private init; }
    public bool SetsTimeout { get; private init; }
    public TimeSpan? Timeout { get; private init; }
    public OverlapMode? Overlap { get; private init; }
    public TaskScope? Scope { get; private init; }
    public string? Role { get; private init; }
    public MisfirePolicy? Misfire { get; private init; }
    public int? MisfireLimit { get; private init; }

    /// <summary>True when the entry has a <c>command</c> (a console-host command task).</summary>
    public bool HasCommand { get; private init; }

    internal static TaskOverride Read(string name, ConfigReader entry)
    {
        entry.RejectUnknownKeys(KnownKeys);
        var ticks = entry.Has("ticks-between-runs") ? entry.Int("ticks-between-runs", 0, min: 0) : (int?)null;
        TimeSpan? spacing = entry.Has("spacing") ? entry.Duration("spacing", TimeSpan.Zero) : null;
        if (ticks is not null && spacing is not null)
            throw new PeriodicTaskConfigurationException(
                entry.PathOf("spacing"), "set ticks-between-runs or spacing, not both (neither means every tick).");
        if (spacing == TimeSpan.Zero)
            throw new PeriodicTaskConfigurationException(
                entry.PathOf("spacing"), "0 is not allowed; use a duration > 0, or a negative one to disable the task.");
        var setsTimeout = entry.Has("timeout");
        var timeout = setsTimeout ? entry.Duration("timeout", System.Threading.Timeout.InfiniteTimeSpan, allowInfinite: true) : (TimeSpan?)null;
        if (timeout is { } t && t != System.Threading.Timeout.InfiniteTimeSpan && t <= TimeSpan.Zero)
            throw new PeriodicTaskConfigurationException(entry.PathOf("timeout"), "must be > 0, or infinite.");
        if (entry.Has("command") && !entry.IsArray("command") && string.IsNullOrWhiteSpace(entry.Raw("command")))
            throw new PeriodicTaskConfigurationException(entry.PathOf("command"), "must be a non-empty string or a list [program, args...].");
        if (entry.Has("environment") && !entry.IsObject("environment"))
            throw new PeriodicTaskConfigurationException(entry.PathOf("environment"), "must be an object { NAME = value }.");

        return new TaskOverride(name, entry.Path, entry.Config)
        {
            TicksBetweenRuns = ticks,
            Spacing = spacing,
            RunImmediately = entry.Has("run-immediately") ? entry.Bool("run-immediately", false) : null,
            Enabled = entry.Has("enabled") ? entry.Bool("enabled", true) : null,
            SetsTimeout = setsTimeout,
            Timeout = timeout == System.Threading.Timeout.InfiniteTimeSpan ? null : timeout,
            Overlap = entry.Has("overlap")
                ? entry.Enum("overlap", OverlapMode.Skip, ("skip", OverlapMode.Skip), ("queue", OverlapMode.Queue))
                : null,
            Scope = entry.Has("scope")
                ? entry.Enum("scope", TaskScope.Node, ("node", TaskScope.Node), ("cluster", TaskScope.Cluster))
                : null,
            Role = entry.Has("role") ? entry.String("role", "") : null,
            Misfire = entry.Has("misfire")
                ? entry.Enum("misfire", MisfirePolicy.Coalesce,
                    ("coalesce", MisfirePolicy.Coalesce), ("skip", MisfirePolicy.Skip), ("run-all", MisfirePolicy.RunAll))
                : null,
            MisfireLimit = entry.Has("misfire-limit") ? entry.Int("misfire-limit", 10, min: 1) : null,
            HasCommand = entry.Has("command"),
        };
    }

    /// <summary>The declared options with this entry's values laid over them.</summary>
    public PeriodicTaskOptions ApplyTo(PeriodicTaskOptions declared)
    {
        var options = declared;
        if (TicksBetweenRuns is not null)
            options = options with { TicksBetweenRuns = TicksBetweenRuns, Spacing = null };
        if (Spacing is not null)
            options = options with { Spacing = Spacing, TicksBetweenRuns = null };
        if (RunImmediately is { } runImmediately) options = options with { RunImmediately = runImmediately };
        if (Enabled is { } enabled) options = options with { Enabled = enabled };
        if (SetsTimeout) options = options with { Timeout = Timeout };
        if (Overlap is { } overlap) options = options with { Overlap = overlap };
        if (Scope is { } scope) options = options with { Scope = scope };
        if (Role is not null) options = options with { Role = Role };
        if (Misfire is { } misfire) options = options with { Misfire = misfire };
        if (MisfireLimit is { } limit) options = options with { MisfireLimit = limit };
        return options;
    }
}
