using ActorScheduler.Tasks;
using Akka.Configuration;

namespace ActorScheduler.Configuration;

/// <summary>
/// The configuration keys of the ActorScheduler.Cluster package: <c>scope</c> and <c>role</c> in a task entry,
/// <c>cluster</c> and <c>state</c> under actor-scheduler, with their defaults (hocon/cluster-reference.conf).
/// </summary>
public static class ClusterConfiguration
{
    /// <summary>
    /// The keys to pass to <see cref="PeriodicTaskSettings.Create(Config, string?, ConfigKeys[])"/> for settings given to
    /// StartClusterPeriodicTasks (which reads its own with them when given none); users call <see cref="CreateSettings"/>.
    /// </summary>
    internal static ConfigKeys Keys { get; } = new(
        "ActorScheduler.Cluster",
        Hocon.Embedded(typeof(ClusterConfiguration).Assembly, "ActorScheduler.Cluster.reference.conf"),
        sectionKeys: ["cluster", "state"],
        taskKeys: ["scope", "role"],
        readSection: ClusterTaskSettings.Read,
        readTask: ReadTask);

    /// <summary>
    /// The embedded cluster-reference.conf: every key of the cluster package with its default, and the cluster timings it
    /// ships (docs/cluster.md, "Split brain resolver and fail-over time"); a fallback of the ActorSystem's configuration.
    /// </summary>
    public static Config DefaultConfig() => Keys.DefaultConfig;

    /// <summary>
    /// Reads and validates the settings of task set <paramref name="setName"/> as
    /// <see cref="PeriodicTaskSettings.Create(Config, string?)"/> does, with the cluster package's keys too (scope and
    /// role of a task, cluster and state): the settings to give StartClusterPeriodicTasks.
    /// </summary>
    /// <exception cref="PeriodicTaskConfigurationException">a bad value or an unknown key, naming its full path.</exception>
    public static PeriodicTaskSettings CreateSettings(Config config, string? setName = null) =>
        PeriodicTaskSettings.Create(config, setName, Keys);

    /// <summary>scope and role of one task entry, laid over the declared options; a role needs scope = cluster.</summary>
    private static Func<PeriodicTaskOptions, PeriodicTaskOptions>? ReadTask(ConfigReader entry)
    {
        TaskScope? scope = entry.Has("scope")
            ? entry.Enum("scope", TaskScope.Node, ("node", TaskScope.Node), ("cluster", TaskScope.Cluster))
            : null;
        var role = entry.Has("role") ? entry.String("role", "") : null;
        if (scope is null && role is null)
            return null;
        return declared =>
        {
            var options = declared with { Scope = scope ?? declared.Scope, Role = role ?? declared.Role };
            if (options.Role.Length > 0 && options.Scope != TaskScope.Cluster)
                throw new PeriodicTaskConfigurationException(
                    entry.PathOf(role is null ? "scope" : "role"), "role applies only to scope = cluster.");
            return options;
        };
    }
}

/// <summary>How cluster-scoped tasks are spread over the nodes (actor-scheduler.cluster.distribution).</summary>
internal enum TaskDistribution
{
    /// <summary>Every cluster-scoped task of a role on one node, in a cluster singleton.</summary>
    Singleton,

    /// <summary>The tasks of a role split into buckets by name, each bucket an entity of Akka.Cluster.Sharding.</summary>
    Sharded,
}

/// <summary>
/// What the cluster package reads under actor-scheduler: <c>cluster</c> and <c>state</c>, shared by every task set.
/// Settings read without the cluster's keys had none of them in their configuration, so they get the defaults.
/// </summary>
internal sealed class ClusterTaskSettings
{
    private static readonly IReadOnlyList<string> ClusterKeys = ["distribution", "shards", "lease"];

    /// <summary>The default of actor-scheduler.cluster.shards (docs/cluster.md says why).</summary>
    public const int DefaultShards = 30;

    public static readonly ClusterTaskSettings Default = new(TaskDistribution.Singleton, DefaultShards, StateSettings.None, LeaseKind.Membership);

