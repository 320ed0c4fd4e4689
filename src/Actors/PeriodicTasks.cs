using ActorScheduler.Configuration;
using ActorScheduler.Messages;
using ActorScheduler.Runtime;
using ActorScheduler.Scheduling;
using ActorScheduler.Tasks;
using Akka.Actor;

namespace ActorScheduler;

/// <summary>The plain Akka API: start a task set, or make its manager's Props for a TestKit tick test.</summary>
public static class PeriodicTasks
{
    /// <summary>
    /// Starts <paramref name="set"/> as /user/periodic-tasks-NAME with settings read from the system's configuration
    /// (reference.conf as fallback), and stops it gracefully in CoordinatedShutdown. Send it GetTaskStats, TriggerTask
    /// or StopTasks.
    /// </summary>
    /// <exception cref="PeriodicTaskConfigurationException">a configuration mistake, naming its path.</exception>
    public static IActorRef StartPeriodicTasks(this ActorSystem system, PeriodicTaskSet set)
    {
        ArgumentNullException.ThrowIfNull(system);
        ArgumentNullException.ThrowIfNull(set);
        var start = SetStart.Now(system);
        var settings = PeriodicTaskSettings.Create(system.Settings.Config, set.Name);
        return Start(system, system, set.Name, ManagerProps(set, settings, withTicker: true, start), settings.ShutdownTimeout, stopOnCoordinatedShutdown: true);
    }

    /// <summary>
    /// Props of the manager of <paramref name="set"/>, to create it yourself (under your own supervisor, or in a test).
    /// With <paramref name="withTicker"/> false nothing ticks: send <see cref="Testing.Tick"/> yourself, numbers increasing.
    /// </summary>
    /// <exception cref="PeriodicTaskConfigurationException">a configuration mistake, naming its path.</exception>
    public static Props Props(PeriodicTaskSet set, PeriodicTaskSettings settings, bool withTicker = true) =>
        ManagerProps(set, settings, withTicker, start: null);

    /// <summary>The conventional actor name of a set's manager: periodic-tasks-NAME.</summary>
    public static string ActorName(string setName) => PeriodicTaskManager.ActorName(setName);

    /// <summary>Resolves the set's node-scoped tasks with their configured overrides, and makes its manager's Props.</summary>
    internal static Props ManagerProps(PeriodicTaskSet set, PeriodicTaskSettings settings, bool withTicker, SetStart? start)
    {
        ArgumentNullException.ThrowIfNull(set);
        ArgumentNullException.ThrowIfNull(settings);
        var tasks = settings.Resolve(set);
        foreach (var task in tasks)
            if (task.Options.Scope == TaskScope.Cluster)
                throw new PeriodicTaskConfigurationException(
                    $"{settings.Path}.tasks.{task.Name}.scope",
                    "cluster needs the ActorScheduler.Cluster package: start the set with StartClusterPeriodicTasks or WithClusterPeriodicTasks.");
        return PeriodicTaskManager.Props(set.Name, tasks, settings, withTicker, store: null, start);
    }

    /// <summary>
    /// The one start path of a set's node actor (plain API, Akka.Hosting, cluster package): creates it under
    /// <paramref name="parent"/> as periodic-tasks-NAME and, if asked, stops it gracefully in CoordinatedShutdown.
    /// </summary>
    internal static IActorRef Start(
        ActorSystem system, IActorRefFactory parent, string setName, Props props, TimeSpan shutdownTimeout, bool stopOnCoordinatedShutdown)
    {
        var actor = parent.ActorOf(props, ActorName(setName));
        if (stopOnCoordinatedShutdown)
            AddGracefulStop(system, actor, setName, shutdownTimeout);
        return actor;
    }

    /// <summary>
    /// A CoordinatedShutdown task (phase service-requests-done) that stops the set gracefully: ticking stops, runs in
    /// flight are cancelled and awaited up to shutdown-timeout, then a state store writes what it has not yet written
    /// (the last ticks, runs and changes), at most <see cref="FlushTimeout"/>.
    /// </summary>
    /// <summary>How long a graceful stop waits for a state store's last writes.</summary>
    internal static readonly TimeSpan FlushTimeout = TimeSpan.FromSeconds(5);

    internal static void AddGracefulStop(ActorSystem system, IActorRef manager, string setName, TimeSpan shutdownTimeout)
    {
        CoordinatedShutdown.Get(system).AddTask(CoordinatedShutdown.PhaseServiceRequestsDone, "stop-periodic-tasks-" + setName, async () =>
        {
            try
            {
                await manager.Ask<TasksStopped>(StopTasks.Instance, shutdownTimeout + TimeSpan.FromSeconds(1)).ConfigureAwait(false);
                await manager.Ask<StateFlushed>(FlushState.Instance, FlushTimeout).ConfigureAwait(false); // at once without a store
            }
            catch (Exception)
            {
                // The manager is already gone (or escalated): nothing left to stop.
            }

            return Akka.Done.Instance;
        });
    }
}
