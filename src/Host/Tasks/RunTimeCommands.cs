using ActorScheduler.Configuration;
using ActorScheduler.Host.Configuration;
using ActorScheduler.Tasks;
using Akka.Actor;
using Akka.Configuration;

namespace ActorScheduler.Host.Tasks;

/// <summary>
/// Command tasks added while the host runs (docs/host.md, "Adding and removing tasks at run time"): an entry with the
/// keys of a task in the file, <c>command</c> among them. The entry's text names the task's body
/// (<c>command:TEXT</c>), so that every host of a cluster, and this one after a restart, can build the task again.
/// </summary>
internal static class RunTimeCommands
{
    public const string Scheme = "command";

    /// <summary>The longest entry accepted.</summary>
    public const int MaxEntryLength = 16 * 1024;

    /// <summary>Lets <paramref name="system"/> build <c>command:</c> bodies (relative working directories from <paramref name="baseDirectory"/>).</summary>
    public static void Register(ActorSystem system, string baseDirectory) =>
        TaskBodies.Register(system, Scheme, (task, text) => CommandTask.Read(Entry(task, text), baseDirectory).RunAsync);

    /// <summary>
    /// Task <paramref name="name"/> from <paramref name="text"/>, HOCON or JSON: <c>{ command = "...", spacing = 1h }</c>
    /// (the braces may be left out).
    /// </summary>
    /// <exception cref="PeriodicTaskConfigurationException">a bad entry, naming the key.</exception>
    public static PeriodicTaskDefinition Read(string name, string text, string baseDirectory)
    {
        if (string.IsNullOrWhiteSpace(name) || name.Length > 200 || name.Any(char.IsControl))
            throw new PeriodicTaskConfigurationException("name", $"'{name}' is not a task name.");
        if (text.Length > MaxEntryLength)
            throw new PeriodicTaskConfigurationException(name, $"the entry has {text.Length} characters; at most {MaxEntryLength}.");
        var entry = Entry(name, text);
        if (!HostConfiguration.HasCommand(entry))
            throw new PeriodicTaskConfigurationException(entry.Path + ".command",
                "is missing: a task added at run time is a command task (command = \"...\" or [program, args...]).");
        var command = CommandTask.Read(entry, baseDirectory);
        var options = entry.ApplyTo(PeriodicTaskOptions.Default);
        try
        {
            OptionsValidation.Validate(options, entry.Path);
        }
        catch (PeriodicTaskDefinitionException e)
        {
            throw new PeriodicTaskConfigurationException(entry.Path, e.Message);
        }

        return new PeriodicTaskDefinition(name, options, command.RunAsync, $"command task {entry.Path} added at run time", Scheme + ":" + text);
    }

    /// <summary>The entry as the host reads one of its file, at actor-scheduler.tasks.NAME.</summary>
    private static TaskOverride Entry(string name, string text)
    {
        var body = text.TrimStart().StartsWith('{') ? text : "{\n" + text + "\n}";
        if (ConfigLoader.UnbalancedBracket(body) is { } bracket) // Akka's parser accepts some silently
            throw new PeriodicTaskConfigurationException(name, $"the entry is not valid HOCON or JSON: {bracket.Problem}");
        Config config;
        try
        {
            config = ConfigurationFactory.ParseString("actor-scheduler.tasks." + Hocon.Quote(name) + " " + body,
                _ => throw new PeriodicTaskConfigurationException(name, "an entry cannot include files."));
        }
        catch (PeriodicTaskConfigurationException)
        {
            throw;
        }
        catch (Exception e)
        {
            throw new PeriodicTaskConfigurationException(name, $"the entry is not valid HOCON or JSON: {e.Message}");
        }

        if (Keys(config) is not ["actor-scheduler"] || Keys(config.GetConfig("actor-scheduler")) is not ["tasks"]
            || Keys(config.GetConfig("actor-scheduler.tasks")).Count != 1)
            throw new PeriodicTaskConfigurationException(name, "the entry must be one object of task keys.");
        var settings = HostConfiguration.ReadSettings(config.WithFallback(HostConfiguration.DefaultConfig()));
        return settings.Tasks.Single(t => t.Name == name);
    }

    private static List<string> Keys(Config config) => config.Root.GetObject().Items.Keys.ToList();
}
