using System.Runtime.InteropServices;
using System.Threading.Channels;
using ActorScheduler.Host.Configuration;
using ActorScheduler.Messages;
using ActorScheduler.Tasks;
using Akka.Actor;
using Akka.Configuration;
using Microsoft.Extensions.Logging;

namespace ActorScheduler.Host.Running;

/// <summary>
/// SIGHUP during <c>run</c> (docs/host.md, "Reloading the configuration"): re-reads the --config file the way the start
/// did, and applies the difference of its node-scoped tasks in one <see cref="ChangeTasks"/> through a
/// <see cref="PeriodicTaskClient"/>, so that it lands whole or not at all. A file with any mistake, or with a change
/// that only a restart can apply (a top-level setting, a cluster-scoped task), is refused whole and every task runs on
/// as it was. Reloads run one at a time: a SIGHUP during a reload is queued (several coalesce into one).
/// </summary>
internal sealed class ConfigReloader : IDisposable
{
    private readonly Channel<bool> _requests = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly PosixSignalRegistration _sighup;
    private HostPlan _current;
    private volatile ILogger? _log;
    private IActorRef? _reporter;
    private PeriodicTaskClient? _client;
    private volatile bool _reloading;

    public ConfigReloader(HostPlan plan)
    {
        _current = plan;
        _sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
        {
            context.Cancel = true;
            // One reload at most waits: a SIGHUP while one waits joins it, one during a reload queues the next.
            var queued = _requests.Reader.Count > 0;
            _requests.Writer.TryWrite(true); // dropped when one waits (DropWrite)
            if (queued)
                _log?.LogInformation("SIGHUP: a reload is already queued; this signal joins it");
            else if (_reloading)
                _log?.LogInformation("SIGHUP: a reload is under way; one more follows it, of the file as it is then");
        });
    }

    /// <summary>Serves the SIGHUPs (also those that came while the set was starting) until <paramref name="stopping"/>.</summary>
    /// <param name="manager">The node-scoped manager, where the changes go.</param>
    /// <param name="reporter">Writes the reloaded and reload-failed events.</param>
    /// <param name="log">The host's log.</param>
    /// <param name="stopping">Cancelled when run stops: a queued reload is dropped, one under way ends first.</param>
    public async Task ServeAsync(IActorRef manager, IActorRef reporter, ILogger log, CancellationToken stopping)
    {
        _client = new PeriodicTaskClient(manager);
        _reporter = reporter;
        _log = log;
        try
        {
            while (await _requests.Reader.WaitToReadAsync(stopping).ConfigureAwait(false))
            {
                _reloading = true;
                _requests.Reader.TryRead(out _);
                try
                {
                    // Off the thread that delivered the signal: a reload blocked reading its file must not hold up
                    // the handling of the next SIGHUP, nor of SIGINT and SIGTERM.
                    await Task.Run(ReloadAsync, CancellationToken.None).ConfigureAwait(false);
                }
                finally
                {
                    _reloading = false;
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
    }

    private async Task ReloadAsync()
    {
        var source = _current.Source.Source;
        try
        {
            if (_current.Source.IsBuiltIn)
                throw new ReloadRefusedException("SIGHUP: the built-in demo has no file to re-read; start run with --config FILE to reload it.");
            var next = HostPlan.Build(ConfigLoader.Load(source));
            var (changes, added, updated, removed) = Difference(_current, next);
            if (changes.Count > 0)
                await _client!.ChangeAsync(new ChangeTasks(changes) { FromConfiguration = true }).ConfigureAwait(false);
            _current = next;
            _log!.LogInformation("SIGHUP: reloaded {Source}: {Added} added, {Updated} updated, {Removed} removed",
                source, Names(added), Names(updated), Names(removed));
            _reporter!.Tell(new RunReporter.Reloaded(DateTimeOffset.UtcNow, added, updated, removed));
        }
        catch (Exception e)
        {
            var error = ConfigLoader.OneLine(e.Message);
            _log!.LogError("SIGHUP: reload of {Source} refused, every task runs on unchanged: {Error}", source, error);
            _reporter!.Tell(new RunReporter.ReloadFailed(DateTimeOffset.UtcNow, error));
        }
    }

    private static string Names(IReadOnlyList<string> names) => names.Count == 0 ? "none" : string.Join(", ", names);

    /// <summary>
    /// The changes that turn <paramref name="current"/>'s node-scoped tasks into <paramref name="next"/>'s: new names
    /// added, missing names removed, changed options or commands updated (with the new command as the body).
    /// </summary>
    /// <exception cref="ReloadRefusedException">a change that only a restart can apply.</exception>
    internal static (List<TaskChange> Changes, List<string> Added, List<string> Updated, List<string> Removed) Difference(HostPlan current, HostPlan next)
    {
        if (Differences(Settings(current.Source.Config), Settings(next.Source.Config)) is { Count: > 0 } keys)
            throw new ReloadRefusedException(
                $"{string.Join(", ", keys.Take(3))}{(keys.Count > 3 ? ", ..." : "")}: changed, and only tasks under actor-scheduler.tasks " +
                "change at run time; restart the host to apply it.");
        var clusterNow = current.Tasks.Where(t => t.Options.Scope == TaskScope.Cluster).ToList();
        var clusterNext = next.Tasks.Where(t => t.Options.Scope == TaskScope.Cluster).ToList();
        foreach (var task in clusterNow.Concat(clusterNext))
        {
            var before = clusterNow.FirstOrDefault(t => t.Name == task.Name);
            var after = clusterNext.FirstOrDefault(t => t.Name == task.Name);
            if (before is null || after is null || before.Options != after.Options || !SameCommand(current, next, task.Name))
                throw new ReloadRefusedException(
                    $"actor-scheduler.tasks.{task.Name}: a cluster-scoped task cannot change at run time (every node must run the same definition of it); restart the nodes to apply it.");
        }

        var now = current.NodeTasks.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var changes = new List<TaskChange>();
        List<string> added = [], updated = [], removed = [];
        foreach (var task in next.NodeTasks)
        {
            if (!now.TryGetValue(task.Name, out var running))
            {
                changes.Add(new AddTask(task.Name, task.Body, task.Options));
                added.Add(task.Name);
            }
            else if (!SameCommand(current, next, task.Name))
            {
                changes.Add(new UpdateTask(task.Name, task.Options, task.Body));
                updated.Add(task.Name);
            }
            else if (running.Options != task.Options)
            {
                changes.Add(new UpdateTask(task.Name, task.Options));
                updated.Add(task.Name);
            }
        }

        foreach (var task in current.NodeTasks.Where(t => next.NodeTasks.All(n => n.Name != t.Name)))
        {
            changes.Add(new RemoveTask(task.Name));
            removed.Add(task.Name);
        }

        return (changes, added, updated, removed);
    }

    private static bool SameCommand(HostPlan current, HostPlan next, string name) =>
        current.Commands.TryGetValue(name, out var before) == next.Commands.TryGetValue(name, out var after)
        && (before is null || before.SameAs(after!));

    /// <summary>Every setting outside actor-scheduler.tasks, by its full path, as HOCON text.</summary>
    private static SortedDictionary<string, string> Settings(Config config)
    {
        var settings = new SortedDictionary<string, string>(StringComparer.Ordinal);
        if (!config.IsEmpty)
            Flatten(config.Root, "", settings);
        return settings;
    }

    private static void Flatten(Akka.Configuration.Hocon.HoconValue value, string path, SortedDictionary<string, string> into)
    {
        if (path == "actor-scheduler.tasks")
            return;
        if (!value.IsObject())
        {
            into[path] = value.ToString();
            return;
        }

        foreach (var (key, inner) in value.GetObject().Items)
            Flatten(inner, path.Length == 0 ? key : $"{path}.{key}", into);
    }

    private static List<string> Differences(SortedDictionary<string, string> before, SortedDictionary<string, string> after) =>
        before.Keys.Union(after.Keys).Order(StringComparer.Ordinal)
            .Where(k => !before.TryGetValue(k, out var a) || !after.TryGetValue(k, out var b) || a != b).ToList();

    public void Dispose() => _sighup.Dispose();
}

/// <summary>A reload that cannot be applied at run time (the message says why, and what to do instead).</summary>
internal sealed class ReloadRefusedException(string message) : Exception(message);
