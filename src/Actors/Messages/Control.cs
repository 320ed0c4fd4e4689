using ActorScheduler.Tasks;

namespace ActorScheduler.Messages;

/// <summary>
/// Pauses a task: it is not dispatched until resumed, or until <paramref name="Until"/> passes; its schedule goes on
/// (docs/semantics.md, "Pause, resume and trigger"). The answer is the task's <see cref="TaskStats"/>, or
/// <c>Status.Failure</c> with a <see cref="PeriodicTaskNotFoundException"/>.
/// </summary>
public sealed record PauseTask(string Task, string? Note = null, DateTimeOffset? Until = null);

/// <summary>Resumes a paused task (resuming a task that is not paused changes nothing). The answer is its <see cref="TaskStats"/>.</summary>
public sealed record ResumeTask(string Task);

/// <summary>
/// Changes the tasks of a running set, all or nothing (docs/semantics.md, "Changes at run time"). The answer is
/// <see cref="TasksChanged"/>, or <c>Status.Failure</c> naming what is wrong, and then nothing has changed.
/// </summary>
public sealed record ChangeTasks(IReadOnlyList<TaskChange> Changes)
{
    public ChangeTasks(params TaskChange[] changes)
        : this((IReadOnlyList<TaskChange>)changes)
    {
    }

    /// <summary>Changes that follow the configuration (the console host's reload): the configuration keeps them, not a store.</summary>
    internal bool FromConfiguration { get; init; }
}

/// <summary>One change of a <see cref="ChangeTasks"/>.</summary>
public abstract record TaskChange(string Task);

/// <summary>
/// Adds a task; it counts as if the set had started on the tick after the change. A body given as a delegate lives as
/// long as the set: only a task added with <see cref="Of{TTask}"/> can be sent to another node and, with a state store,
/// comes back after a restart (docs/control.md, "Changes that last").
/// </summary>
public sealed record AddTask : TaskChange
{
    private readonly string? _bodyType;

    public AddTask(string task, Func<PeriodicTaskContext, CancellationToken, ValueTask> body, PeriodicTaskOptions? options = null)
        : this(PeriodicTaskDefinition.FromCode(task, body, options))
    {
    }

    internal AddTask(PeriodicTaskDefinition definition)
        : base(definition.Name)
    {
        Definition = definition;
        Options = definition.Options;
    }

    internal AddTask(string task, string bodyType, PeriodicTaskOptions? options)
        : base(task)
    {
        _bodyType = bodyType;
        Options = options ?? PeriodicTaskOptions.Default;
    }

    /// <summary>
    /// A task whose body is a new <typeparamref name="TTask"/> for each run, made by the node that runs it (from its
    /// service provider when the ActorSystem has one, else by its parameterless constructor).
    /// </summary>
    public static AddTask Of<TTask>(string task, PeriodicTaskOptions? options = null) where TTask : class, IPeriodicTask
    {
        OptionsValidation.Validate(options ?? PeriodicTaskOptions.Default, $"task '{task}'");
        return new AddTask(task, TaskBodies.NameOf(typeof(TTask)), options);
    }

    /// <summary>Null for a delegate body.</summary>
    internal PeriodicTaskDefinition? Definition { get; }

    /// <summary>
    /// What the body is made from: an <see cref="IPeriodicTask"/> type (full name and assembly), or a body another
    /// package builds (the console host's <c>command:</c>); null for a delegate body.
    /// </summary>
    public string? BodyType => Definition?.BodyType ?? _bodyType;

    public PeriodicTaskOptions Options { get; }

    /// <summary>This addition with its body built on this node (throws <see cref="PeriodicTaskDefinitionException"/> when it cannot be).</summary>
    internal AddTask Built(Akka.Actor.ActorSystem system) =>
        Definition is not null ? this : new AddTask(TaskBodies.Build(Task, BodyType!, Options, system));
}

/// <summary>
/// Replaces a task's options (and its body, when <paramref name="Body"/> is given) from its next due run; its counters
/// stay. A run in flight ends under the old options.
/// </summary>
public sealed record UpdateTask(
    string Task, PeriodicTaskOptions Options, Func<PeriodicTaskContext, CancellationToken, ValueTask>? Body = null) : TaskChange(Task);

/// <summary>Removes a task: it never starts again; a run in flight ends normally.</summary>
public sealed record RemoveTask(string Task) : TaskChange(Task);

/// <summary>The answer to <see cref="ChangeTasks"/>: the names added, updated and removed.</summary>
public sealed record TasksChanged(string SetName, IReadOnlyList<string> Added, IReadOnlyList<string> Updated, IReadOnlyList<string> Removed);
