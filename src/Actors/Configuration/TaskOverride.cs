using ActorScheduler.Scheduling;
using ActorScheduler.Tasks;
using Akka.Configuration;

namespace ActorScheduler.Configuration;

/// <summary>
/// One <c>actor-scheduler.tasks.NAME</c> entry: the options it sets (null = keep the declared value), its full path,
/// and its raw configuration (where a package reads its own keys, such as the console host's <c>command</c>).
/// </summary>
internal sealed class TaskOverride
{
    /// <summary>The core's keys of a task entry (packages add theirs with <see cref="ConfigKeys"/>).</summary>
    public static readonly IReadOnlyList<string> KnownKeys =
    [
        "ticks-between-runs", "spacing", "run-immediately", "enabled", "timeout", "overlap", "misfire", "misfire-limit",
        "cron", "time-zone", "retries", "retry-backoff", "retry-max-backoff", "pause-after-failures",
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
    public MisfirePolicy? Misfire { get; private init; }
    public int? MisfireLimit { get; private init; }
    public string? Cron { get; private init; }
    public string? TimeZone { get; private init; }
    public int? Retries { get; private init; }
    public TimeSpan? RetryBackoff { get; private init; }
    public TimeSpan? RetryMaxBackoff { get; private init; }
    public int? PauseAfterFailures { get; private init; }

    /// <summary>How the packages' keys of this entry change the options, applied after the core's.</summary>
    private IReadOnlyList<Func<PeriodicTaskOptions, PeriodicTaskOptions>> Edits { get; init; } = [];

    /// <summary>Reads an entry whose keys were checked: the core's keys first, then each package's.</summary>
    internal static TaskOverride Read(string name, ConfigReader entry, IReadOnlyList<ConfigKeys> extensions)
    {
        var ticks = entry.Has("ticks-between-runs") ? entry.Int("ticks-between-runs", 0, min: 0) : (int?)null;
        TimeSpan? spacing = entry.Has("spacing") ? entry.Duration("spacing", TimeSpan.Zero) : null;
        if (ticks is not null && spacing is not null)
            throw new PeriodicTaskConfigurationException(
                entry.PathOf("spacing"), "set ticks-between-runs or spacing, not both (neither means every tick).");
        var cron = entry.Has("cron") ? entry.String("cron", "") : null;
        if (cron is not null && (ticks is not null || spacing is not null))
            throw new PeriodicTaskConfigurationException(
                entry.PathOf("cron"), "set one of ticks-between-runs, spacing, cron (none means every tick).");
        var timeZone = entry.Has("time-zone") ? entry.String("time-zone", CalendarSchedule.DefaultZone).Trim() : null;
        Func<string, string, Exception> error = (key, problem) => new PeriodicTaskConfigurationException(entry.PathOf(key), problem);
        if (cron is not null)
            CalendarSchedule.Parse(cron, timeZone ?? CalendarSchedule.DefaultZone, error);
        else if (timeZone is not null)
            CalendarSchedule.ResolveZone(timeZone, error);
        TimeSpan? backoff = entry.Has("retry-backoff") ? PositiveDuration(entry, "retry-backoff") : null;
        TimeSpan? maxBackoff = entry.Has("retry-max-backoff") ? PositiveDuration(entry, "retry-max-backoff") : null;
        if (backoff is { } b && maxBackoff is { } m && m < b)
            throw new PeriodicTaskConfigurationException(
                entry.PathOf("retry-max-backoff"), $"{Durations.Format(m)} is less than retry-backoff ({Durations.Format(b)}); use a duration >= retry-backoff.");
        if (spacing == TimeSpan.Zero)
            throw new PeriodicTaskConfigurationException(
                entry.PathOf("spacing"), "0 is not allowed; use a duration > 0, or a negative one to disable the task.");
        var setsTimeout = entry.Has("timeout");
        var timeout = setsTimeout ? entry.Duration("timeout", System.Threading.Timeout.InfiniteTimeSpan, allowInfinite: true) : (TimeSpan?)null;
        if (timeout is { } t && t != System.Threading.Timeout.InfiniteTimeSpan && t <= TimeSpan.Zero)
            throw new PeriodicTaskConfigurationException(entry.PathOf("timeout"), "must be > 0, or infinite.");

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
            Misfire = entry.Has("misfire")
                ? entry.Enum("misfire", MisfirePolicy.Coalesce,
                    ("coalesce", MisfirePolicy.Coalesce), ("skip", MisfirePolicy.Skip), ("run-all", MisfirePolicy.RunAll))
                : null,
            MisfireLimit = entry.Has("misfire-limit") ? entry.Int("misfire-limit", 10, min: 1) : null,
            Cron = cron,
            TimeZone = timeZone,
            Retries = entry.Has("retries") ? entry.Int("retries", 0, min: 0) : null,
            RetryBackoff = backoff,
            RetryMaxBackoff = maxBackoff,
            PauseAfterFailures = entry.Has("pause-after-failures") ? entry.Int("pause-after-failures", 0, min: 0) : null,
            Edits = extensions.Select(e => e.ReadTask(entry)).OfType<Func<PeriodicTaskOptions, PeriodicTaskOptions>>().ToList(),
        };
    }

