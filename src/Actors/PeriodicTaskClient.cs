using ActorScheduler.Configuration;
using ActorScheduler.Messages;
using ActorScheduler.Runtime;
using ActorScheduler.Tasks;
using Akka.Actor;
using Akka.Hosting;

namespace ActorScheduler;

/// <summary>
/// The typed way for an application to query and control a running task set: stats, pause, resume, trigger, and
/// changes at run time. Every method waits for the set within <see cref="Timeout"/> (a set not started yet, or a
/// cluster singleton not reachable yet, answers as soon as it can) and returns its answer, or throws a clear error:
/// <see cref="PeriodicTaskNotFoundException"/> (unknown task), <see cref="PeriodicTaskDefinitionException"/> (invalid
/// options), <see cref="TaskSetNotReadyException"/> (no answer in time), <see cref="TaskSetUnavailableException"/>
/// (the set is stopping or halted). See docs/control.md.
/// </summary>
public class PeriodicTaskClient
{
    /// <summary>The timeout when none is given: 10 seconds.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    private readonly Func<CancellationToken, Task<TaskSetManagers.Report>> _managers;

    /// <summary>A client of the set whose manager is <paramref name="manager"/> (what StartPeriodicTasks returned).</summary>
    public PeriodicTaskClient(IActorRef manager, TimeSpan? timeout = null)
        : this(Fixed(manager ?? throw new ArgumentNullException(nameof(manager))), timeout)
    {
    }

    /// <summary>
    /// A client of a set made of several managers (a cluster set: this node's manager first, then the cluster
    /// singletons' proxies or sharded tasks, by role). Changes and controls go to the manager that has the task; an added
    /// task goes to this node's manager, or, a cluster task, to its role's.
    /// </summary>
    internal PeriodicTaskClient(Func<CancellationToken, Task<TaskSetManagers.Report>> managers, TimeSpan? timeout)
    {
        _managers = managers;
        Timeout = timeout ?? DefaultTimeout;
        if (Timeout <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(timeout), "the timeout must be > 0.");
    }

    /// <summary>How long each call waits for the set's answer.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>Every task's statistics, in registration order (in a cluster set: this node's tasks, then the cluster tasks).</summary>
    public Task<TaskStatsReport> GetStatsAsync(CancellationToken cancellationToken = default) =>
        Call(async (managers, ct) => Merge(await Reports(managers, ct).ConfigureAwait(false)), cancellationToken);

    /// <summary>One task's statistics.</summary>
    public Task<TaskStats> GetTaskAsync(string task, CancellationToken cancellationToken = default) =>
        Call(async (managers, ct) =>
        {
            var report = Merge(await Reports(managers, ct).ConfigureAwait(false));
            return report.Tasks.FirstOrDefault(t => t.Task == task) ?? throw NotFound(report, task);
        }, cancellationToken);

    /// <summary>
    /// The recent runs of <paramref name="task"/>, newest first, as its set's state store keeps them (empty and not
    /// <see cref="RecentRunsReport.Kept"/> for a set without a store).
    /// </summary>
    public Task<RecentRunsReport> GetRecentRunsAsync(string task, CancellationToken cancellationToken = default) =>
        Send<RecentRunsReport>(task, new GetRecentRuns(task), cancellationToken);

    /// <summary>
    /// A page of <paramref name="task"/>'s run history, newest first: at most <paramref name="limit"/> runs (1 to
    /// <see cref="GetRuns.MaxLimit"/>) that started before <paramref name="before"/> (null: the newest). Pass the page's
    /// <see cref="RunsPage.Next"/> as <paramref name="before"/> for the next page (docs/control.md, "Run history").
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">the limit is out of range (thrown at once).</exception>
    public Task<RunsPage> GetRunsAsync(
        string task, DateTimeOffset? before = null, int limit = GetRuns.DefaultLimit, CancellationToken cancellationToken = default)
    {
        if (limit is < 1 or > GetRuns.MaxLimit)
            throw new ArgumentOutOfRangeException(nameof(limit), limit, $"the limit must be between 1 and {GetRuns.MaxLimit}.");
        return Send<RunsPage>(task, new GetRuns(task, before, limit), cancellationToken);
    }

