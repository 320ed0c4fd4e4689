using System.Reflection;
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

/// <summary>
/// The settings of one task set, read once from HOCON (<c>actor-scheduler</c>, or <c>actor-scheduler.sets.NAME</c>
/// over it) and validated: every mistake is a <see cref="PeriodicTaskConfigurationException"/> naming its full path.
/// </summary>
public sealed class PeriodicTaskSettings
{
    public const string Section = "actor-scheduler";

    /// <summary>Every key directly under actor-scheduler (and under actor-scheduler.sets.NAME).</summary>
    public static readonly IReadOnlyList<string> KnownKeys =
    [
        "periodic-interval", "initial-delay", "fuzzy-delay", "raise-on-error", "shutdown-timeout", "tick-source",
        "tasks", "sets", "assemblies", "state",
    ];

    private static readonly Lazy<Config> Reference = new(() =>
    {
        using var stream = typeof(PeriodicTaskSettings).Assembly.GetManifestResourceStream("ActorScheduler.reference.conf")
            ?? throw new InvalidOperationException("ActorScheduler.reference.conf is not embedded in the assembly.");
        using var reader = new StreamReader(stream);
        return ConfigurationFactory.ParseString(reader.ReadToEnd());
    });

    private PeriodicTaskSettings(
        string path, TimeSpan periodicInterval, TimeSpan initialDelay, TimeSpan fuzzyDelay, bool raiseOnError,
        TimeSpan shutdownTimeout, TickSource tickSource, IReadOnlyList<TaskOverride> tasks, StateSettings state)
    {
        State = state;
        Path = path;
        PeriodicInterval = periodicInterval;
        InitialDelay = initialDelay;
        FuzzyDelay = fuzzyDelay;
        RaiseOnError = raiseOnError;
        ShutdownTimeout = shutdownTimeout;
        TickSource = tickSource;
        Tasks = tasks;
    }

    /// <summary>The embedded reference.conf: every key with its default.</summary>
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

    /// <summary>The actor-scheduler.tasks entries, in file order.</summary>
    public IReadOnlyList<TaskOverride> Tasks { get; }

    /// <summary>actor-scheduler.state: persistence of each task's place in its schedule (shared by all sets).</summary>
    public StateSettings State { get; }

    /// <summary>Settings with all defaults (tests, and users who configure nothing).</summary>
    public static PeriodicTaskSettings Create() => Create(Config.Empty);

    /// <summary>
    /// Reads and validates the settings of task set <paramref name="setName"/>: actor-scheduler.sets.NAME when that
    /// section exists (its scalar keys fall back to actor-scheduler's, its tasks are its own), else actor-scheduler.
    /// </summary>
    public static PeriodicTaskSettings Create(Config config, string? setName = null)
    {
        config = (config ?? Config.Empty).WithFallback(DefaultConfig());
        var root = new ConfigReader(config.GetConfig(Section), Section);
        root.RejectUnknownKeys(KnownKeys);
        var sets = root.Child("sets");
        var state = StateSettings.Read(root.Child("state"));

        var section = root;
        var tasksSection = root.Child("tasks");
        if (setName is not null && sets.IsObjectByName(setName))
        {
            var own = sets.ChildByName(setName);
            own.RejectUnknownKeys(KnownKeys.Where(k => k is not ("sets" or "assemblies" or "state")).ToList());
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

        var tasks = new List<TaskOverride>();
        foreach (var name in tasksSection.Keys)
        {
            if (!tasksSection.IsObjectByName(name))
                throw new PeriodicTaskConfigurationException(
                    tasksSection.PathOf(name), "must be an object { ticks-between-runs = ..., spacing = ..., ... }.");
            tasks.Add(TaskOverride.Read(name, tasksSection.ChildByName(name)));
        }

        return new PeriodicTaskSettings(
            section.Path, interval, initialDelay, fuzzy, section.Bool("raise-on-error", false), shutdown, tickSource, tasks, state);
    }

    /// <summary>
    /// The set's tasks with the configured overrides applied, in registration order. An entry that names no task is
    /// an error (with the closest task name); so is an option combination that makes no sense.
    /// </summary>
    public IReadOnlyList<PeriodicTaskDefinition> Resolve(PeriodicTaskSet set)
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

            var options = entry.ApplyTo(task.Options);
            if (options.Role.Length > 0 && options.Scope != TaskScope.Cluster)
                throw new PeriodicTaskConfigurationException(
                    entry.Path + (entry.Role is null ? ".scope" : ".role"), "role applies only to scope = cluster.");
            resolved[resolved.IndexOf(task)] = task.WithOptions(options);
        }

        return resolved;
    }
}