    private static TimeSpan PositiveDuration(ConfigReader entry, string key)
    {
        var value = entry.Duration(key, TimeSpan.Zero);
        if (value <= TimeSpan.Zero)
            throw new PeriodicTaskConfigurationException(entry.PathOf(key), $"{Durations.Format(value)} is not allowed; use a duration > 0 such as 10s.");
        return value;
    }

    /// <summary>
    /// The declared options with this entry's values laid over them, the packages' keys last. A schedule key replaces
    /// the declared schedule of another kind (ticks-between-runs, spacing, cron).
    /// </summary>
    public PeriodicTaskOptions ApplyTo(PeriodicTaskOptions declared)
    {
        var options = declared;
        if (TicksBetweenRuns is not null)
            options = options with { TicksBetweenRuns = TicksBetweenRuns, Spacing = null, Cron = null, TimeZone = CalendarSchedule.DefaultZone };
        if (Spacing is not null)
            options = options with { Spacing = Spacing, TicksBetweenRuns = null, Cron = null, TimeZone = CalendarSchedule.DefaultZone };
        if (Cron is not null)
            options = options with { Cron = Cron, TicksBetweenRuns = null, Spacing = null };
        if (TimeZone is not null)
        {
            if (options.Cron is null)
                throw new PeriodicTaskConfigurationException(
                    $"{Path}.time-zone", "applies only to a task with cron; set cron in this entry, or remove time-zone.");
            options = options with { TimeZone = TimeZone };
        }

        if (Retries is { } retries) options = options with { Retries = retries };
        if (RetryBackoff is { } backoff) options = options with { RetryBackoff = backoff };
        if (RetryMaxBackoff is { } maxBackoff) options = options with { RetryMaxBackoff = maxBackoff };
        if (options.RetryMaxBackoff < options.RetryBackoff)
            throw new PeriodicTaskConfigurationException(
                $"{Path}.{(RetryMaxBackoff is null ? "retry-backoff" : "retry-max-backoff")}",
                $"retry-max-backoff ({Durations.Format(options.RetryMaxBackoff)}) is less than retry-backoff ({Durations.Format(options.RetryBackoff)}); use retry-max-backoff >= retry-backoff.");
        if (PauseAfterFailures is { } pause) options = options with { PauseAfterFailures = pause };
        if (RunImmediately is { } runImmediately) options = options with { RunImmediately = runImmediately };
        if (Enabled is { } enabled) options = options with { Enabled = enabled };
        if (SetsTimeout) options = options with { Timeout = Timeout };
        if (Overlap is { } overlap) options = options with { Overlap = overlap };
        if (Misfire is { } misfire) options = options with { Misfire = misfire };
        if (MisfireLimit is { } limit) options = options with { MisfireLimit = limit };
        foreach (var edit in Edits)
            options = edit(options);
        return options;
    }
}
