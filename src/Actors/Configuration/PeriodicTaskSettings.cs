using ActorScheduler.Tasks;
using Akka.Configuration;

namespace ActorScheduler.Configuration;

/// <summary>Where ticks come from (actor-scheduler.tick-source).</summary>
public enum TickSource
{
    /// <summary>Precise when the ActorSystem uses Akka's default scheduler; Akka's scheduler otherwise (TestScheduler).</summary>
    Auto,

    /// <summary>A dedicated timer thread on the monotonic clock.</summary>
    Precise,

    /// <summary>Akka's scheduler (IWithTimers), which TestScheduler drives in tests.</summary>
    Scheduler,
}

/// <summary>Which run events a set publishes on the EventStream (actor-scheduler.run-events).</summary>
public enum RunEvents
{
    /// <summary>Every step of every run: started, succeeded, failed, timed-out.</summary>
    All,

    /// <summary>Only failed and timed-out runs (and their retries).</summary>
    Failures,

    /// <summary>None of the four: a run allocates no event.</summary>
    Off,
}

/// <summary>
/// The settings of one task set, read once from HOCON (<c>actor-scheduler</c>, or <c>actor-scheduler.sets.NAME</c>
/// over it) and validated: every mistake is a <see cref="PeriodicTaskConfigurationException"/> naming its full path.
/// </summary>
public sealed class PeriodicTaskSettings
{
    internal const string Section = "actor-scheduler";

    /// <summary>The core's keys directly under actor-scheduler (and under actor-scheduler.sets.NAME, but sets).</summary>
    internal static readonly IReadOnlyList<string> KnownKeys =
    [
        "periodic-interval", "initial-delay", "fuzzy-delay", "raise-on-error", "shutdown-timeout", "tick-source",
        "run-events", "run-history", "tasks", "sets",
    ];

    private static readonly Lazy<Config> Reference =
        new(() => Hocon.Embedded(typeof(PeriodicTaskSettings).Assembly, "ActorScheduler.reference.conf"));

    private readonly IReadOnlyDictionary<ConfigKeys, object?> _sections;

    private PeriodicTaskSettings(
        string path, TimeSpan periodicInterval, TimeSpan initialDelay, TimeSpan fuzzyDelay, bool raiseOnError,
        TimeSpan shutdownTimeout, TickSource tickSource, RunEvents runEvents, RunHistorySettings runHistory, IReadOnlyList<TaskOverride> tasks,
        IReadOnlyList<ConfigKeys> extensions, IReadOnlyDictionary<ConfigKeys, object?> sections, TimeProvider? timeProvider = null)
    {
        RunHistory = runHistory;
        TimeProvider = timeProvider;
        Path = path;
        PeriodicInterval = periodicInterval;
        InitialDelay = initialDelay;
        FuzzyDelay = fuzzyDelay;
        RaiseOnError = raiseOnError;
        ShutdownTimeout = shutdownTimeout;
        TickSource = tickSource;
        RunEvents = runEvents;
        Tasks = tasks;
        Extensions = extensions;
        _sections = sections;
    }

    /// <summary>The embedded reference.conf: every core key with its default.</summary>
    public static Config DefaultConfig() => Reference.Value;

    /// <summary>The HOCON path these settings were read from (actor-scheduler or actor-scheduler.sets.NAME).</summary>
    public string Path { get; }

    public TimeSpan PeriodicInterval { get; }

    /// <summary>Delay before tick 1 (defaults to the periodic interval).</summary>
    public TimeSpan InitialDelay { get; }

    public TimeSpan FuzzyDelay { get; }

    public bool RaiseOnError { get; }

    public TimeSpan ShutdownTimeout { get; }

    public TickSource TickSource { get; }

    /// <summary>Which run events are published (docs/semantics.md, "Events, stats and metrics").</summary>
    public RunEvents RunEvents { get; }

    /// <summary>How much run history each task keeps (actor-scheduler.run-history).</summary>
    internal RunHistorySettings RunHistory { get; }

