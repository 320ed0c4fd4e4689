using ActorScheduler.Tasks;
using Akka.Configuration;

namespace ActorScheduler.Configuration;

/// <summary>
/// The configuration keys a package adds to the core's: keys directly under <c>actor-scheduler</c> and keys of a task
/// entry, each read and validated by the package, with the package's defaults. Immutable; a package (the cluster
/// package, the console host) has one and passes it to <see cref="PeriodicTaskSettings.Create(Config, string?, ConfigKeys[])"/>.
/// </summary>
internal sealed class ConfigKeys
{
    /// <summary>Keys of our other packages, so that reading them without that package says where they belong.</summary>
    private static readonly IReadOnlyDictionary<string, string> SectionKeysElsewhere = new Dictionary<string, string>
    {
        ["state"] = ClusterPackage, ["cluster"] = ClusterPackage, ["assemblies"] = HostPackage,
    };

    private static readonly IReadOnlyDictionary<string, string> TaskKeysElsewhere = new Dictionary<string, string>
    {
        ["scope"] = ClusterPackage, ["role"] = ClusterPackage,
        ["command"] = HostPackage, ["working-directory"] = HostPackage, ["environment"] = HostPackage,
    };

    private const string ClusterPackage =
        "the ActorScheduler.Cluster package, which reads it when it starts the set (StartClusterPeriodicTasks, WithClusterPeriodicTasks)";

    private const string HostPackage = "the actor-scheduler console host";

    private readonly Func<ConfigReader, object?>? _readSection;
    private readonly Func<ConfigReader, Func<PeriodicTaskOptions, PeriodicTaskOptions>?>? _readTask;

    /// <param name="package">The package that owns the keys, named in errors.</param>
    /// <param name="defaults">The package's reference configuration, a fallback after the core's.</param>
    /// <param name="sectionKeys">Keys directly under actor-scheduler; they apply to every set, so not under sets.NAME.</param>
    /// <param name="taskKeys">Keys of a task entry.</param>
    /// <param name="readSection">Validates actor-scheduler (with every default) and returns what the package keeps of it.</param>
    /// <param name="readTask">Validates one task entry and returns how it changes the task's options, or null.</param>
    internal ConfigKeys(
        string package, Config defaults, IReadOnlyList<string> sectionKeys, IReadOnlyList<string> taskKeys,
        Func<ConfigReader, object?>? readSection = null,
        Func<ConfigReader, Func<PeriodicTaskOptions, PeriodicTaskOptions>?>? readTask = null)
    {
        Package = package;
        DefaultConfig = defaults;
        SectionKeys = sectionKeys;
        TaskKeys = taskKeys;
        _readSection = readSection;
        _readTask = readTask;
    }

    /// <summary>The package that owns these keys.</summary>
    internal string Package { get; }

    /// <summary>The package's defaults (its embedded reference configuration).</summary>
    internal Config DefaultConfig { get; }

    /// <summary>Keys directly under actor-scheduler.</summary>
    internal IReadOnlyList<string> SectionKeys { get; }

    /// <summary>Keys of an actor-scheduler.tasks.NAME (or sets.SET.tasks.NAME) entry.</summary>
    internal IReadOnlyList<string> TaskKeys { get; }

    internal object? ReadSection(ConfigReader root) => _readSection?.Invoke(root);

    internal Func<PeriodicTaskOptions, PeriodicTaskOptions>? ReadTask(ConfigReader entry) => _readTask?.Invoke(entry);

    /// <summary>Why a section key no package read here is unknown, when another package of ours reads it.</summary>
    internal static string? SectionKeyElsewhere(string key) =>
        SectionKeysElsewhere.TryGetValue(key, out var owner) ? $"{key} belongs to {owner}" : null;

    /// <summary>Why a task key no package read here is unknown, when another package of ours reads it.</summary>
    internal static string? TaskKeyElsewhere(string key) =>
        TaskKeysElsewhere.TryGetValue(key, out var owner) ? $"{key} belongs to {owner}" : null;
}
