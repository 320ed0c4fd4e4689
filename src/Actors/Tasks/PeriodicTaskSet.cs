using Akka.Actor;

namespace ActorScheduler.Tasks;

/// <summary>
/// The tasks of one task set (one manager actor), in registration order: attribute tasks of each manager object
/// added (base-class tasks first), then tasks added in code, in the order they were added.
/// </summary>
public sealed class PeriodicTaskSet
{
    private readonly List<PeriodicTaskDefinition> _tasks = [];
    private readonly Dictionary<string, PeriodicTaskDefinition> _byName = new(StringComparer.Ordinal);

    public PeriodicTaskSet(string name)
    {
        if (string.IsNullOrWhiteSpace(name) || !ActorPath.IsValidPathElement(name))
            throw new PeriodicTaskDefinitionException(
                $"'{name}' is not a valid task set name: use letters, digits and -_.:@&=+,!~*'$ (it becomes part of an actor name).");
        Name = name;
    }

    /// <summary>The set's name: actor name suffix (periodic-tasks-NAME), log prefix (NAME.task) and settings key (sets.NAME).</summary>
    public string Name { get; }

    internal IReadOnlyList<PeriodicTaskDefinition> Tasks => _tasks;

    /// <summary>Adds the [PeriodicTask] methods of <paramref name="manager"/>.</summary>
    public PeriodicTaskSet AddTasksOf(object manager)
    {
        foreach (var task in TaskDiscovery.Discover(manager))
            Add(task);
        return this;
    }

    /// <summary>Adds an asynchronous delegate task.</summary>
    public PeriodicTaskSet Add(
        string name, Func<PeriodicTaskContext, CancellationToken, ValueTask> body, PeriodicTaskOptions? options = null) =>
        Add(PeriodicTaskDefinition.FromCode(name, body, options));

    /// <summary>Adds a synchronous delegate task.</summary>
    public PeriodicTaskSet Add(string name, Action<PeriodicTaskContext> body, PeriodicTaskOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(body);
        return Add(name, (c, _) =>
        {
            body(c);
            return ValueTask.CompletedTask;
        }, options);
    }

    /// <summary>Adds a task object; the same instance serves every run.</summary>
    public PeriodicTaskSet Add(string name, IPeriodicTask task, PeriodicTaskOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(task);
        return Add(name, task.RunAsync, options);
    }

    /// <summary>Adds a task created anew for each run by <paramref name="factory"/> (disposed after the run when disposable).</summary>
    public PeriodicTaskSet Add(string name, Func<IPeriodicTask> factory, PeriodicTaskOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(factory);
        return Add(name, (c, t) => TaskBodies.RunAndDisposeAsync(factory(), c, t), options);
    }

    /// <summary>Adds a definition; a second task with the same name is an error naming both.</summary>
    internal PeriodicTaskSet Add(PeriodicTaskDefinition task)
    {
        ArgumentNullException.ThrowIfNull(task);
        if (_byName.TryGetValue(task.Name, out var existing))
            throw new PeriodicTaskDefinitionException(
                $"{task.Source}: two periodic tasks named '{task.Name}' in set '{Name}' (the other is {existing.Source}).");
        _byName.Add(task.Name, task);
        _tasks.Add(task);
        return this;
    }
}
