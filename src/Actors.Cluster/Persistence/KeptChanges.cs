using System.Security.Cryptography;
using System.Text.Json;
using ActorScheduler.Runtime;
using ActorScheduler.Tasks;
using Akka.Actor;
using Akka.Event;

namespace ActorScheduler.Persistence;

/// <summary>
/// INTERNAL API. The rules by which a keeper keeps the changes made at run time and puts them back when its set starts
/// again: one <see cref="ChangeRecorded"/> per changed task, made over the set's own definition of the task; a change
/// whose body is a delegate is not kept (the task is then as the set defines it), nor one made over a definition that
/// has changed since (docs/control.md, "Changes that last").
/// </summary>
internal sealed class KeptChanges(string setName, IReadOnlyList<PeriodicTaskDefinition> own)
{
    public const string Add = "add";
    public const string Update = "update";
    public const string Remove = "remove";
    public const string Configured = "configured";

    private readonly Dictionary<string, PeriodicTaskDefinition> _own = own.ToDictionary(t => t.Name, StringComparer.Ordinal);
    private readonly Dictionary<string, string> _bases = new(StringComparer.Ordinal);

    /// <summary>What identifies the set's own definition of <paramref name="task"/>: a hash of its options; null when it has none.</summary>
    public string? BaseOf(string task)
    {
        if (!_own.TryGetValue(task, out var definition))
            return null;
        if (!_bases.TryGetValue(task, out var hash))
            _bases[task] = hash = Convert.ToHexString(SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(definition.Options)))[..16];
        return hash;
    }

    /// <summary>
    /// The record that <paramref name="change"/> leaves for its task, folded into what <paramref name="state"/> keeps
    /// already; null when nothing changes on record.
    /// </summary>
    public ChangeRecorded? Fold(TaskChangeReport change, ScheduleState state, DateTimeOffset at)
    {
        var kept = state.Changes.GetValueOrDefault(change.Task);
        var @base = BaseOf(change.Task);
        ChangeRecorded? Record(string kind, PeriodicTaskDefinition? definition = null, string? bodyType = null) =>
            new(change.Task, kind, @base, definition?.Options, bodyType ?? definition?.BodyType, at);
        ChangeRecorded? AsConfigured() => kept is null ? null : Record(Configured);

        if (!change.Keep)
            return AsConfigured();
        return change.Kind switch
        {
            TaskChangeKind.Add => Record(Add, change.Definition),
            TaskChangeKind.Update when kept is { Kind: Add } => Record(Add, change.Definition, kept.BodyType),
            TaskChangeKind.Update when @base is null => AsConfigured(), // a task added with a delegate body
            TaskChangeKind.Update => Record(Update, change.Definition),
            _ when @base is null => AsConfigured(), // removed: what was added is gone
            _ => Record(Remove),
        };
    }

    /// <summary>
    /// The tasks to start with: the set's own with the kept changes applied, in the set's order, then the tasks added;
    /// null when nothing is kept (or nothing is left). Changes that no longer apply go to <paramref name="dropped"/> as
    /// <see cref="Configured"/> records; a body this node cannot build is logged and its task left as the set has it.
    /// </summary>
    public IReadOnlyList<PeriodicTaskDefinition>? Restore(
        ScheduleState state, ActorSystem system, ILoggingAdapter log, List<ChangeRecorded> dropped, DateTimeOffset at)
    {
        if (state.Changes.Count == 0)
            return null;
        foreach (var change in state.Changes.Values.ToList())
        {
            if (change.Base == BaseOf(change.Task) && (change.Kind != Update || change.Base is not null))
                continue;
            log.Info("{0}.{1}: the change made at run time ({2}, {3:O}) is dropped: the set defines the task differently since",
                setName, change.Task, change.Kind, change.At);
            dropped.Add(change with { Kind = Configured, At = at });
            state.Changes.Remove(change.Task);
        }

        if (state.Changes.Count == 0)
            return null; // every change was dropped: the set's own tasks

        var tasks = new List<PeriodicTaskDefinition>(_own.Count + state.Changes.Count);
        foreach (var definition in own)
        {
            if (!state.Changes.TryGetValue(definition.Name, out var change))
                tasks.Add(definition);
            else if (change.Kind != Remove)
                tasks.Add(Built(change, definition, system, log)!);
        }

        foreach (var change in state.Changes.Values)
            if (!_own.ContainsKey(change.Task) && Built(change, null, system, log) is { } added)
                tasks.Add(added);
        log.Info("{0}: {1} changes made at run time kept", setName, state.Changes.Count);
        return tasks;
    }

    /// <summary>A kept add or update, built on this node; the set's own definition (or nothing) when its body cannot be.</summary>
    private PeriodicTaskDefinition? Built(ChangeRecorded change, PeriodicTaskDefinition? own, ActorSystem system, ILoggingAdapter log)
    {
        var options = change.Options ?? own?.Options ?? PeriodicTaskOptions.Default;
        if (change.BodyType is null)
            return own?.WithOptions(options);
        try
        {
            return TaskBodies.Build(change.Task, change.BodyType, options, system);
        }
        catch (PeriodicTaskDefinitionException e)
        {
            log.Error("{0}.{1}: the task kept from a change made at run time cannot start here: {2}", setName, change.Task, e.Message);
            return own;
        }
    }
}