    /// <summary>
    /// The wall clock calendar occurrences are read from (docs/semantics.md, "Calendar tasks"). Null (the default):
    /// <see cref="System.TimeProvider.System"/> under Akka's default scheduler, and the scheduler's own clock under any
    /// other (virtual time under Akka's TestScheduler). Set with <see cref="WithTimeProvider"/>, not in HOCON.
    /// </summary>
    public TimeProvider? TimeProvider { get; }

    /// <summary>The actor-scheduler.tasks entries, in file order.</summary>
    internal IReadOnlyList<TaskOverride> Tasks { get; }

    /// <summary>The packages' keys these settings were read with, besides the core's.</summary>
    internal IReadOnlyList<ConfigKeys> Extensions { get; }

    /// <summary>Settings with all defaults (tests, and users who configure nothing).</summary>
    public static PeriodicTaskSettings Create() => Create(Config.Empty);

    /// <summary>
    /// Reads and validates the settings of task set <paramref name="setName"/> with the core's keys only (for a set with
    /// the cluster package's keys, ClusterConfiguration.CreateSettings).
    /// </summary>
    public static PeriodicTaskSettings Create(Config config, string? setName = null) => Create(config, setName, []);

    /// <summary>
    /// Reads and validates the settings of task set <paramref name="setName"/>: actor-scheduler.sets.NAME when that
    /// section exists (its scalar keys fall back to actor-scheduler's, its tasks are its own), else actor-scheduler.
    /// The <paramref name="extensions"/> add their packages' keys and defaults; any other key is an error.
    /// </summary>
    internal static PeriodicTaskSettings Create(Config config, string? setName, params ConfigKeys[] extensions)
    {
        ArgumentNullException.ThrowIfNull(extensions);
        extensions = extensions.Distinct().ToArray();
        config = (config ?? Config.Empty).WithFallback(DefaultConfig());
        foreach (var extension in extensions)
            config = config.WithFallback(extension.DefaultConfig);
        var sectionKeys = Merge(KnownKeys, extensions.Select(e => e.SectionKeys));
        var taskKeys = Merge(TaskOverride.KnownKeys, extensions.Select(e => e.TaskKeys));

        var root = new ConfigReader(config.GetConfig(Section), Section);
        root.RejectUnknownKeys(sectionKeys, ConfigKeys.SectionKeyElsewhere);
        var sets = root.Child("sets");
        var sections = new Dictionary<ConfigKeys, object?>();
        foreach (var extension in extensions)
            sections[extension] = extension.ReadSection(root);

        var section = root;
        var tasksSection = root.Child("tasks");
        if (setName is not null && sets.IsObjectByName(setName))
        {
            var own = sets.ChildByName(setName);
            own.RejectUnknownKeys(KnownKeys.Where(k => k != "sets").ToList());
            section = new ConfigReader(own.Config.WithFallback(root.Config), own.Path);
            tasksSection = own.Child("tasks");
        }

        var interval = section.Duration("periodic-interval", TimeSpan.FromSeconds(60));
        if (interval <= TimeSpan.Zero)
            throw new PeriodicTaskConfigurationException(section.PathOf("periodic-interval"), "must be > 0.");
        var initialDelay = section.Duration("initial-delay", interval);
        if (initialDelay < TimeSpan.Zero)
            throw new PeriodicTaskConfigurationException(section.PathOf("initial-delay"), "must be >= 0 (or null: the periodic interval).");
        var fuzzy = section.Duration("fuzzy-delay", TimeSpan.Zero);
        if (fuzzy < TimeSpan.Zero)
            throw new PeriodicTaskConfigurationException(section.PathOf("fuzzy-delay"), "must be >= 0.");
        var shutdown = section.Duration("shutdown-timeout", TimeSpan.FromSeconds(10));
        if (shutdown < TimeSpan.Zero)
            throw new PeriodicTaskConfigurationException(section.PathOf("shutdown-timeout"), "must be >= 0.");
        var tickSource = section.Enum(
            "tick-source", TickSource.Auto,
            ("auto", TickSource.Auto), ("precise", TickSource.Precise), ("scheduler", TickSource.Scheduler));
        var runEvents = section.Enum(
            "run-events", RunEvents.All, ("all", RunEvents.All), ("failures", RunEvents.Failures), ("off", RunEvents.Off));

        var tasks = new List<TaskOverride>();
        foreach (var name in tasksSection.Keys)
        {
            if (!tasksSection.IsObjectByName(name))
                throw new PeriodicTaskConfigurationException(
                    tasksSection.PathOf(name), "must be an object { ticks-between-runs = ..., spacing = ..., ... }.");
            var entry = tasksSection.ChildByName(name);
            entry.RejectUnknownKeys(taskKeys, ConfigKeys.TaskKeyElsewhere);
            tasks.Add(TaskOverride.Read(name, entry, extensions));
        }

        return new PeriodicTaskSettings(
            section.Path, interval, initialDelay, fuzzy, section.Bool("raise-on-error", false), shutdown, tickSource, runEvents,
            RunHistorySettings.Read(section.Child("run-history")), tasks, extensions, sections);
    }

