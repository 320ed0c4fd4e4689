using ActorScheduler.Cluster;
using ActorScheduler.Configuration;
using ActorScheduler.Host.Demo;
using ActorScheduler.Host.Tasks;
using ActorScheduler.Tasks;
using Akka.Actor;
using Akka.Configuration;
using LogLevel = Akka.Event.LogLevel;

namespace ActorScheduler.Host.Configuration;

/// <summary>
/// Everything the host will run, built and validated before any ActorSystem starts: the task set (demo tasks, plugin
/// assembly tasks, then one command task per <c>tasks</c> entry with a command), the settings read from the root
/// <c>actor-scheduler</c> section, and whether it needs a cluster. Every mistake surfaces here as an exception that
/// names the bad input (exit code 2).
/// </summary>
internal sealed class HostPlan
{
    /// <summary>The host's own section (outside actor-scheduler, which the library validates).</summary>
    public const string HostSection = "actor-scheduler-host";

    private static readonly IReadOnlyList<string> HostKeys = ["demo", "set-name", "http", "cluster"];

    /// <summary>The set's name in cluster mode when set-name is unset: the same on every node, whatever its file's name.</summary>
    public const string ClusterSetName = "default";

    private HostPlan(LoadedConfig source, PeriodicTaskSet set, PeriodicTaskSettings settings, IReadOnlyList<PeriodicTaskDefinition> tasks,
        IReadOnlyDictionary<string, CommandTask> commands, LogLevel logLevel, HttpSettings http, BootstrapSettings bootstrap)
    {
        Http = http;
        Bootstrap = bootstrap;
        LogLevel = logLevel;
        Source = source;
        Set = set;
        Settings = settings;
        Tasks = tasks;
        Commands = commands;
    }

    public LoadedConfig Source { get; }

    public PeriodicTaskSet Set { get; }

    public PeriodicTaskSettings Settings { get; }

    /// <summary>The tasks with configuration overrides applied, in registration (dispatch) order.</summary>
    internal IReadOnlyList<PeriodicTaskDefinition> Tasks { get; }

    /// <summary>The command tasks by name.</summary>
    public IReadOnlyDictionary<string, CommandTask> Commands { get; }

    /// <summary>actor-scheduler-host.http: what run serves.</summary>
    public HttpSettings Http { get; }

    /// <summary>actor-scheduler-host.cluster.bootstrap: whether run joins the cluster through Cluster Bootstrap.</summary>
    public BootstrapSettings Bootstrap { get; }

    /// <summary>akka.loglevel: the level of Akka's logs and of the host's console.</summary>
    public LogLevel LogLevel { get; }

    /// <summary>The cluster-scoped tasks by role ("" = any node), in dispatch order; empty without any.</summary>
    internal IReadOnlyDictionary<string, IReadOnlyList<PeriodicTaskDefinition>> ClusterTasksByRole =>
        Tasks.Where(t => t.Options.Scope == TaskScope.Cluster)
            .GroupBy(t => t.Options.Role)
            .ToDictionary(g => g.Key, g => (IReadOnlyList<PeriodicTaskDefinition>)g.ToList(), StringComparer.Ordinal);

    /// <summary>The node-scoped tasks (run on every node), in dispatch order.</summary>
    internal IReadOnlyList<PeriodicTaskDefinition> NodeTasks => Tasks.Where(t => t.Options.Scope == TaskScope.Node).ToList();

    /// <summary>True when some task is cluster-scoped.</summary>
    public bool HasClusterTasks => Tasks.Any(t => t.Options.Scope == TaskScope.Cluster);

    /// <summary>The whole configuration over the reference configurations of the library, the cluster package and the host.</summary>
    public Config EffectiveConfig => Source.Config.WithFallback(HostConfiguration.DefaultConfig());

    /// <exception cref="PeriodicTaskConfigurationException">a bad value, naming its full path.</exception>
    /// <exception cref="PeriodicTaskDefinitionException">a task declared wrongly in a plugin assembly.</exception>
    /// <exception cref="HostConfigurationException">a bad host-only value.</exception>
    public static HostPlan Build(LoadedConfig source)
    {
        var config = source.Config;
        var settings = HostConfiguration.ReadSettings(config);
        var logLevel = AkkaLevelOf(config);
        var demo = ReadDemoFlag(config);
        var http = HttpSettings.Read(config);
        var bootstrap = BootstrapSettings.Read(config);

        var set = new PeriodicTaskSet(ReadSetName(config) ?? (IsClusterProvider(config) && !source.IsBuiltIn ? ClusterSetName : source.SetName));
        if (demo)
            set.AddTasksOf(new NovaComputeManager());
        foreach (var manager in PluginLoader.LoadManagers(config.WithFallback(HostConfiguration.DefaultConfig()), source.BaseDirectory))
            set.AddTasksOf(manager);

        var commands = new Dictionary<string, CommandTask>(StringComparer.Ordinal);
        foreach (var entry in settings.Tasks)
        {
            if (!HostConfiguration.HasCommand(entry))
                continue;
            var command = CommandTask.Read(entry, source.BaseDirectory);
            set.Add(command.ToDefinition());
            commands[entry.Name] = command;
        }

        var tasks = settings.Resolve(set);
        RejectClusterTasksWithoutCluster(config, settings, tasks);
        return new HostPlan(source, set, settings, tasks, commands, logLevel, http, bootstrap);
    }

