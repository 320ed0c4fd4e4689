using ActorScheduler.Configuration;
using ActorScheduler.Tasks;
using Akka.Configuration;

namespace ActorScheduler.Host.Configuration;

/// <summary>
/// The host's configuration keys: <c>command</c>, <c>working-directory</c> and <c>environment</c> in a task entry and
/// <c>assemblies</c> under actor-scheduler, with their defaults (hocon/host-reference.conf). The host reads its
/// settings with these and the cluster package's keys.
/// </summary>
internal static class HostConfiguration
{
    private static readonly string[] CommandOnlyKeys = ["working-directory", "environment"];

    /// <summary>The host's own keys. assemblies is checked by <see cref="PluginLoader"/>, which resolves its paths.</summary>
    public static ConfigKeys Keys { get; } = new(
        "the actor-scheduler console host",
        Hocon.Embedded(typeof(HostConfiguration).Assembly, "ActorScheduler.Host.reference.conf"),
        sectionKeys: ["assemblies"],
        taskKeys: ["command", "working-directory", "environment"],
        readTask: ReadTask);

    /// <summary>The library's, the cluster package's and the host's reference configurations, in that order.</summary>
    public static Config DefaultConfig() =>
        PeriodicTaskSettings.DefaultConfig().WithFallback(ClusterConfiguration.DefaultConfig()).WithFallback(Keys.DefaultConfig);

    /// <summary>The settings of the host's task set: the root actor-scheduler section, with the host's and the cluster's keys.</summary>
    /// <exception cref="PeriodicTaskConfigurationException">a bad value or an unknown key, naming its full path.</exception>
    public static PeriodicTaskSettings ReadSettings(Config config) =>
        PeriodicTaskSettings.Create(config, null, Keys, ClusterConfiguration.Keys);

    /// <summary>True when the entry has a <c>command</c>: it is a command task of its own.</summary>
    public static bool HasCommand(TaskOverride entry) => new ConfigReader(entry.Config, entry.Path).Has("command");

    /// <summary>
    /// Checks the shape of command and environment (the rest, such as whether working-directory exists, when the
    /// command task is built) and that working-directory and environment come with a command; changes no option.
    /// </summary>
    private static Func<PeriodicTaskOptions, PeriodicTaskOptions>? ReadTask(ConfigReader entry)
    {
        if (entry.Has("command") && !entry.IsArray("command") && string.IsNullOrWhiteSpace(entry.Raw("command")))
            throw new PeriodicTaskConfigurationException(entry.PathOf("command"), "must be a non-empty string or a list [program, args...].");
        if (entry.Has("environment") && !entry.IsObject("environment"))
            throw new PeriodicTaskConfigurationException(entry.PathOf("environment"), "must be an object { NAME = value }.");
        if (!entry.Has("command"))
            foreach (var key in CommandOnlyKeys)
                if (entry.Config.HasPath(key))
                    throw new PeriodicTaskConfigurationException(
                        entry.PathOf(key), "only applies to a command task; add command = \"...\" or remove this key.");
        return null;
    }
}
