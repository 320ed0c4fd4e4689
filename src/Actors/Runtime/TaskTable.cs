using ActorScheduler.Configuration;
using ActorScheduler.Messages;
using ActorScheduler.Scheduling;
using ActorScheduler.Tasks;

namespace ActorScheduler.Runtime;

/// <summary>
/// INTERNAL API. A manager's tasks: one <see cref="TaskState"/> per task by index (a removed task keeps its slot until
/// its run ends), the name index, the skip table, lookups that suggest the closest name, changes checked whole and then
/// applied, and stats. Plain data, used from the manager's thread only.
/// </summary>
internal sealed class TaskTable
{
    private readonly string _setName;
    private readonly TimeSpan _interval;
    private readonly TaskScope _scope;
    private readonly List<TaskState> _tasks;
    private readonly Dictionary<string, int> _indexByName;
    private readonly List<bool> _removed;

    public TaskTable(string setName, IReadOnlyList<PeriodicTaskDefinition> tasks, TimeSpan interval, TaskScope scope, TaskSchedule schedule)
    {
        _setName = setName;
        _interval = interval;
        _scope = scope;
        _tasks = tasks.Select((t, i) => new TaskState(t, i, interval)).ToList();
        _indexByName = _tasks.ToDictionary(t => t.Name, t => t.Index, StringComparer.Ordinal);
        _removed = _tasks.ConvertAll(_ => false);
        Schedule = schedule;
    }

    /// <summary>
    /// The table of a set starting at <paramref name="start"/>: its first tick after initial-delay plus a
    /// <paramref name="fuzzy"/> delay drawn from [0, fuzzy-delay), then one every periodic-interval.
    /// </summary>
    public static TaskTable ForSet(
        string setName, IReadOnlyList<PeriodicTaskDefinition> tasks, PeriodicTaskSettings settings, TaskScope scope, DateTimeOffset start,
        out TimeSpan fuzzy)
    {
        fuzzy = settings.FuzzyDelay > TimeSpan.Zero ? TimeSpan.FromTicks((long)(Random.Shared.NextDouble() * settings.FuzzyDelay.Ticks)) : TimeSpan.Zero;
        var clock = new TickClock(settings.InitialDelay + fuzzy, settings.PeriodicInterval);
        return new TaskTable(setName, tasks, settings.PeriodicInterval, scope, new TaskSchedule(tasks.Select(t => t.Options).ToList(), clock, start));
    }

    public string SetName => _setName;

    /// <summary>The skip table: which task is due on which tick.</summary>
    public TaskSchedule Schedule { get; }

    /// <summary>Every slot, removed tasks' included.</summary>
    public IReadOnlyList<TaskState> All => _tasks;

    public TaskState this[int index] => _tasks[index];

    /// <summary>The tasks of the set (not removed), in definition order.</summary>
    public IEnumerable<TaskState> Live => _tasks.Where(IsLive);

    public int LiveCount => _indexByName.Count;

    /// <summary>True while <paramref name="task"/> belongs to the set (it was not removed).</summary>
    public bool IsLive(TaskState task) => !_removed[task.Index];

    public TaskState? Find(string name) => _indexByName.TryGetValue(name, out var index) ? _tasks[index] : null;

    /// <summary>The error for a task that is not there, naming the closest task.</summary>
    public PeriodicTaskNotFoundException NotFound(string name)
    {
        var closest = Suggestions.Closest(name, _indexByName.Keys);
        return new PeriodicTaskNotFoundException(_setName, name,
            $"no task named '{name}' in task set '{_setName}'{(closest is null ? "" : $"; did you mean '{closest}'?")}");
    }

