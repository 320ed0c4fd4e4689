namespace ActorScheduler.Tasks;

/// <summary>One task as declared: its name, options and body, and where it was declared (for error messages).</summary>
internal sealed class PeriodicTaskDefinition
{
    public PeriodicTaskDefinition(
        string name, PeriodicTaskOptions options, Func<PeriodicTaskContext, CancellationToken, ValueTask> body, string source,
        string? bodyType = null)
    {
        if (string.IsNullOrWhiteSpace(name))
            throw new PeriodicTaskDefinitionException($"{source}: a task needs a non-empty name.");
        Name = name;
        Options = options ?? throw new ArgumentNullException(nameof(options));
        Body = body ?? throw new ArgumentNullException(nameof(body));
        Source = source;
        BodyType = bodyType;
    }

    public string Name { get; }

    public PeriodicTaskOptions Options { get; }

    /// <summary>The task body. The task runner calls it off the actor thread.</summary>
    public Func<PeriodicTaskContext, CancellationToken, ValueTask> Body { get; }

    /// <summary>Where the task was declared, e.g. "method ComputeManager.SyncPowerStates" or "code".</summary>
    public string Source { get; }

    /// <summary>
    /// The <see cref="IPeriodicTask"/> type the body is built from (<see cref="TaskBodies"/>), or null for a body given as
    /// a delegate: only a named body can be rebuilt elsewhere or later.
    /// </summary>
    public string? BodyType { get; }

    /// <summary>A task declared in code; its options are checked now (default: every tick).</summary>
    public static PeriodicTaskDefinition FromCode(
        string name, Func<PeriodicTaskContext, CancellationToken, ValueTask> body, PeriodicTaskOptions? options = null)
    {
        var source = $"task '{name}' added in code";
        options ??= PeriodicTaskOptions.Default;
        OptionsValidation.Validate(options, source);
        return new PeriodicTaskDefinition(name, options, body, source);
    }

    public PeriodicTaskDefinition WithOptions(PeriodicTaskOptions options) => new(Name, options, Body, Source, BodyType);
}