    /// <summary>
    /// The set's runs and failures (failed or timed out) per minute since <paramref name="since"/> (at most a day back),
    /// summed over its managers (in a cluster set: this node's tasks and the cluster tasks).
    /// </summary>
    public Task<RunCountsReport> GetRunCountsAsync(DateTimeOffset since, CancellationToken cancellationToken = default) =>
        Call(async (managers, ct) =>
        {
            var reports = await Task.WhenAll(managers.Select(m => Ask<RunCountsReport>(m, new GetRunCounts(since), ct))).ConfigureAwait(false);
            return reports.Length == 1 ? reports[0] : RunCounts.Sum(reports[0].SetName, reports);
        }, cancellationToken);

    /// <summary>Pauses <paramref name="task"/>, with an optional note and a time at which the pause ends by itself.</summary>
    public Task<TaskStats> PauseAsync(string task, string? note = null, DateTimeOffset? until = null, CancellationToken cancellationToken = default) =>
        Send<TaskStats>(task, new PauseTask(task, note, until), cancellationToken);

    /// <summary>Resumes <paramref name="task"/> (a task that is not paused stays as it is).</summary>
    public Task<TaskStats> ResumeAsync(string task, CancellationToken cancellationToken = default) =>
        Send<TaskStats>(task, new ResumeTask(task), cancellationToken);

    /// <summary>
    /// Runs <paramref name="task"/> now, as if it were due on the current tick; <see cref="TaskTriggered.Started"/> is
    /// false when a run in flight made it an overrun (overlap = skip).
    /// </summary>
    public Task<TaskTriggered> TriggerAsync(string task, CancellationToken cancellationToken = default) =>
        Send<TaskTriggered>(task, new TriggerTask(task), cancellationToken);

    /// <summary>Adds a task to the running set.</summary>
    /// <exception cref="PeriodicTaskDefinitionException">the name or the options are invalid (thrown at once).</exception>
    public Task<TasksChanged> AddAsync(
        string task, Func<PeriodicTaskContext, CancellationToken, ValueTask> body, PeriodicTaskOptions? options = null,
        CancellationToken cancellationToken = default) =>
        ChangeAsync([new AddTask(task, body, options)], cancellationToken);

    /// <summary>
    /// Adds a task whose body is a new <typeparamref name="TTask"/> for each run: it can go to a cluster singleton on
    /// another node and, with a state store, comes back after a restart (docs/control.md, "Changes that last").
    /// </summary>
    /// <exception cref="PeriodicTaskDefinitionException">the name or the options are invalid (thrown at once), or the node that runs the set cannot build the body.</exception>
    public Task<TasksChanged> AddAsync<TTask>(string task, PeriodicTaskOptions? options = null, CancellationToken cancellationToken = default)
        where TTask : class, IPeriodicTask =>
        ChangeAsync([AddTask.Of<TTask>(task, options)], cancellationToken);

    /// <summary>Replaces a task's options from its next due run; its counters stay.</summary>
    public Task<TasksChanged> UpdateAsync(string task, PeriodicTaskOptions options, CancellationToken cancellationToken = default) =>
        ChangeAsync([new UpdateTask(task, options)], cancellationToken);

    /// <summary>Removes a task; its run in flight, if any, ends normally.</summary>
    public Task<TasksChanged> RemoveAsync(string task, CancellationToken cancellationToken = default) =>
        ChangeAsync([new RemoveTask(task)], cancellationToken);

    /// <summary>Applies several changes at once: all of them, or none (and then the set is exactly as it was).</summary>
    public Task<TasksChanged> ChangeAsync(IReadOnlyList<TaskChange> changes, CancellationToken cancellationToken = default) =>
        ChangeAsync(new ChangeTasks(changes ?? throw new ArgumentNullException(nameof(changes))), cancellationToken);