    /// <summary>
    /// Checks every change against the set as it is and against the other changes of the request; throws
    /// <see cref="ArgumentException"/>, <see cref="PeriodicTaskDefinitionException"/> or
    /// <see cref="PeriodicTaskNotFoundException"/> for the first bad one.
    /// </summary>
    public void Check(IReadOnlyList<TaskChange> changes)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var change in changes)
        {
            ArgumentNullException.ThrowIfNull(change, nameof(changes));
            if (!seen.Add(change.Task))
                throw new ArgumentException($"task '{change.Task}' appears more than once in one change.", nameof(changes));
            switch (change)
            {
                case AddTask add:
                    if (_indexByName.ContainsKey(add.Task))
                        throw new ArgumentException($"task set '{_setName}' already has a task named '{add.Task}'.", nameof(changes));
                    CheckScope(add.Task, add.Options);
                    break;
                case UpdateTask update:
                    if (Find(update.Task) is not { } task)
                        throw NotFound(update.Task);
                    ArgumentNullException.ThrowIfNull(update.Options, nameof(changes));
                    OptionsValidation.Validate(Updated(task, update.Options), $"task '{update.Task}'");
                    break;
                case RemoveTask remove:
                    if (!_indexByName.ContainsKey(remove.Task))
                        throw NotFound(remove.Task);
                    break;
                default:
                    throw new ArgumentException($"unknown change {change.GetType().Name}.", nameof(changes));
            }
        }
    }

    /// <summary>
    /// The changes with their added tasks built on <paramref name="system"/> and checked (<see cref="Check"/>), or, when
    /// they are refused whole, why.
    /// </summary>
    public (IReadOnlyList<TaskChange> Changes, Exception? Refused) Checked(IReadOnlyList<TaskChange>? changes, Akka.Actor.ActorSystem system)
    {
        try
        {
            ArgumentNullException.ThrowIfNull(changes, nameof(ChangeTasks.Changes));
            var built = changes.Select(c => c is AddTask add ? add.Built(system) : c).ToList();
            Check(built);
            return (built, null);
        }
        catch (Exception e) when (e is PeriodicTaskDefinitionException or PeriodicTaskNotFoundException or ArgumentException)
        {
            return ([], e);
        }
    }

    /// <summary>
    /// Applies checked changes in order: the tasks added, updated (the caller replaces their runners) and removed. An
    /// added calendar task's first occurrence is the first after <paramref name="now"/> (the change's time from the start).
    /// </summary>
    public (List<TaskState> Added, List<TaskState> Updated, List<TaskState> Removed) Apply(IReadOnlyList<TaskChange> changes, long afterTick, TimeSpan? now = null)
    {
        var (added, updated, removed) = (new List<TaskState>(), new List<TaskState>(), new List<TaskState>());
        foreach (var change in changes)
        {
            switch (change)
            {
                case AddTask add:
                    added.Add(Add(add, afterTick, now));
                    break;
                case UpdateTask update:
                    updated.Add(Update(update, afterTick, now));
                    break;
                case RemoveTask remove:
                    removed.Add(Remove(remove.Task));
                    break;
            }
        }

        return (added, updated, removed);
    }

    /// <summary>Adds a checked task; it is first due after <paramref name="afterTick"/> by its options.</summary>
    public TaskState Add(AddTask add, long afterTick, TimeSpan? now = null)
    {
        var task = new TaskState(add.Definition!, _tasks.Count, _interval);
        _tasks.Add(task);
        _removed.Add(false);
        _indexByName.Add(task.Name, task.Index);
        Schedule.Add(add.Definition!.Options, afterTick, now);
        return task;
    }

    /// <summary>New options (and body) from the next due run on; the caller replaces the runner.</summary>
    public TaskState Update(UpdateTask update, long afterTick, TimeSpan? now = null)
    {
        var task = _tasks[_indexByName[update.Task]];
        var options = Updated(task, update.Options);
        var old = task.Definition;
        task.Redefine(update.Body is null
            ? old.WithOptions(options)
            : new PeriodicTaskDefinition(task.Name, options, update.Body, old.Source), _interval);
        Schedule.Update(task.Index, options, afterTick, now);
        if (options.Overlap == OverlapMode.Skip)
            task.Pending = null;
        return task;
    }

    /// <summary>The task leaves the set and is never due again; its slot stays for its run in flight.</summary>
    public TaskState Remove(string name)
    {
        var task = _tasks[_indexByName[name]];
        _indexByName.Remove(name);
        _removed[task.Index] = true;
        Schedule.Remove(task.Index);
        task.Pending = null;
        return task;
    }

    /// <summary>
    /// A task's stats; its next due tick and time only while the set dispatches. A calendar task's time is its next
    /// occurrence on the wall clock, and its tick the one before it (the number its run will carry).
    /// </summary>
    public TaskStats StatsOf(TaskState task, bool dispatching, StoreLink store, DateTimeOffset start)
    {
        var next = dispatching ? Schedule.NextDueTick(task.Index) : null;
        DateTimeOffset? at = next is null ? null
            : Schedule.IsCalendar(task.Index) ? Schedule.WallAt(Schedule.NextDueOffset(task.Index)!.Value)
            : start + Schedule.Clock.OffsetOf(next.Value);
        return task.Counters.ToStats(
            task.Name,
            task.Schedule,
            !task.Definition.Options.IsDisabled,
            task.InFlight,
            next is { } tick ? store.Outside(tick) : null,
            at,
            task.Pause);
    }

    private void CheckScope(string task, PeriodicTaskOptions options)
    {
        if (options.Scope != _scope)
            throw new PeriodicTaskDefinitionException(_scope == TaskScope.Node
                ? $"task '{task}': scope = cluster tasks run in the cluster package's singleton; this set runs scope = node tasks."
                : $"task '{task}': this cluster singleton runs scope = cluster tasks, not scope = node ones.");
        // A cluster manager runs the tasks of one role (its singleton lives on the nodes of that role).
        if (_scope == TaskScope.Cluster && _tasks.Count > 0 && _tasks[0].Definition.Options.Role is var role && options.Role != role)
            throw new PeriodicTaskDefinitionException(
                $"task '{task}': role = \"{options.Role}\", but this cluster manager runs the tasks of {(role.Length == 0 ? "no role" : $"role \"{role}\"")}: add it through the set's client, which sends it to its role's.");
    }

    /// <summary>
    /// The options an update gives <paramref name="task"/>: a task keeps its scope and role (it cannot move between this
    /// node and the cluster while the set runs); options that ask for another scope or role are refused.
    /// </summary>
    private static PeriodicTaskOptions Updated(TaskState task, PeriodicTaskOptions options)
    {
        var current = task.Definition.Options;
        if ((options.Scope, options.Role) != (current.Scope, current.Role) && (options.Scope, options.Role) != (TaskScope.Node, ""))
            throw new PeriodicTaskDefinitionException(
                $"task '{task.Name}': scope and role cannot change while the set runs (remove the task and add it where it belongs).");
        return options with { Scope = current.Scope, Role = current.Role };
    }
}