    /// <summary>
    /// These settings with another wall clock: a test steps it to check what a clock change does. Its wall time must move
    /// with the ticks' clock (under Akka's TestScheduler: the scheduler's <c>Now</c> plus the steps the test makes).
    /// </summary>
    public PeriodicTaskSettings WithTimeProvider(TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        return new PeriodicTaskSettings(
            Path, PeriodicInterval, InitialDelay, FuzzyDelay, RaiseOnError, ShutdownTimeout, TickSource, RunEvents, RunHistory, Tasks, Extensions, _sections, timeProvider);
    }

    /// <summary>These settings with another tick source (the cluster package's sharded buckets use the scheduler's for auto).</summary>
    internal PeriodicTaskSettings WithTickSource(TickSource tickSource) =>
        tickSource == TickSource
            ? this
            : new PeriodicTaskSettings(
                Path, PeriodicInterval, InitialDelay, FuzzyDelay, RaiseOnError, ShutdownTimeout, tickSource, RunEvents, RunHistory, Tasks, Extensions, _sections,
                TimeProvider);

    /// <summary>What <paramref name="extension"/> kept of actor-scheduler, or null when these settings were read without it.</summary>
    internal object? SectionOf(ConfigKeys extension) => _sections.GetValueOrDefault(extension);

    /// <summary>The core's keys and the packages' keys; a key registered twice is a programming error.</summary>
    private static List<string> Merge(IReadOnlyList<string> core, IEnumerable<IReadOnlyList<string>> added)
    {
        var keys = core.ToList();
        foreach (var key in added.SelectMany(k => k))
        {
            if (keys.Contains(key))
                throw new ArgumentException($"the configuration key '{key}' is registered twice.", "extensions");
            keys.Add(key);
        }

        return keys;
    }

    /// <summary>
    /// The set's tasks with the configured overrides applied, in registration order. An entry that names no task is
    /// an error (with the closest task name); so is an option combination that makes no sense.
    /// </summary>
    internal IReadOnlyList<PeriodicTaskDefinition> Resolve(PeriodicTaskSet set)
    {
        ArgumentNullException.ThrowIfNull(set);
        var byName = set.Tasks.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var resolved = set.Tasks.ToList();
        foreach (var entry in Tasks)
        {
            if (!byName.TryGetValue(entry.Name, out var task))
            {
                var closest = Suggestions.Closest(entry.Name, byName.Keys);
                var known = byName.Count == 0 ? "it has no tasks" : $"its tasks are: {string.Join(", ", byName.Keys)}";
                throw new PeriodicTaskConfigurationException(
                    entry.Path,
                    $"no task named '{entry.Name}' in task set '{set.Name}'{(closest is null ? "" : $"; did you mean '{closest}'?")} ({known}).");
            }

            resolved[resolved.IndexOf(task)] = task.WithOptions(entry.ApplyTo(task.Options));
        }

        return resolved;
    }
}