    /// <summary>Sends <paramref name="request"/> to the manager its changes concern.</summary>
    internal Task<TasksChanged> ChangeAsync(ChangeTasks request, CancellationToken cancellationToken = default)
    {
        var changes = request.Changes;
        return Call(async (set, ct) =>
        {
            var managers = set.Managers;
            var target = managers[0];
            if (managers.Count > 1)
            {
                // The manager of each updated or removed task; an added task goes to this node's manager, or, a
                // cluster task, to its role's cluster tasks.
                var (owners, _) = await Owners(managers, ct).ConfigureAwait(false);
                var targets = changes.Select(c => c is AddTask add
                    ? add.Options.Scope == TaskScope.Cluster ? RoleManager(set, add) : managers[0]
                    : owners.GetValueOrDefault(c.Task, managers[0])).Distinct().ToList();
                if (targets.Count > 1)
                    throw new ArgumentException("these changes concern tasks of different managers (node tasks, cluster tasks of different roles): send them separately.", nameof(changes));
                target = targets.Count == 1 ? targets[0] : target;
            }

            return await Ask<TasksChanged>(target, request, ct).ConfigureAwait(false);
        }, cancellationToken);
    }

    private Task<T> Send<T>(string task, object message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(task);
        return Call(async (managers, ct) =>
        {
            var target = managers[0];
            if (managers.Count > 1)
            {
                var (owners, report) = await Owners(managers, ct).ConfigureAwait(false);
                if (!owners.TryGetValue(task, out target!))
                    throw NotFound(report, task);
            }

            try
            {
                return await Ask<T>(target, message, ct).ConfigureAwait(false);
            }
            catch (RefusedRemotelyException)
            {
                // The reason did not cross the network: an unknown name is the usual one, and the stats tell.
                var report = Merge(await Reports(managers, ct).ConfigureAwait(false));
                if (report.Tasks.All(t => t.Task != task))
                    throw NotFound(report, task);
                throw new InvalidOperationException(
                    $"the task set '{report.SetName}' refused {message.GetType().Name} for '{task}' on another node, and the reason did not cross the network: " +
                    "see that node's log (for example, the set is stopping).");
            }
        }, cancellationToken);
    }

    /// <summary>The manager of the cluster tasks of <paramref name="add"/>'s role.</summary>
    /// <exception cref="ArgumentException">the set has no cluster tasks of that role.</exception>
    private static IActorRef RoleManager(TaskSetManagers.Report set, AddTask add)
    {
        for (var i = 0; i < set.ClusterRoles.Count; i++)
            if (set.ClusterRoles[i] == add.Options.Role && i + 1 < set.Managers.Count)
                return set.Managers[i + 1];
        var role = add.Options.Role.Length == 0 ? "without a role" : $"of role \"{add.Options.Role}\"";
        var roles = set.ClusterRoles.Count == 0
            ? "it has none"
            : "it has " + string.Join(", ", set.ClusterRoles.Select(r => r.Length == 0 ? "tasks without a role" : $"role \"{r}\""));
        throw new ArgumentException(
            $"task '{add.Task}': the set has no cluster tasks {role} at its start, so nothing runs such a task ({roles}): " +
            "define one in the set every node starts, or choose one of those roles.", nameof(add));
    }

    /// <summary>Runs <paramref name="call"/> with the set's managers, within <see cref="Timeout"/>.</summary>
    private Task<T> Call<T>(Func<IReadOnlyList<IActorRef>, CancellationToken, Task<T>> call, CancellationToken cancellationToken) =>
        Call<T>((set, ct) => call(set.Managers, ct), cancellationToken);