    private ClusterTaskSettings(TaskDistribution distribution, int shards, StateSettings state, LeaseKind lease)
    {
        Distribution = distribution;
        Shards = shards;
        State = state;
        Lease = lease;
    }

    public TaskDistribution Distribution { get; }

    /// <summary>With <see cref="TaskDistribution.Sharded"/>: how many buckets the cluster tasks of a role are split into.</summary>
    public int Shards { get; }

    public StateSettings State { get; }

    /// <summary>
    /// actor-scheduler.cluster.lease: the lease the singleton and every bucket hold, in the state store's database or
    /// from the cluster's membership (docs/cluster.md, "Never two runs of one cluster task").
    /// </summary>
    public LeaseKind Lease { get; }

    /// <summary>The cluster settings <paramref name="settings"/> were read with (the defaults when read without them).</summary>
    public static ClusterTaskSettings Of(PeriodicTaskSettings settings) =>
        settings.SectionOf(ClusterConfiguration.Keys) as ClusterTaskSettings ?? Default;

    /// <summary>Reads and validates actor-scheduler.cluster and actor-scheduler.state of <paramref name="root"/>.</summary>
    public static ClusterTaskSettings Read(ConfigReader root)
    {
        var cluster = root.Child("cluster");
        cluster.RejectUnknownKeys(ClusterKeys);
        var distribution = cluster.Enum(
            "distribution", TaskDistribution.Singleton, ("singleton", TaskDistribution.Singleton), ("sharded", TaskDistribution.Sharded));
        var shards = cluster.Int("shards", DefaultShards, min: 1);
        var state = StateSettings.Read(root.Child("state"));
        var lease = cluster.Enum("lease", LeaseUse.Auto, ("auto", LeaseUse.Auto), ("on", LeaseUse.On), ("off", LeaseUse.Off));
        var database = LeaseDatabase(state);
        if (lease == LeaseUse.On && database is not null)
            throw new PeriodicTaskConfigurationException(cluster.PathOf("lease"), $"on needs {database}; or set lease = auto.");
        var kind = lease == LeaseUse.Off ? LeaseKind.None : database is null ? LeaseKind.Database : LeaseKind.Membership;
        return new ClusterTaskSettings(distribution, shards, state, kind);
    }

    /// <summary>What the lease lacks in <paramref name="state"/> (a database it can use), or null.</summary>
    private static string? LeaseDatabase(StateSettings state) => state switch
    {
        { Store: not StateStore.Sql } => "a state store to keep the lease in: set actor-scheduler.state.store = sql",
        { JournalPlugin.Length: > 0 } => "the state store's own database (provider and connection-string), not a journal-plugin of its own",
        _ when !state.Provider.StartsWith("SQLite", StringComparison.OrdinalIgnoreCase)
               && !state.Provider.StartsWith("PostgreSQL", StringComparison.OrdinalIgnoreCase) =>
            $"a SQLite or PostgreSQL state store (provider is \"{state.Provider}\")",
        _ => null,
    };

    private enum LeaseUse
    {
        Auto,
        On,
        Off,
    }
}

/// <summary>The lease of actor-scheduler.cluster.lease.</summary>
internal enum LeaseKind
{
    /// <summary>lease = off: down-removal-margin alone keeps a downed owner's runs apart from its successor's.</summary>
    None,

    /// <summary>In the state store's database (SqlLease).</summary>
    Database,

    /// <summary>Without a database: held while the split brain resolver would keep this node's side (MembershipLease).</summary>
    Membership,
}

/// <summary>settings.State: the state settings of the cluster package, as if the core's settings had them.</summary>
internal static class ClusterTaskSettingsAccess
{
    extension(PeriodicTaskSettings settings)
    {
        /// <summary>actor-scheduler.state: persistence of each task's place in its schedule (shared by all sets).</summary>
        public StateSettings State => ClusterTaskSettings.Of(settings).State;
    }
}
