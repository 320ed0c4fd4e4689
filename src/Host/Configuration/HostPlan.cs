using ActorScheduler.Actors;
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
/// <c>actor-scheduler</c> section, and the manager's Props. Every mistake surfaces here as an exception that names
/// the bad input (exit code 2).
/// </summary>
public sealed class HostPlan
{
    /// <summary>The host's own section (outside actor-scheduler, which the library validates).</summary>
    public const string HostSection = "actor-scheduler-host";

    private static readonly IReadOnlyList<string> HostKeys = ["demo"];

    private HostPlan(LoadedConfig source, PeriodicTaskSet set, PeriodicTaskSettings settings, IReadOnlyList<PeriodicTaskDefinition> tasks,
        IReadOnlyDictionary<string, CommandTask> commands, Props managerProps, LogLevel logLevel)
    {
        LogLevel = logLevel;
        Source = source;
        Set = set;
        Settings = settings;
        Tasks = tasks;
        Commands = commands;
        ManagerProps = managerProps;
    }

    public LoadedConfig Source { get; }

    public PeriodicTaskSet Set { get; }

    public PeriodicTaskSettings Settings { get; }

    /// <summary>The tasks with configuration overrides applied, in registration (dispatch) order.</summary>
    public IReadOnlyList<PeriodicTaskDefinition> Tasks { get; }

    /// <summary>The command tasks by name.</summary>
    public IReadOnlyDictionary<string, CommandTask> Commands { get; }

    /// <summary>akka.loglevel: the level of Akka's logs and of the host's console.</summary>
    public LogLevel LogLevel { get; }

    /// <summary>Props of the set's PeriodicTaskManager.</summary>
    public Props ManagerProps { get; }

    /// <summary>The whole configuration with the library's reference.conf as fallback.</summary>
    public Config EffectiveConfig => Source.Config.WithFallback(PeriodicTaskSettings.DefaultConfig());

    /// <exception cref="PeriodicTaskConfigurationException">a bad value, naming its full path.</exception>
    /// <exception cref="PeriodicTaskDefinitionException">a task declared wrongly in a plugin assembly.</exception>
    /// <exception cref="HostConfigurationException">a bad host-only value.</exception>
    public static HostPlan Build(LoadedConfig source)
    {
        var config = source.Config;
        var settings = PeriodicTaskSettings.Create(config);
        var logLevel = AkkaLevelOf(config);
        var demo = ReadDemoFlag(config);

        var set = new PeriodicTaskSet(source.SetName);
        if (demo)
            set.AddTasksOf(new NovaComputeManager());
        foreach (var manager in PluginLoader.LoadManagers(config.WithFallback(PeriodicTaskSettings.DefaultConfig()), source.BaseDirectory))
            set.AddTasksOf(manager);

        var commands = new Dictionary<string, CommandTask>(StringComparer.Ordinal);
        foreach (var entry in settings.Tasks)
        {
            CommandTask.RejectCommandKeysWithoutCommand(entry);
            if (!entry.HasCommand)
                continue;
            var command = CommandTask.Read(entry, source.BaseDirectory);
            set.Add(command.ToDefinition());
            commands[entry.Name] = command;
        }

        var tasks = settings.Resolve(set);
        var props = PeriodicTaskManager.Props(set, settings);
        return new HostPlan(source, set, settings, tasks, commands, props, logLevel);
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
            throw new PeriodicTaskConfigurationException(HostSection, "must be an object { demo = on }.");
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