    /// <summary>Runs <paramref name="call"/> with the set's managers and their roles, within <see cref="Timeout"/>.</summary>
    private async Task<T> Call<T>(Func<TaskSetManagers.Report, CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(Timeout);
        TaskSetManagers.Report set;
        try
        {
            set = await _managers(deadline.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TaskSetNotReadyException(
                $"the task set is not started yet: its actors were not registered within {Durations.Format(Timeout)} (has the ActorSystem started?).", e);
        }

        try
        {
            return await call(set, deadline.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is AskTimeoutException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw new TaskSetNotReadyException(
                $"the task set did not answer within {Durations.Format(Timeout)}: it is not ready yet (in a cluster: this node is not " +
                "Up yet, or the cluster singleton is being handed over), or it has stopped.", e);
        }
    }

    private static async Task<T> Ask<T>(IActorRef target, object message, CancellationToken ct)
    {
        try
        {
            return await target.Ask<T>(message, ct).ConfigureAwait(false);
        }
        catch (TaskCanceledException e) when (!ct.IsCancellationRequested)
        {
            // A Status.Failure whose exception was lost crossing the network (a cluster singleton on another node).
            throw new RefusedRemotelyException(e);
        }
    }

    /// <summary>A refusal from a manager on another node whose exception did not survive serialization.</summary>
    private sealed class RefusedRemotelyException(Exception inner) : InvalidOperationException(
        "the task set refused the request on another node, and the reason did not cross the network: see that node's log.", inner);

    private static async Task<TaskStatsReport[]> Reports(IReadOnlyList<IActorRef> managers, CancellationToken ct) =>
        await Task.WhenAll(managers.Select(m => Ask<TaskStatsReport>(m, GetTaskStats.Instance, ct))).ConfigureAwait(false);

    /// <summary>The manager of each task, and the merged stats they were read from.</summary>
    private static async Task<(Dictionary<string, IActorRef> Owners, TaskStatsReport Report)> Owners(IReadOnlyList<IActorRef> managers, CancellationToken ct)
    {
        var reports = await Reports(managers, ct).ConfigureAwait(false);
        var owners = new Dictionary<string, IActorRef>(StringComparer.Ordinal);
        for (var i = 0; i < managers.Count; i++)
            foreach (var task in reports[i].Tasks)
                owners.TryAdd(task.Task, managers[i]);
        return (owners, Merge(reports));
    }

    private static TaskStatsReport Merge(TaskStatsReport[] reports) =>
        reports.Length == 1 ? reports[0] : new TaskStatsReport(reports[0].SetName, reports[0].CurrentTick, reports.SelectMany(r => r.Tasks).ToList());

    private static PeriodicTaskNotFoundException NotFound(TaskStatsReport report, string task)
    {
        var closest = Suggestions.Closest(task, report.Tasks.Select(t => t.Task).ToList());
        return new PeriodicTaskNotFoundException(report.SetName, task,
            $"no task named '{task}' in task set '{report.SetName}'{(closest is null ? "" : $"; did you mean '{closest}'?")}");
    }

    private static Func<CancellationToken, Task<TaskSetManagers.Report>> Fixed(IActorRef manager)
    {
        var set = new TaskSetManagers.Report([manager], []);
        return _ => Task.FromResult(set);
    }
}

/// <summary>
/// The client of the task set registered in Akka.Hosting's ActorRegistry under <typeparamref name="TKey"/> (the manager
/// class of WithPeriodicTasks&lt;TManager&gt;, or the key type of WithPeriodicTasks&lt;TKey&gt;(name, ...)). Resolved from
/// DI once <see cref="Hosting.PeriodicTaskClientServices.AddPeriodicTaskClients"/> was called; it waits for the set
/// to be registered (the ActorSystem starts after DI is built) within its timeout.
/// </summary>
public sealed class PeriodicTaskClient<TKey> : PeriodicTaskClient
{
    public PeriodicTaskClient(ActorRegistry registry)
        : base(Managers(registry ?? throw new ArgumentNullException(nameof(registry))), null)
    {
    }

    private static Func<CancellationToken, Task<TaskSetManagers.Report>> Managers(ActorRegistry registry) =>
        async ct =>
        {
            var manager = registry.TryGet<TKey>(out var ready) ? ready : await registry.GetAsync<TKey>(ct).ConfigureAwait(false);
            if (!registry.TryGet<TaskSetManagers.Of<TKey>>(out var managers))
                return new TaskSetManagers.Report([manager], []);
            return await managers.Ask<TaskSetManagers.Report>(TaskSetManagers.Get.Instance, ct).ConfigureAwait(false);
        };
}

/// <summary>
/// INTERNAL API. How the client of a set made of several managers (a cluster set: this node's manager, then each role's
/// singleton proxy or sharded tasks) finds them: an actor registered under <see cref="Of{TKey}"/> before the key itself
/// answers <see cref="Get"/> with a <see cref="Report"/>, or with a failure while the node's set differs from the
/// cluster's.
/// </summary>
internal static class TaskSetManagers
{
    /// <summary>The registry key of the actor that lists the managers of the set registered under <typeparamref name="TKey"/>.</summary>
    public abstract class Of<TKey>;

    public sealed record Get
    {
        public static readonly Get Instance = new();
    }

    /// <summary>This node's manager first, then those of the cluster tasks, one per role: <paramref name="ClusterRoles"/>[i] is the role of Managers[i + 1].</summary>
    public sealed record Report(IReadOnlyList<IActorRef> Managers, IReadOnlyList<string> ClusterRoles);
}