    /// <summary>
    /// scope = cluster needs akka.actor.provider = cluster in the same file (the cluster package checks it again when
    /// the set starts; checking here makes validate, list and simulate say it too), and a role must be a valid name.
    /// </summary>
    private static void RejectClusterTasksWithoutCluster(Config config, PeriodicTaskSettings settings, IReadOnlyList<PeriodicTaskDefinition> tasks)
    {
        var clusterTasks = tasks.Where(t => t.Options.Scope == TaskScope.Cluster).ToList();
        if (clusterTasks.Count == 0)
            return;
        ClusterPeriodicTasks.CheckClusterTasks(settings, clusterTasks, IsClusterProvider(config));
    }

    /// <summary>True when the file sets akka.actor.provider = cluster (or the provider's type name).</summary>
    internal static bool IsClusterProvider(Config config)
    {
        var provider = config.HasPath("akka.actor.provider") ? config.GetString("akka.actor.provider", "")?.Trim() ?? "" : "";
        return provider.Equals("cluster", StringComparison.OrdinalIgnoreCase)
               || provider.StartsWith("Akka.Cluster.ClusterActorRefProvider", StringComparison.Ordinal);
    }

    /// <summary>
    /// actor-scheduler-host.set-name: the task set's name, instead of the file's name (or, in cluster mode, instead of
    /// <see cref="ClusterSetName"/>, so that node-1.conf, node-2.conf, ... run one set: docs/host.md).
    /// </summary>
    private static string? ReadSetName(Config config)
    {
        var path = HostSection + ".set-name";
        if (!config.HasPath(path))
            return null;
        var value = config.GetValue(path);
        var name = value is null || value.IsEmpty || !value.IsString() ? null : value.GetString()?.Trim();
        if (string.IsNullOrEmpty(name) || !ActorPath.IsValidPathElement(name) || name.StartsWith('$'))
            throw new PeriodicTaskConfigurationException(path,
                $"\"{name}\" is not a valid task set name; use letters, digits and - _ (it becomes part of actor names).");
        return name;
    }

    /// <summary>akka.loglevel of the configuration (DEBUG, INFO, WARNING, ERROR; OFF keeps errors only).</summary>
    public static LogLevel AkkaLevelOf(Config config)
    {
        var raw = config.HasPath("akka.loglevel") ? config.GetString("akka.loglevel", "INFO") ?? "INFO" : "INFO";
        return raw.Trim().ToUpperInvariant() switch
        {
            "DEBUG" => LogLevel.DebugLevel,
            "INFO" => LogLevel.InfoLevel,
            "WARNING" or "WARN" => LogLevel.WarningLevel,
            "ERROR" or "OFF" => LogLevel.ErrorLevel,
            _ => throw new PeriodicTaskConfigurationException(
                "akka.loglevel", $"\"{raw}\" is not allowed; use one of: DEBUG, INFO, WARNING, ERROR, OFF."),
        };
    }

    private static bool ReadDemoFlag(Config config)
    {
        if (!config.HasPath(HostSection))
            return false;
        var value = config.GetValue(HostSection);
        if (!value.IsObject())
            throw new PeriodicTaskConfigurationException(HostSection, "must be an object { demo = on, set-name = NAME, http { ... }, cluster { ... } }.");
        foreach (var key in value.GetObject().Items.Keys)
        {
            if (HostKeys.Contains(key))
                continue;
            var closest = Suggestions.Closest(key, HostKeys);
            throw new PeriodicTaskConfigurationException(
                $"{HostSection}.{key}", $"unknown key{(closest is null ? "" : $"; did you mean '{closest}'?")} Known keys: {string.Join(", ", HostKeys)}.");
        }

        var demo = config.GetValue(HostSection + ".demo");
        if (demo is null || demo.IsEmpty)
            return false;
        return demo.GetString()?.Trim().ToLowerInvariant() switch
        {
            "on" or "true" or "yes" => true,
            "off" or "false" or "no" => false,
            var raw => throw new PeriodicTaskConfigurationException($"{HostSection}.demo", $"\"{raw}\" is not a boolean; use on or off."),
        };
    }
}
