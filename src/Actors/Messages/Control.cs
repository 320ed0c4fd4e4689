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
}

/// <summary>One change of a <see cref="ChangeTasks"/>.</summary>
public abstract record TaskChange(string Task);

/// <summary>Adds a task; it counts as if the set had started on the tick after the change.</summary>
public sealed record AddTask : TaskChange
{
    public AddTask(string task, Func<PeriodicTaskContext, CancellationToken, ValueTask> body, PeriodicTaskOptions? options = null)
        : this(PeriodicTaskDefinition.FromCode(task, body, options))
    {
    }

    internal AddTask(PeriodicTaskDefinition definition)
        : base(definition.Name) =>
        Definition = definition;

    internal PeriodicTaskDefinition Definition { get; }

    public PeriodicTaskOptions Options => Definition.Options;
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
